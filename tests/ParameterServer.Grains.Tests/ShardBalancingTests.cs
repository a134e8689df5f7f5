using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// Shards that follow the silos, on a real in-process cluster: silos that join get their share of every table
/// (⌊S/N⌋ or ⌈S/N⌉ shards each) from one balance, and a silo stopped gracefully moves its shards to the others
/// first; either way every row, its optimizer state and its step count arrive intact (compared with what was read
/// before the move), and so does a training job's snapshot of them. The periodic balance is set to an hour, so the
/// test drives each balance itself and reads the placement it produced (a call to a moving shard waits for it at its
/// new silo). The balance plan itself is checked against its definition on random placements.
/// </summary>
public sealed class ShardBalancingTests : IAsyncLifetime
{
    private readonly string _checkpoints = Directory.CreateTempSubdirectory("ps-balancing-").FullName;

    private InProcessTestCluster? _cluster;

    private InProcessTestCluster Cluster => _cluster!;

    private ParameterServerClient Client => new(Cluster.Client);

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        // Checkpoints on, as a cluster of several silos runs: table metadata kept in memory (Orleans' memory storage)
        // lives on whichever silo holds its storage grain, and the table's record beside the checkpoints brings it back
        // when that silo leaves.
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer(
            checkpoints: new CheckpointOptions { Directory = _checkpoints, Interval = TimeSpan.FromHours(1) },
            balancing: new BalancingOptions { Interval = TimeSpan.FromHours(1), DrainTimeout = TimeSpan.FromSeconds(30) }));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        Directory.Delete(_checkpoints, recursive: true);
    }

    private async Task<(TableClient Table, long[] Ids)> Trained(string name, int shards)
    {
        var table = await Client.CreateTableAsync(new TableSpec { Name = name, Dim = 6, Shards = shards, Optimizer = OptimizerKind.Adagrad, LearningRate = 0.1f, Seed = 5 });
        long[] ids = [.. Enumerable.Range(1, 300).Select(i => (long)i * 7919)];
        var rng = new Random(6);
        for (int step = 0; step < 4; step++)
        {
            await table.PushAsync(ids, Enumerable.Range(0, ids.Length * 6).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray());
        }

        return (table, ids);
    }

    /// <summary>Each shard's silo, as the table describes it.</summary>
    private async Task<string[]> Placement(string table) =>
        [.. (await Client.DescribeAsync(table)).Shards.OrderBy(s => s.Index).Select(s => s.Silo)];

    /// <summary>Asserts that the table's shards lie on exactly <paramref name="silos"/>, each holding ⌊S/N⌋ or ⌈S/N⌉.</summary>
    private async Task<string[]> AssertBalanced(string table, IReadOnlyCollection<string> silos)
    {
        var placement = await Placement(table);
        var counts = silos.Select(s => placement.Count(p => p == s)).ToArray();
        int share = placement.Length / silos.Count;
        Assert.True(placement.All(silos.Contains) && counts.All(c => c == share || c == share + 1), $"{table} not balanced over {silos.Count} silos: {string.Join(", ", counts)} of {placement.Length}");
        return placement;
    }

    /// <summary>
    /// Waits until every active silo's cluster manifest lists every active silo (a shard moves only to a silo its own
    /// silo knows), by the manifests' update streams, within 30 s.
    /// </summary>
    private async Task AwaitManifests()
    {
        var active = Cluster.GetActiveSilos().Select(s => s.SiloAddress).ToArray();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var silo in Cluster.GetActiveSilos().OfType<InProcessSiloHandle>())
        {
            var manifests = silo.ServiceProvider.GetRequiredService<IClusterManifestProvider>();
            if (active.All(manifests.Current.Silos.ContainsKey))
            {
                continue;
            }

            await foreach (var manifest in manifests.Updates.WithCancellation(deadline.Token))
            {
                if (active.All(manifest.Silos.ContainsKey))
                {
                    break;
                }
            }
        }
    }

    private Task<int> Balance() => Cluster.Client.GetGrain<IShardBalancerGrain>(0).Balance(null);

    /// <summary>Element by element: a tuple's equality would compare the arrays by reference.</summary>
    private static void AssertSame((float[] Values, long Steps, string Shards) expected, (float[] Values, long Steps, string Shards) actual)
    {
        Assert.True(expected.Steps == actual.Steps, $"optimizer steps {actual.Steps}, expected {expected.Steps}: {actual.Shards}");
        Assert.Equal(expected.Values, actual.Values);
    }

    private static async Task<(float[] Values, long Steps, string Shards)> Read(TableClient table, long[] ids, ParameterServerClient client)
    {
        var values = new float[ids.Length * table.Dim];
        await table.PullAsync(ids, values);
        var info = await client.DescribeAsync(table.Spec.Name);
        return (values, info.OptimizerSteps, string.Join(", ", info.Shards.Select(s => $"{s.Index}@{s.Silo}: {s.Rows} rows, {s.OptimizerSteps} steps")));
    }

    private IReadOnlyCollection<string> ActiveSilos() => [.. Cluster.GetActiveSilos().Select(s => s.SiloAddress.ToString())];

    [Fact]
    public async Task Silos_that_join_get_their_share_of_every_table_and_a_graceful_leave_moves_its_shards_with_their_rows()
    {
        var (a, ids) = await Trained("balance-a", 8);
        var (b, _) = await Trained("balance-b", 5);
        var before = await Read(a, ids, Client);
        var beforeB = await Read(b, ids, Client);
        Assert.Equal(ids.Length * 4, before.Steps);
        // A training job's snapshot (its best epoch) of table a: it must travel with the shards through every move.
        await Cluster.Client.GetGrain<ITableGrain>("balance-a").Snapshot();

        await Cluster.StartAdditionalSiloAsync();
        await Cluster.StartAdditionalSiloAsync();
        await Cluster.WaitForLivenessToStabilizeAsync();
        await AwaitManifests();
        Assert.True(await Balance() > 0, "the joined silos got no shard");
        await AssertBalanced("balance-a", ActiveSilos());
        await AssertBalanced("balance-b", ActiveSilos());
        Assert.Equal(0, await Balance()); // balanced means a second balance moves nothing

        // A table created since, over the same silos, is spread by the next ask: a settled balance moments ago (which
        // answers repeated asks without describing every table again) does not hide it.
        await Trained("balance-c", 7);
        await Balance();
        await AssertBalanced("balance-c", ActiveSilos());

        // Moved with their rows: the same values and the same optimizer step counts as before.
        AssertSame(before, await Read(a, ids, Client));
        AssertSame(beforeB, await Read(b, ids, Client));

        // Training goes on across the moves: one more push applies to every row exactly once.
        var grads = Enumerable.Range(0, ids.Length * 6).Select(i => 0.01f * ((i % 7) - 3)).ToArray();
        await a.PushAsync(ids, grads);
        var pushed = await Read(a, ids, Client);
        Assert.Equal(ids.Length * 5, pushed.Steps);

        // A graceful stop of a silo holding shards: they move to the others first, rows and steps intact.
        var held = await Placement("balance-a");
        var leaving = Cluster.GetActiveSilos().First(s => !s.SiloAddress.Equals(Cluster.Silos[0].SiloAddress) && held.Contains(s.SiloAddress.ToString()));
        await Cluster.StopSiloAsync(leaving);
        var remaining = ActiveSilos().Where(s => s != leaving.SiloAddress.ToString()).ToArray();
        var placement = await AssertBalanced("balance-a", remaining);
        await AssertBalanced("balance-b", remaining);
        Assert.DoesNotContain(leaving.SiloAddress.ToString(), placement);
        Assert.Equal(0, await Balance());
        AssertSame(pushed, await Read(a, ids, Client));
        AssertSame(beforeB, await Read(b, ids, Client));

        // The job's rollback after two moves finds the snapshot taken before them: the rows and steps of then.
        Assert.Empty(await Cluster.Client.GetGrain<ITableGrain>("balance-a").RestoreSnapshot());
        AssertSame(before, await Read(a, ids, Client));
    }

    [Fact]
    public async Task Table_calls_safe_to_repeat_ride_out_a_graceful_leave()
    {
        await Cluster.StartAdditionalSiloAsync();
        await Cluster.StartAdditionalSiloAsync();
        await Cluster.WaitForLivenessToStabilizeAsync();
        await AwaitManifests();
        string[] names = [.. Enumerable.Range(0, 6).Select(i => $"leave-{i}")];
        foreach (var name in names)
        {
            await Trained(name, 6);
        }

        await Balance();

        // While a silo holding shards and table grains leaves, a worker keeps describing, opening and writing and
        // reading metadata of every table, as a job does between epochs: none of these calls may fail ("silo stopping").
        var leaving = Cluster.GetActiveSilos().First(s => !s.SiloAddress.Equals(Cluster.Silos[0].SiloAddress));
        using var stopped = new CancellationTokenSource();
        int rounds = 0;
        var calls = Task.Run(async () =>
        {
            while (!stopped.IsCancellationRequested || rounds < 3)
            {
                await Task.WhenAll(names.Select(async name =>
                {
                    await Client.DescribeAsync(name);
                    await Client.SetNumberAsync(name, "round", rounds);
                    Assert.Equal(rounds, await Client.GetNumberAsync(name, "round"));
                    var table = await Client.OpenTableAsync(name);
                    await table.SetLabelsAsync(new Dictionary<long, string> { [7919] = $"round {rounds}", [2 * 7919] = "two" });
                }));
                rounds++;
            }
        });
        await Cluster.StopSiloAsync(leaving);
        await stopped.CancelAsync();
        await calls.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(names, name => Assert.DoesNotContain(leaving.SiloAddress.ToString(), Placement(name).Result));
    }

    [Fact]
    public void The_plan_gives_every_silo_its_share_moving_only_the_excess()
    {
        var rng = new Random(9);
        for (int trial = 0; trial < 500; trial++)
        {
            int n = rng.Next(1, 7), shards = rng.Next(0, 40), others = rng.Next(0, 3);
            var silos = Enumerable.Range(0, n).Select(j => $"silo-{j}").ToArray();
            // Some shards sit on silos outside the list (leaving or gone); they must all move.
            var placement = Enumerable.Range(0, shards).Select(_ => rng.Next(n + others) is int k && k < n ? silos[k] : $"gone-{k}").ToArray();

            var moves = ShardBalance.Plan(placement, silos);

            var after = (string[])placement.Clone();
            foreach (var (shard, to) in moves)
            {
                after[shard] = silos[to];
            }

            int share = shards / n;
            var counts = silos.Select(s => after.Count(p => p == s)).ToArray();
            Assert.All(counts, c => Assert.InRange(c, share, share + 1));
            Assert.Equal(shards, counts.Sum());
            Assert.Equal(moves.Count, moves.Select(m => m.Shard).Distinct().Count());
            // Minimal: the shards off the list, plus what each listed silo holds above the largest quota it could get.
            int homeless = placement.Count(p => !silos.Contains(p));
            var held = silos.Select(s => placement.Count(p => p == s)).OrderByDescending(c => c).ToArray();
            int extra = shards % n, excess = held.Select((c, rank) => Math.Max(0, c - (share + (rank < extra ? 1 : 0)))).Sum();
            Assert.Equal(homeless + excess, moves.Count);
        }
    }
}
