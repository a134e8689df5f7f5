using BenchmarkDotNet.Attributes;
using Orleans.TestingHost;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Grains;

namespace ParameterServer.Benchmarks.Wire;

/// <summary>
/// Pull and push of 1,024 distinct rows x 64 dims through a real in-process Orleans cluster (8 shards, one call
/// per shard, in parallel), in bulk byte blocks. One operation = one step of 1,024 rows; rows/s = 1024 / mean.
/// </summary>
[InProcess]
[MemoryDiagnoser]
public class PullPushBenchmarks
{
    private InProcessTestCluster _cluster = null!;
    private TableClient _table = null!;
    private long[] _ids = null!;
    private float[] _values = null!;
    private float[] _grads = null!;

    [Params(64)]
    public int Dim { get; set; }

    [Params(1024)]
    public int Rows { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        var ps = new ParameterServerClient(_cluster.Client);
        _table = await ps.CreateTableAsync(new TableSpec { Name = "bench", Dim = Dim, Shards = 8 });
        var rng = new Random(1);
        _ids = Enumerable.Range(0, Rows).Select(_ => rng.NextInt64()).Distinct().ToArray();
        _values = new float[_ids.Length * Dim];
        _grads = Enumerable.Range(0, _ids.Length * Dim).Select(_ => (float)(rng.NextDouble() - 0.5) * 1e-3f).ToArray();
        await _table.PullAsync(_ids, _values);
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _cluster.DisposeAsync();

    [Benchmark(Description = "pull 1024 rows")]
    public Task Pull() => _table.PullAsync(_ids, _values);

    [Benchmark(Description = "push 1024 rows (adam)")]
    public Task Push() => _table.PushAsync(_ids, _grads);
}
