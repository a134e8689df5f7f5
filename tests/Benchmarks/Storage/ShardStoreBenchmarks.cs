using BenchmarkDotNet.Attributes;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Benchmarks.Storage;

/// <summary>
/// One shard's share of a training step against a store larger than the cache: 1,024 distinct random rows of a
/// 200,000-row, dim-64 Adagrad store (100 MiB of values and state). The baseline pulls the way the store did before
/// its lookups were batched: one <see cref="ShardStore.GetOrCreate"/> and one row copy after another.
/// </summary>
[MemoryDiagnoser]
public class ShardStoreBenchmarks
{
    private const int Dim = 64;
    private ShardStore _store = null!;
    private long[][] _batches = null!;
    private float[] _values = null!;
    private float[] _grads = null!;
    private int _next;

    [Params(1024)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const int resident = 200_000;
        _store = new ShardStore(Dim, new RowInitializer(InitializerKind.Normal, 0.1f, 7), new OptimizerSettings(OptimizerKind.Adagrad, 0.05f));
        var rng = new Random(1);
        long[] ids = Enumerable.Range(0, resident).Select(_ => rng.NextInt64()).Distinct().ToArray();
        foreach (long id in ids)
        {
            _store.GetOrCreate(id);
        }

        // Many different batches, so no batch stays in the cache from one operation to the next.
        _batches = Enumerable.Range(0, 256).Select(_ => ids.OrderBy(_ => rng.Next()).Take(Rows).ToArray()).ToArray();
        _values = new float[Rows * Dim];
        _grads = Enumerable.Range(0, Rows * Dim).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e-3f).ToArray();
    }

    private long[] NextBatch() => _batches[_next++ & 255];

    [Benchmark(Baseline = true, Description = "pull, one lookup after another (baseline)")]
    public void PullOneByOne()
    {
        long[] ids = NextBatch();
        for (int i = 0; i < ids.Length; i++)
        {
            _store.Row(_store.GetOrCreate(ids[i])).CopyTo(_values.AsSpan(i * Dim, Dim));
        }
    }

    [Benchmark(Description = "pull, batched lookups")]
    public void Pull() => _store.Pull(NextBatch(), _values);

    [Benchmark(Description = "push (adagrad), batched lookups")]
    public void Push() => _store.Push(NextBatch(), _grads);
}
