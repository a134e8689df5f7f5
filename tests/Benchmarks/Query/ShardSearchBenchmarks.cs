using BenchmarkDotNet.Attributes;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;

namespace ParameterServer.Benchmarks.Query;

/// <summary>
/// Exact top-10 over one shard's arena (100,000 rows x 64, one thread): the blocked SIMD search against a plain
/// scalar scan with a sort-free bounded selection, the baseline measured in the same run. One operation = one
/// search call with <see cref="Batch"/> query vectors.
/// </summary>
[InProcess]
[MemoryDiagnoser]
public class ShardSearchBenchmarks
{
    private const int K = 10;
    private ShardStore _store = null!;
    private float[] _queries = null!;
    private long[] _ids = null!;
    private float[] _scores = null!;
    private int[] _slots = null!;
    private int[] _counts = null!;

    [Params(100_000)]
    public int Rows { get; set; }

    [Params(64)]
    public int Dim { get; set; }

    [Params(1, 64)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new ShardStore(Dim, new RowInitializer(InitializerKind.Normal, 1f, 1), new OptimizerSettings(OptimizerKind.Sgd), Rows);
        var all = new float[Rows * Dim];
        _store.Pull([.. Enumerable.Range(0, Rows).Select(i => (long)i)], all);
        var rng = new Random(2);
        _queries = [.. Enumerable.Range(0, Batch * Dim).Select(_ => (float)((rng.NextDouble() * 2) - 1))];
        _ids = new long[Batch * K];
        _scores = new float[Batch * K];
        _slots = new int[Batch * K];
        _counts = new int[Batch];
    }

    [Benchmark(Description = "blocked SIMD search", Baseline = false)]
    public void Simd() => ShardSearch.Run(_store, _queries, K, SimilarityMetric.Dot, [], [], _ids, _scores, _slots, _counts);

    [Benchmark(Description = "scalar scan (baseline)", Baseline = true)]
    public float Scalar()
    {
        float checksum = 0;
        var best = new float[K];
        for (int q = 0; q < Batch; q++)
        {
            var query = _queries.AsSpan(q * Dim, Dim);
            Array.Fill(best, float.NegativeInfinity);
            for (int r = 0; r < _store.Count; r++)
            {
                float dot = 0;
                var row = _store.Row(r);
                for (int j = 0; j < Dim; j++)
                {
                    dot += row[j] * query[j];
                }

                if (dot > best[K - 1])
                {
                    int at = K - 1;
                    while (at > 0 && best[at - 1] < dot)
                    {
                        best[at] = best[at - 1];
                        at--;
                    }

                    best[at] = dot;
                }
            }

            checksum += best[0];
        }

        return checksum;
    }
}
