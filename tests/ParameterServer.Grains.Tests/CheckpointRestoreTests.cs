using Orleans.Core.Internal;
using Orleans.TestingHost;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// Shards on a real in-process silo with checkpoints in a temporary directory: a shard that deactivates writes a
/// checkpoint, and the next activation reads it back (values, optimizer state, labels, step counts), falling back
/// to the previous file when the newest is torn.
/// </summary>
public sealed class CheckpointRestoreTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ps-ckpt-" + Guid.NewGuid().ToString("N"));
    private InProcessTestCluster? _cluster;

    private ParameterServerClient Client => new(_cluster!.Client);

    public async Task InitializeAsync()
    {
        var options = new CheckpointOptions { Directory = _dir, Interval = TimeSpan.FromHours(1), Keep = 3 };
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer(checkpoints: options));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private async Task<(TableClient Table, long[] Ids)> TrainedTable(string name)
    {
        var table = await Client.CreateTableAsync(new TableSpec { Name = name, Dim = 8, Shards = 2, Optimizer = OptimizerKind.Adam, LearningRate = 0.05f, Seed = 3 });
        long[] ids = [.. Enumerable.Range(1, 40).Select(i => (long)i)];
        var rng = new Random(4);
        for (int step = 0; step < 5; step++)
        {
            await table.PushAsync(ids, Enumerable.Range(0, ids.Length * 8).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray());
        }

        await Client.SetLabelsAsync(table, ids.ToDictionary(id => id, id => $"row {id}"));
        return (table, ids);
    }

    private async Task DeactivateShards(TableClient table)
    {
        for (int s = 0; s < table.Spec.Shards; s++)
        {
            var shard = _cluster!.Client.GetGrain<IShardGrain>(ShardKey.Of(table.Spec.Name, s));
            await shard.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        }
    }

    private static async Task<float[]> Pull(TableClient table, long[] ids)
    {
        var values = new float[ids.Length * table.Dim];
        await table.PullAsync(ids, values);
        return values;
    }

    [Fact]
    public async Task A_shard_that_deactivates_comes_back_with_its_rows_state_labels_and_steps()
    {
        var (table, ids) = await TrainedTable("restore");
        var before = await Pull(table, ids);
        var infoBefore = await Client.DescribeAsync("restore");
        await DeactivateShards(table);

        // Await a condition with a deadline (deactivation is asynchronous): the shards' checkpoints are on disk.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Enumerable.Range(0, 2).Any(s => !Directory.Exists(Path.Combine(_dir, "restore", $"shard-{s:D4}")) || Directory.GetFiles(Path.Combine(_dir, "restore", $"shard-{s:D4}"), "*.psck").Length == 0))
        {
            Assert.True(DateTime.UtcNow < deadline, "no checkpoint was written on deactivation");
            await Task.Delay(20);
        }

        var after = await Pull(table, ids);
        Assert.Equal(before, after);
        var infoAfter = await Client.DescribeAsync("restore");
        Assert.Equal(infoBefore.Rows, infoAfter.Rows);
        Assert.Equal(infoBefore.OptimizerSteps, infoAfter.OptimizerSteps);
        var peek = await _cluster!.Client.GetGrain<IQueryGrain>(0).Peek("restore", [7]);
        Assert.Equal("row 7", peek.Labels[0]);

        // The optimizer state came back too: the same next push moves the restored rows exactly like a table that
        // never went away (built again from the same seed and the same pushes).
        var (twin, _) = await TrainedTable("restore-twin");
        var grad = Enumerable.Range(0, ids.Length * 8).Select(i => (float)Math.Sin(i)).ToArray();
        await table.PushAsync(ids, grad);
        await twin.PushAsync(ids, grad);
        Assert.Equal(await Pull(twin, ids), await Pull(table, ids));
    }

    [Fact]
    public async Task A_torn_newest_checkpoint_falls_back_to_the_previous_one()
    {
        var (table, ids) = await TrainedTable("torn");
        var checkpoints = await _cluster!.Client.GetGrain<ITableGrain>("torn").Checkpoint();
        var first = await Pull(table, ids);
        await table.PushAsync(ids, new float[ids.Length * 8].Select((_, i) => 0.1f * (i % 7)).ToArray());
        var second = await _cluster.Client.GetGrain<ITableGrain>("torn").Checkpoint();
        Assert.All(second.Zip(checkpoints), p => Assert.NotEqual(p.First.Path, p.Second.Path));

        // Tear every newest file, as a crash in the middle of a write on a system without atomic rename would.
        foreach (var c in second)
        {
            var bytes = await File.ReadAllBytesAsync(c.Path);
            await File.WriteAllBytesAsync(c.Path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        }

        // The shards are clean (checkpointed just now), so they leave without writing; the next call activates
        // them again from disk, where the newest files are torn.
        await DeactivateShards(table);
        Assert.Equal(first, await Pull(table, ids));
        Assert.All(second, c => Assert.True(File.Exists(c.Path), "the torn file is left for inspection, not deleted"));
    }

    [Fact]
    public async Task Tables_outlive_a_metadata_store_that_forgot_them()
    {
        var (table, ids) = await TrainedTable("durable");
        await _cluster!.Client.GetGrain<ITableGrain>("durable").SetMetadata("global_mean", "3.5");
        var before = await Pull(table, ids);
        var infoBefore = await Client.DescribeAsync("durable");
        await _cluster.Client.GetGrain<ITableGrain>("durable").Checkpoint();

        // A new cluster on the same checkpoint directory: its in-memory metadata store starts empty, as after a
        // restart of every silo (or of a Redis without persistence).
        await _cluster.DisposeAsync();
        _cluster = null;
        await InitializeAsync();

        Assert.Contains("durable", await Client.ListTablesAsync());
        var info = await Client.DescribeAsync("durable");
        Assert.Equal(infoBefore.Spec.Dim, info.Spec.Dim);
        Assert.Equal(infoBefore.Spec.Shards, info.Spec.Shards);
        Assert.Equal(infoBefore.Spec.Optimizer, info.Spec.Optimizer);
        Assert.Equal(infoBefore.Spec.LearningRate, info.Spec.LearningRate);
        Assert.Equal("3.5", info.Metadata["global_mean"]);
        Assert.Equal(infoBefore.OptimizerSteps, info.OptimizerSteps);
        var reopened = await Client.OpenTableAsync("durable");
        Assert.Equal(before, await Pull(reopened, ids));

        // Dropped means gone for good: the record goes with the checkpoints.
        Assert.True(await Client.DropAsync("durable"));
        await _cluster!.DisposeAsync();
        _cluster = null;
        await InitializeAsync();
        Assert.DoesNotContain("durable", await Client.ListTablesAsync());
    }

    [Fact]
    public async Task A_shard_whose_checkpoints_were_lost_refuses_to_start_empty()
    {
        var (table, ids) = await TrainedTable("lost");
        await _cluster!.Client.GetGrain<ITableGrain>("lost").Checkpoint();
        await DeactivateShards(table);
        var lostDir = new Core.Storage.Checkpoints.DirectoryCheckpointStore(_dir).ShardDirectory("lost", 1);
        Directory.Delete(lostDir, recursive: true);

        // Shard 1 lost its files; every shard of the table had written some, so it must not start with no rows.
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Pull(table, ids));
        Assert.Contains("shard 1 cannot start", e.ToString(), StringComparison.Ordinal);
        Assert.Contains(lostDir, e.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(lostDir), "refusing wrote nothing in its place");
    }

    [Fact]
    public async Task Every_shard_of_a_new_table_writes_a_checkpoint_at_once()
    {
        var table = await Client.CreateTableAsync(new TableSpec { Name = "fresh", Dim = 4, Shards = 3, Seed = 1 });
        var store = new Core.Storage.Checkpoints.DirectoryCheckpointStore(_dir);
        for (int s = 0; s < table.Spec.Shards; s++)
        {
            Assert.NotEmpty(Directory.GetFiles(store.ShardDirectory("fresh", s), "*.psck"));
        }

        Assert.Contains("\"shards_checkpointed\": true", await File.ReadAllTextAsync(Path.Combine(_dir, "fresh", "table.json")), StringComparison.Ordinal);
    }
}
