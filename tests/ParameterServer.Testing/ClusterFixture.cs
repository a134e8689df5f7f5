using Orleans.TestingHost;
using ParameterServer.Client;
using ParameterServer.Grains;

namespace ParameterServer.Testing;

/// <summary>A real in-process Orleans cluster of two silos, shared by the tests of a collection (from the shared test-support project).</summary>
public class ClusterFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("Cluster not started.");

    public ParameterServerClient Client => new(Cluster.Client);

    /// <summary>The cluster's grain factory, for tests that call a grain directly (the client facade does not expose it).</summary>
    public IGrainFactory Grains => Cluster.Client;

    /// <summary>The silos' step sockets: off (the default of an in-process silo).</summary>
    protected virtual StepSocketOptions StepSocket => new() { Enabled = false };

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        // Shards stay where hash placement puts them: tests here reason about placement (balancing has its own tests).
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer(balancing: new BalancingOptions { Enabled = false }, stepSocket: StepSocket));
        builder.ConfigureClient(client => client.AddParameterServerClient());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>The name of the test collection that shares one fixture (each test assembly declares it: xUnit finds a collection only in its own assembly).</summary>
    public const string Collection = "cluster";

    /// <summary>A table name no other test uses.</summary>
    public static string UniqueName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..Math.Min(64, stem.Length + 33)];
}

/// <summary>The two-silo cluster with each silo's step socket listening on loopback.</summary>
public sealed class StepSocketClusterFixture : ClusterFixture
{
    protected override StepSocketOptions StepSocket => new();
}
