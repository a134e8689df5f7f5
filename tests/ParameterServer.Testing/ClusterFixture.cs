using Orleans.TestingHost;
using ParameterServer.Client;
using ParameterServer.Grains;

namespace ParameterServer.Tests.Shared;

/// <summary>A real in-process Orleans cluster of two silos, shared by the tests of a collection (linked into each test project).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("Cluster not started.");

    public ParameterServerClient Client => new(Cluster.Client);

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        // Shards stay where hash placement puts them: tests here reason about placement (balancing has its own tests).
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer(balancing: new BalancingOptions { Enabled = false }));
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

    /// <summary>A table name no other test uses.</summary>
    public static string UniqueName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..Math.Min(64, stem.Length + 33)];
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
