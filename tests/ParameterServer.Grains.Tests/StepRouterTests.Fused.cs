using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>A step's push and a later step's pull in one call per silo (<see cref="IStepService.PushPull"/>).</summary>
public sealed partial class StepRouterTests
{
    [Fact]
    public async Task A_push_then_pull_is_one_call_per_silo_and_answers_what_a_push_and_then_a_pull_answer()
    {
        // Two tables with the same spec: one gets the fused call, the other a push and then a pull, per shard.
        var fused = await Create(ClusterFixture.UniqueName("fused-a"), 4, 8, OptimizerKind.Adagrad);
        var apart = await Create(ClusterFixture.UniqueName("fused-b"), 4, 8, OptimizerKind.Adagrad);
        var pushed = Ids(120, 21);
        var pulledIds = pushed.Take(40).Concat(Ids(60, 22)).Distinct().ToArray(); // some rows just pushed, some new
        var rng = new Random(23);
        var gradients = Enumerable.Range(0, pushed.Length * 4).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var steps = new StepClient(fixture.Cluster.Client);
        await Task.WhenAll(fused.RefreshPlacementAsync(), apart.RefreshPlacementAsync());
        var silos = Enumerable.Range(0, 8).Select(fused.SiloOf).Distinct().Count();
        using var first = await steps.PullAsync([new TablePull(fused, pushed, new float[pushed.Length * 4])]);
        long callsBefore = steps.Calls;

        var viaFused = new float[pulledIds.Length * 4];
        var (push, pull) = steps.PushThenPull([new TablePush(fused, pushed, gradients)], first, [new TablePull(fused, pulledIds, viaFused)]);
        await push;
        using (await pull)
        {
            Assert.Equal(silos, steps.Calls - callsBefore);
        }

        await apart.PushAsync(pushed, gradients);
        var viaApart = new float[pulledIds.Length * 4];
        await apart.PullAsync(pulledIds, viaApart);
        Assert.Equal(viaApart, viaFused); // the pushed rows were read after their update
        for (int s = 0; s < 8; s++)
        {
            Assert.Equal(apart.RowsAcknowledged(s), fused.RowsAcknowledged(s));
        }
    }

    [Fact]
    public async Task A_refused_push_part_fails_the_push_only_and_changes_no_row_while_the_pull_is_answered()
    {
        var table = await Create(ClusterFixture.UniqueName("fused-nan"), 2, 1);
        var ids = Ids(10, 24);
        var bad = new float[ids.Length * 2];
        bad[7] = float.NaN; // past the client's checks: sent straight to a silo's router
        var router = fixture.Cluster.Client.GetGrain<IStepRouter>(0);

        var answer = await router.PushPull(
            new StepPush([new ShardPush(table.Spec.Name, 0, new PushRequest(ids, RowBlock.From(bad, ids.Length, 2)))]),
            new StepPull([new ShardPull(table.Spec.Name, 0, new PullRequest(ids))]));

        Assert.Contains($"row id {ids[3]}", answer.PushRefused);
        Assert.Equal(Initial(table, ids), answer.Parts[0].Rows.Values.ToArray());
        var info = await fixture.Client.DescribeAsync(table.Spec.Name);
        Assert.Equal(0, info.Shards.Sum(s => s.OptimizerSteps));
    }
}
