using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

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

        // The shards started with their tables, so every part was served in process: 4 pulls and 4 pushes of 11
        // parts each, no call, and no payload.
        Assert.Equal(0, inProcess.Calls);
        Assert.Equal(8 * 11, inProcess.LocalParts);
        Assert.Equal(0, inProcess.BytesSent);
        Assert.Equal(0, inProcess.BytesReceived);
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

        // Dropped and created again: the old shards closed, the new ones start afresh with the table. Then every idle
        // activation is collected: the new shards close too (a part to them answers false) and the pull goes through
        // the router, which activates them again.
        Assert.True(await fixture.Client.DropAsync(table.Spec.Name));
        var again = await fixture.Client.CreateTableAsync(table.Spec);
        for (int s = 0; s < again.Spec.Shards; s++)
        {
            await fixture.Grains.GetGrain<IShardGrain>(ShardKey.Of(again.Spec.Name, s)).AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        }

        var access = fixture.Cluster.Silos.Select(silo => silo.ServiceProvider.GetRequiredService<ILocalShardAccess>()).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Enumerable.Range(0, again.Spec.Shards).Any(s => access.Any(a => a.TryPull(again.Spec.Name, s, [], [], [], [], out _))))
        {
            Assert.True(DateTime.UtcNow < deadline, "the shards did not close within 30 s");
            await Task.Delay(20);
        }

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

    [Fact]
    public async Task A_bfloat16_wire_marks_what_travels_and_leaves_parts_served_in_process_exact()
    {
        // The router answers a bfloat16 pull with blocks that travel as bfloat16: through the cluster's serializer they
        // come back rounded to nearest even, while the shard's rows stay float32 (a float32 pull is exact).
        var table = await Create("bf16", 6, 4, OptimizerKind.Sgd);
        var ids = Ids(300, 31);
        var exact = new float[ids.Length * 6];
        var router = new StepClient(fixture.Cluster.Client);
        (await router.PullAsync([new TablePull(table, ids, exact)])).Dispose();
        var plan = Enumerable.Range(0, 4).Select(s => ids.Where(id => Core.Hashing.Mix64.ShardOf(id, 4) == s).ToArray()).ToArray();
        var answer = await fixture.Grains.GetGrain<IStepRouter>(0).Pull(new StepPull([.. plan.Select((part, s) => new ShardPull(table.Spec.Name, s, new PullRequest(part)))], WireValues.BFloat16));
        for (int s = 0; s < 4; s++)
        {
            // The client reads the answer off the wire: float32 again, rounded through bfloat16.
            var expected = plan[s].SelectMany(id => exact.AsSpan(Array.IndexOf(ids, id) * 6, 6).ToArray()).ToArray();
            Assert.Equal(WireValues.Float32, answer.Parts[s].Rows.Wire);
            Assert.True(answer.Parts[s].Rows.FromWire);
            Assert.Equal(Rounded(expected), answer.Parts[s].Rows.Values.ToArray());
        }

        // The step client asks for it, keeps it in the ticket for the push, and counts two bytes a value.
        var pulled = new float[exact.Length];
        var rng = new Random(32);
        var gradients = Enumerable.Range(0, exact.Length).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        long received = router.BytesReceived, sent = router.BytesSent;
        using (var ticket = await router.PullAsync([new TablePull(table, ids, pulled)], WireValues.BFloat16))
        {
            Assert.Equal(WireValues.BFloat16, ticket.Wire);
            Assert.Equal(Rounded(exact), pulled);
            Assert.Equal(ids.Length * 6L * sizeof(ushort), router.BytesReceived - received);
            await router.PushAsync([new TablePush(table, ids, gradients)], ticket);
        }

        Assert.Equal(ids.Length * (sizeof(long) + sizeof(long) + (6L * sizeof(ushort))), router.BytesSent - sent);

        // Parts served in process are exact whatever the wire, and send nothing.
        var inProcess = InProcess();
        var local = new float[exact.Length];
        var routed = new float[exact.Length];
        (await router.PullAsync([new TablePull(table, ids, routed)])).Dispose();
        (await inProcess.PullAsync([new TablePull(table, ids, local)], WireValues.BFloat16)).Dispose();
        Assert.Equal(routed, local);
        Assert.Equal(0, inProcess.Calls);
        Assert.Equal(0, inProcess.BytesReceived);
    }

    private static float[] Rounded(float[] values)
    {
        var half = new ushort[values.Length];
        var back = new float[values.Length];
        Core.Kernels.BFloat16.FromSingle(values, half);
        Core.Kernels.BFloat16.ToSingle(half, back);
        return back;
    }
}
