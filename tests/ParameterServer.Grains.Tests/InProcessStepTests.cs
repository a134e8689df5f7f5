using Microsoft.Extensions.DependencyInjection;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;
using ParameterServer.Tests.Shared;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// A step client that shares its process with silos (<see cref="ILocalShardAccess"/>, as the embedded silo's worker
/// does): parts for shards active there are read and written in place, the rest go to the router, and the rows end
/// exactly where the router alone would put them.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class InProcessStepTests(ClusterFixture fixture)
{
    /// <summary>
    /// Both test silos' shards, tried in turn: every shard of the cluster is in this process, so once a shard is
    /// active no part of it is sent.
    /// </summary>
    private sealed class BothSilos(IReadOnlyList<ILocalShardAccess> silos) : ILocalShardAccess
    {
        public bool TryPull(string table, int shard, ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, Span<float> destination, Span<int> slots, out int generation)
        {
            foreach (var silo in silos)
            {
                if (silo.TryPull(table, shard, ids, positions, destination, slots, out generation))
                {
                    return true;
                }
            }

            generation = -1;
            return false;
        }

        public bool TryPush(string table, int shard, ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slots, int generation)
        {
            foreach (var silo in silos)
            {
                if (silo.TryPush(table, shard, ids, positions, gradients, slots, generation))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private StepClient InProcess() =>
        new(fixture.Cluster.Client, new BothSilos([.. fixture.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<ILocalShardAccess>())]));

    private Task<TableClient> Create(string stem, int dim, int shards, OptimizerKind optimizer) => fixture.Client.CreateTableAsync(new TableSpec
    {
        Name = ClusterFixture.UniqueName(stem),
        Dim = dim,
        Shards = shards,
        Optimizer = optimizer,
        LearningRate = 0.1f,
        InitScale = 0.5f,
        Seed = 11,
    });

    private static long[] Ids(int n, int seed) => StepRouterTests.Ids(n, seed);

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adagrad)]
    [InlineData(OptimizerKind.Adam)]
    public async Task Steps_served_in_process_pull_and_apply_what_the_router_does(OptimizerKind optimizer)
    {
        // Two tables of one spec (so the same initial rows), plus a bias-like table of dim 1 in the same steps.
        var local = new[] { await Create("inproc-a", 6, 8, optimizer), await Create("inproc-b", 1, 3, optimizer) };
        var routed = new[] { await Create("routed-a", 6, 8, optimizer), await Create("routed-b", 1, 3, optimizer) };
        var inProcess = InProcess();
        var router = new StepClient(fixture.Cluster.Client);
        Assert.True(inProcess.InProcess);
        Assert.False(router.InProcess);
        var rng = new Random(21);
        var ids = Ids(120, 22);
        for (int round = 0; round < 4; round++)
        {
            var pulledLocal = local.Select(t => new float[ids.Length * t.Dim]).ToArray();
            var pulledRouted = routed.Select(t => new float[ids.Length * t.Dim]).ToArray();
            var gradients = local.Select(t => Enumerable.Range(0, ids.Length * t.Dim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray()).ToArray();
            using (var ticket = await inProcess.PullAsync([.. local.Select((t, i) => new TablePull(t, ids, pulledLocal[i]))]))
            using (var routedTicket = await router.PullAsync([.. routed.Select((t, i) => new TablePull(t, ids, pulledRouted[i]))]))
            {
                for (int t = 0; t < local.Length; t++)
                {
                    Assert.Equal(pulledRouted[t], pulledLocal[t]);
                }

                // Round 2 pushes without the pull's ticket (no slot hints), the others with it.
                await inProcess.PushAsync([.. local.Select((t, i) => new TablePush(t, ids, gradients[i]))], round == 2 ? null : ticket);
                await router.PushAsync([.. routed.Select((t, i) => new TablePush(t, ids, gradients[i]))], round == 2 ? null : routedTicket);
            }

            // Ids change between rounds: half kept (their rows have state), half new.
            ids = [.. ids.Take(ids.Length / 2).Concat(Ids(ids.Length / 2, 100 + round).Except(ids))];
        }

        // At most the first pull found shards not yet active and went to the router (which activated them); every
        // later part was served in process: 3 more pulls and 4 pushes of 11 parts each, and no call.
        Assert.True(inProcess.Calls <= 1, $"{inProcess.Calls} calls");
        Assert.InRange(inProcess.LocalParts, 7 * 11, 8 * 11);
        // Parts served in process carry no payload: at most the first pull's ids and values travelled.
        Assert.InRange(inProcess.BytesSent, 0, 120 * 2 * sizeof(long));
        Assert.InRange(inProcess.BytesReceived, 0, 120 * (6 + 1) * sizeof(float));
        for (int t = 0; t < local.Length; t++)
        {
            var a = await fixture.Client.DescribeAsync(local[t].Spec.Name);
            var b = await fixture.Client.DescribeAsync(routed[t].Spec.Name);
            Assert.Equal(b.Shards.Sum(s => s.OptimizerSteps), a.Shards.Sum(s => s.OptimizerSteps));
            Assert.Equal(b.Shards.Sum(s => s.Rows), a.Shards.Sum(s => s.Rows));
            for (int s = 0; s < local[t].Spec.Shards; s++)
            {
                Assert.Equal(routed[t].RowsAcknowledged(s), local[t].RowsAcknowledged(s));
            }
        }
    }

    [Fact]
    public async Task A_shard_that_closed_is_reached_through_the_router_and_a_bad_push_changes_no_row()
    {
        var table = await Create("inproc-drop", 3, 4, OptimizerKind.Adagrad);
        var steps = InProcess();
        var ids = Ids(40, 31);
        var ones = Enumerable.Repeat(1f, ids.Length * 3).ToArray();
        (await steps.PullAsync([new TablePull(table, ids, new float[ids.Length * 3])])).Dispose();
        await steps.PushAsync([new TablePush(table, ids, ones)]);
        Assert.True(steps.LocalParts > 0);

        // Dropped and created again: the old shards closed (a part to them answers false), the new ones start afresh.
        Assert.True(await fixture.Client.DropAsync(table.Spec.Name));
        var again = await fixture.Client.CreateTableAsync(table.Spec);
        long calls = steps.Calls;
        var pulled = new float[ids.Length * 3];
        (await steps.PullAsync([new TablePull(again, ids, pulled)])).Dispose();
        Assert.Equal(calls + 1, steps.Calls);
        var initial = new float[ids.Length * 3];
        for (int i = 0; i < ids.Length; i++)
        {
            again.Spec.RowInitializer.Fill(ids[i], initial.AsSpan(i * 3, 3));
        }

        Assert.Equal(initial, pulled);

        // A NaN anywhere refuses the whole push, served in process or not.
        var bad = (float[])ones.Clone();
        bad[3 * 17] = float.NaN;
        var e = await Assert.ThrowsAsync<ArgumentException>(() => steps.PushAsync([new TablePush(again, ids, bad)]));
        Assert.Contains($"row id {ids[17]}", e.Message);
        (await steps.PullAsync([new TablePull(again, ids, pulled)])).Dispose();
        Assert.Equal(initial, pulled);
        Assert.Equal(0, (await fixture.Client.DescribeAsync(again.Spec.Name)).Shards.Sum(s => s.OptimizerSteps));
    }
}
