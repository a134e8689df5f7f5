using ParameterServer.Core.Storage;
using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Testing;

/// <summary>Checkpoints and snapshots compared field by field, bit for bit (no tolerance: a restore is a copy).</summary>
public static class CheckpointAssert
{
    /// <summary>Same table, shard, layout, creation time (to the millisecond, as stored) and rows.</summary>
    public static void Same(ShardCheckpoint expected, ShardCheckpoint actual)
    {
        Assert.Equal(expected.Table, actual.Table);
        Assert.Equal(expected.Shard, actual.Shard);
        Assert.Equal(expected.Dim, actual.Dim);
        Assert.Equal(expected.StateSlots, actual.StateSlots);
        Assert.Equal(expected.Created.ToUnixTimeMilliseconds(), actual.Created.ToUnixTimeMilliseconds());
        SameRows(expected.Rows, actual.Rows);
    }

    /// <summary>Same ids, values, optimizer state, step counts, labels and total steps.</summary>
    public static void SameRows(ShardStore.Snapshot expected, ShardStore.Snapshot actual)
    {
        Assert.Equal(expected.Ids, actual.Ids);
        Assert.Equal(expected.Values, actual.Values);
        Assert.Equal(expected.State, actual.State);
        Assert.Equal(expected.Steps, actual.Steps);
        Assert.Equal(expected.TotalSteps, actual.TotalSteps);
        if (expected.Labels is null)
        {
            Assert.Null(actual.Labels);
        }
        else
        {
            Assert.NotNull(actual.Labels);
            Assert.Equal(expected.Labels, actual.Labels);
        }
    }
}
