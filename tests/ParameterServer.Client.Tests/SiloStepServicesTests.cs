using ParameterServer.Abstractions;

namespace ParameterServer.Client.Tests;

/// <summary>
/// How a step client reaches a silo's step services on the real two-silo cluster: at the silo's gateway, and, after a
/// call to a gateway it cannot reach failed, at the silo's own address through any gateway.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SiloStepServicesTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_silo_whose_gateway_failed_a_call_is_reached_through_any_gateway_with_the_same_answer()
    {
        var client = fixture.Client;
        var table = await client.CreateTableAsync(new TableSpec { Name = ClusterFixture.UniqueName("step-gw"), Dim = 3, Shards = 2, Seed = 5 });
        var info = await client.DescribeAsync(table.Spec.Name);
        var shard = info.Shards[0];
        Assert.NotNull(shard.Address);
        long[] ids = [.. Enumerable.Range(0, 400).Select(i => (long)i).Where(id => Core.Hashing.Mix64.ShardOf(id, 2) == 0)];
        var parts = new[] { new ShardPull(table.Spec.Name, 0, new PullRequest(ids)) };
        var router = fixture.Grains.GetGrain<IStepRouter>(0);

        // The real gateway: served in place, nothing forwarded.
        var services = new SiloStepServices(fixture.Grains, router, _ => true);
        var good = new SiloRoute(shard.Silo, shard.Address, shard.Gateway);
        var direct = await services.Of(good).Pull(new StepPull(parts));
        Assert.Equal(0, direct.Forwarded);

        // A gateway endpoint where nothing listens: the call fails; once told, the client goes the longer way.
        var unreachable = new SiloRoute(shard.Silo + "-unreachable", shard.Address, "127.0.0.1:1");
        var failed = await Record.ExceptionAsync(() => services.Of(unreachable).Pull(new StepPull(parts)));
        Assert.NotNull(failed);
        Assert.True(RetryPolicy.IsTransient(failed), failed.ToString()); // so a step client falls back (per shard) and calls Failed
        services.Failed(unreachable);
        var indirect = await services.Of(unreachable).Pull(new StepPull(parts));
        Assert.Equal(0, indirect.Forwarded);
        Assert.Equal(direct.Parts[0].Rows.Values.ToArray(), indirect.Parts[0].Rows.Values.ToArray());
        direct.Parts[0].Rows.Return();
        indirect.Parts[0].Rows.Return();

        // No address known: any silo's router, which reaches the shard wherever it is.
        Assert.Same(router, services.Of(new SiloRoute(shard.Silo, null, null)));
        Assert.Same(router, services.Of(null));
    }

    [Fact]
    public async Task A_step_socket_that_accepts_no_connection_is_not_tried_again_and_the_silo_is_reached_through_orleans()
    {
        var client = fixture.Client;
        var table = await client.CreateTableAsync(new TableSpec { Name = ClusterFixture.UniqueName("step-sock"), Dim = 3, Shards = 1, Seed = 5 });
        var shard = (await client.DescribeAsync(table.Spec.Name)).Shards[0];
        var parts = new[] { new ShardPull(table.Spec.Name, 0, new PullRequest([1, 2, 3])) };
        var serializer = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Orleans.Serialization.Serializer>(fixture.Cluster.Client.ServiceProvider);
        var services = new SiloStepServices(fixture.Grains, fixture.Grains.GetGrain<IStepRouter>(0), _ => true, serializer);
        // A step socket where nothing listens (port 1 on loopback: refused at once).
        var route = new SiloRoute(shard.Silo, shard.Address, shard.Gateway, "127.0.0.1:1");
        var socket = services.Of(route);
        Assert.IsType<SocketStepService>(socket);
        var failed = await Record.ExceptionAsync(() => socket.Pull(new StepPull(parts)));
        Assert.IsType<StepSocketUnreachableException>(failed);
        Assert.True(RetryPolicy.IsTransient(failed!), failed!.ToString()); // so the step goes again as shard calls

        services.Failed(route, failed);
        // Not the socket again for this silo (dropped for good, not paused as a gateway is); the grain call answers.
        var service = services.Of(route);
        Assert.IsNotType<SocketStepService>(service);
        var rows = await service.Pull(new StepPull(parts));
        Assert.Equal(9, rows.Parts[0].Rows.Values.Length);
        rows.Parts[0].Rows.Return();
    }
}
