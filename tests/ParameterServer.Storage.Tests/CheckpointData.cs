using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;
using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Storage.Tests;

/// <summary>Shards with trained rows (Adam state, step counts, labels) to checkpoint.</summary>
internal static class CheckpointData
{
    public const string Table = "items";

    /// <summary>A shard store of <paramref name="dim"/> trained through <paramref name="pushes"/> pushes, some rows labelled.</summary>
    public static ShardStore Trained(int dim, int seed, int pushes = 5)
    {
        var store = new ShardStore(dim, new RowInitializer(InitializerKind.Normal, 0.1f, 42), new OptimizerSettings(OptimizerKind.Adam, LearningRate: 0.05f));
        var rng = new Random(seed);
        long[] universe = [1, 2, 3, 4, 5, -100, long.MinValue, long.MaxValue];
        for (int p = 0; p < pushes; p++)
        {
            long[] ids = [.. universe.Where((_, i) => i == 0 || rng.NextDouble() < 0.6)];
            store.Push(ids, [.. Enumerable.Range(0, ids.Length * dim).Select(_ => (float)((rng.NextDouble() * 2) - 1))]);
        }

        store.SetLabel(1, "first");
        store.SetLabel(2, "Größe ∑");
        return store;
    }

    /// <summary>The checkpoint of <paramref name="store"/> as shard <paramref name="shard"/> of <paramref name="table"/>.</summary>
    public static ShardCheckpoint Of(ShardStore store, int shard = 0, string table = Table) =>
        new(table, shard, store.Dim, store.Optimizer.StateSlots, store.TakeSnapshot(), DateTimeOffset.UtcNow);
}
