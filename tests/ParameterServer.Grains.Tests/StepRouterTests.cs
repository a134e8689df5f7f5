using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// A step as one call (<see cref="StepClient"/> → <see cref="IStepRouter"/>) on the real two-silo cluster: it answers
/// what per-shard calls answer, applies what they apply, reaches shards on the other silo, and refuses bad input whole.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class StepRouterTests(ClusterFixture fixture)
{
    private Task<TableClient> Create(string name, int dim, int shards, OptimizerKind optimizer = OptimizerKind.Sgd) => fixture.Client.CreateTableAsync(new TableSpec
    {
        Name = name,
        Dim = dim,
        Shards = shards,
        Optimizer = optimizer,
        LearningRate = 0.1f,
        InitScale = 0.5f,
        Seed = 7,
    });

    /// <summary><paramref name="n"/> distinct random ids (seeded).</summary>
    internal static long[] Ids(int n, int seed)
    {
        var rng = new Random(seed);
        var ids = new HashSet<long>();
        while (ids.Count < n)
        {
            ids.Add(rng.NextInt64(-1_000_000_000, 1_000_000_000));
        }

        return [.. ids];
    }

    internal static float[] Initial(TableClient table, long[] ids)
    {
        var values = new float[ids.Length * table.Dim];
        for (int i = 0; i < ids.Length; i++)
        {
            table.Spec.RowInitializer.Fill(ids[i], values.AsSpan(i * table.Dim, table.Dim));
        }

        return values;
    }

    [Fact]
    public async Task A_step_pull_of_three_tables_is_one_call_per_silo_and_returns_every_rows_initial_values()
    {
        var tables = new[]
        {
            await Create(ClusterFixture.UniqueName("step-a"), 8, 16),
            await Create(ClusterFixture.UniqueName("step-b"), 1, 3),
            await Create(ClusterFixture.UniqueName("step-c"), 3, 1),
        };
        var ids = new[] { Ids(300, 1), Ids(50, 2), Ids(7, 3) };
        var pulled = tables.Select((t, i) => new float[ids[i].Length * t.Dim]).ToArray();
        var steps = new StepClient(fixture.Cluster.Client);
        await Task.WhenAll(tables.Select(t => t.RefreshPlacementAsync()));
        // Every shard of these tables gets some of the ids; each silo holding one gets one call, with all its parts.
        var silos = tables.SelectMany(t => Enumerable.Range(0, t.Spec.Shards).Select(t.SiloOf)).Distinct().ToArray();
        Assert.All(silos, silo => Assert.NotNull(silo));

        await steps.PullAsync([.. tables.Select((t, i) => new TablePull(t, ids[i], pulled[i]))]);

        Assert.Equal(silos.Length, steps.Calls);
        for (int i = 0; i < tables.Length; i++)
        {
            Assert.Equal(Initial(tables[i], ids[i]), pulled[i]);
        }

        Assert.Equal(ids.Sum(x => x.Length) * sizeof(long), steps.BytesSent);
        Assert.Equal(ids.Select((x, i) => x.Length * tables[i].Dim * sizeof(float)).Sum(), steps.BytesReceived);
    }

    [Fact]
    public async Task A_silo_step_service_serves_its_silo_s_shards_in_place_and_counts_the_parts_it_forwards()
    {
        var table = await Create(ClusterFixture.UniqueName("step-silo"), 4, 8);
        var info = await fixture.Client.DescribeAsync(table.Spec.Name);
        var silos = info.Shards.Select(s => (s.Silo, s.Address, s.Gateway)).Distinct().ToArray();
        Assert.Equal(2, silos.Length); // hash placement spreads 8 shards over both silos of the test cluster
        var ids = Ids(200, 11);
        var plan = Enumerable.Range(0, 8).Select(s => (Shard: s, Ids: ids.Where(id => Core.Hashing.Mix64.ShardOf(id, 8) == s).ToArray())).ToArray();
        var parts = plan.Select(c => new ShardPull(table.Spec.Name, c.Shard, new PullRequest(c.Ids))).ToArray();
        foreach (var (silo, address, gateway) in silos)
        {
            // The service at the silo's own address (forwarded by a gateway) and at its gateway's (reached directly).
            Assert.NotNull(address);
            Assert.NotNull(gateway);
            foreach (var at in new[] { SiloAddress.FromParsableString(address), SiloAddress.New(System.Net.IPEndPoint.Parse(gateway), 0) })
            {
                var answer = await fixture.Grains.GetGrain<ISiloStepService>(SiloStepServiceId.At(0, at)).Pull(new StepPull(parts));
                // Parts of this silo's shards are served in place there; the rest are forwarded to the other silo.
                Assert.Equal(info.Shards.Count(s => s.Silo != silo), answer.Forwarded);
                for (int p = 0; p < plan.Length; p++)
                {
                    var expected = Initial(table, plan[p].Ids);
                    Assert.Equal(expected, answer.Parts[p].Rows.Values.ToArray());
                    answer.Parts[p].Rows.Return();
                }
            }
        }
    }

    [Fact]
    public async Task A_step_push_applies_what_per_shard_pushes_apply()
    {
        // Two tables with the same spec (so the same initial rows); one gets the step push, the other per-shard pushes.
        var viaStep = await Create(ClusterFixture.UniqueName("step-push"), 5, 8);
        var perShard = await Create(ClusterFixture.UniqueName("shard-push"), 5, 8);
        var ids = Ids(200, 4);
        var rng = new Random(5);
        var gradients = Enumerable.Range(0, ids.Length * 5).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var steps = new StepClient(fixture.Cluster.Client);

        await steps.PushAsync([new TablePush(viaStep, ids, gradients)]);
        await perShard.PushAsync(ids, gradients);

        var a = new float[ids.Length * 5];
        var b = new float[ids.Length * 5];
        await viaStep.PullAsync(ids, a);
        await perShard.PullAsync(ids, b);
        Assert.Equal(b, a);
        // And both are one SGD step from the initial values: w − lr·g.
        var initial = Initial(viaStep, ids);
        for (int j = 0; j < a.Length; j++)
        {
            Assert.Equal(initial[j] - (0.1f * gradients[j]), a[j], 1e-5);
        }

        for (int s = 0; s < 8; s++)
        {
            Assert.Equal(perShard.RowsAcknowledged(s), viaStep.RowsAcknowledged(s));
        }
    }

    [Fact]
    public async Task A_step_push_with_a_NaN_is_refused_before_any_shard_changes()
    {
        var users = await Create(ClusterFixture.UniqueName("step-nan-u"), 4, 4);
        var bias = await Create(ClusterFixture.UniqueName("step-nan-b"), 1, 2);
        var ids = Ids(40, 6);
        var good = new float[ids.Length * 4];
        Array.Fill(good, 0.5f);
        var bad = new float[ids.Length];
        bad[17] = float.NaN;
        var steps = new StepClient(fixture.Cluster.Client);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => steps.PushAsync([new TablePush(users, ids, good), new TablePush(bias, ids, bad)]));

        Assert.Contains(bias.Spec.Name, e.Message);
        Assert.Contains($"row id {ids[17]}", e.Message);
        var after = new float[ids.Length * 4];
        await users.PullAsync(ids, after);
        Assert.Equal(Initial(users, ids), after);
        var info = await fixture.Client.DescribeAsync(users.Spec.Name);
        Assert.Equal(0, info.Shards.Sum(s => s.OptimizerSteps));
    }

    [Fact]
    public async Task A_step_on_an_unknown_table_names_it()
    {
        var known = await Create(ClusterFixture.UniqueName("step-known"), 2, 2);
        var ghost = new TableClient(fixture.Cluster.Client, known.Spec with { Name = ClusterFixture.UniqueName("step-ghost") });
        var steps = new StepClient(fixture.Cluster.Client);
        var ids = Ids(10, 8);

        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => steps.PullAsync([new TablePull(known, ids, new float[20]), new TablePull(ghost, ids, new float[20])]));

        Assert.Contains($"Unknown table '{ghost.Spec.Name}'", e.Message);
    }

    [Fact]
    public async Task A_dropped_and_recreated_table_is_served_afresh_not_from_the_old_shards_rows()
    {
        string name = ClusterFixture.UniqueName("step-drop");
        var table = await Create(name, 3, 4);
        var ids = Ids(60, 9);
        var steps = new StepClient(fixture.Cluster.Client);
        var ones = Enumerable.Repeat(1f, ids.Length * 3).ToArray();
        await steps.PushAsync([new TablePush(table, ids, ones)]);

        Assert.True(await fixture.Client.DropAsync(name));
        var again = await Create(name, 3, 4);
        var pulled = new float[ids.Length * 3];
        await steps.PullAsync([new TablePull(again, ids, pulled)]);

        Assert.Equal(Initial(again, ids), pulled);
    }

    [Fact]
    public async Task Concurrent_step_pushes_and_snapshots_lose_no_update()
    {
        // Router pushes run outside the shard grains' turns; each must still land exactly once, whatever the grains do.
        var table = await Create(ClusterFixture.UniqueName("step-race"), 2, 4);
        var ids = Ids(64, 10);
        var steps = new StepClient(fixture.Cluster.Client);
        var ones = Enumerable.Repeat(1f, ids.Length * 2).ToArray();
        var grain = fixture.Cluster.Client.GetGrain<ITableGrain>(table.Spec.Name);
        var pushes = Enumerable.Range(0, 50).Select(_ => steps.PushAsync([new TablePush(table, ids, ones)])).ToList();
        var snapshots = Enumerable.Range(0, 5).Select(_ => grain.Snapshot()).ToList();
        await Task.WhenAll(pushes.Concat(snapshots));

        var info = await fixture.Client.DescribeAsync(table.Spec.Name);
        Assert.Equal(50L * ids.Length, info.Shards.Sum(s => s.OptimizerSteps));
        var pulled = new float[ids.Length * 2];
        await table.PullAsync(ids, pulled);
        var initial = Initial(table, ids);
        for (int j = 0; j < pulled.Length; j++)
        {
            Assert.Equal(initial[j] - (50 * 0.1), pulled[j], 1e-3); // 50 float subtractions round a little
        }
    }

    [Fact]
    public async Task A_push_with_its_pulls_ticket_applies_what_a_push_without_one_applies_and_a_foreign_ticket_is_refused()
    {
        var withTicket = await Create(ClusterFixture.UniqueName("ticket-a"), 6, 8, OptimizerKind.Adagrad);
        var without = await Create(ClusterFixture.UniqueName("ticket-b"), 6, 8, OptimizerKind.Adagrad);
        var ids = Ids(150, 12);
        var rng = new Random(13);
        var steps = new StepClient(fixture.Cluster.Client);
        for (int round = 0; round < 3; round++)
        {
            var g = Enumerable.Range(0, ids.Length * 6).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            using (var ticket = await steps.PullAsync([new TablePull(withTicket, ids, new float[ids.Length * 6])]))
            {
                if (round == 1)
                {
                    // Rows move to other slots between pull and push: the hints are stale and must not misdirect.
                    await fixture.Cluster.Client.GetGrain<ITableGrain>(withTicket.Spec.Name).Snapshot();
                    await fixture.Cluster.Client.GetGrain<ITableGrain>(withTicket.Spec.Name).RestoreSnapshot();
                }

                await steps.PushAsync([new TablePush(withTicket, ids, g)], ticket);
            }

            await without.PushAsync(ids, g);
        }

        var a = new float[ids.Length * 6];
        var b = new float[ids.Length * 6];
        await withTicket.PullAsync(ids, a);
        await without.PullAsync(ids, b);
        Assert.Equal(b, a);

        using var other = await steps.PullAsync([new TablePull(withTicket, ids, new float[ids.Length * 6])]);
        var shuffled = ids.Reverse().ToArray();
        await Assert.ThrowsAsync<ArgumentException>(() => steps.PushAsync([new TablePush(withTicket, shuffled, new float[ids.Length * 6])], other));
    }
}
