using System.Buffers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Placement;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage.Checkpoints;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Grains;

/// <summary>
/// Moving a shard to another silo with its state (Orleans grain migration). The leaving activation stops serving the
/// step router and writes its checkpoint (when checkpoints are on) in <see cref="OnDeactivateAsync"/>, then puts its
/// rows, optimizer state and step counts into the migration context in checkpoint format (checksummed); the new
/// activation reads them back before it activates and starts its store from them, so no acknowledged update is lost.
/// A training job's snapshot of the shard (its best epoch so far) travels with them.
/// A shard too big for one message travels through its checkpoint instead (and without checkpoints does not move).
/// </summary>
public sealed partial class ShardGrain : IGrainMigrationParticipant
{
    /// <summary>Largest store that travels in the migration message; Orleans' default message limit is 100 MiB.</summary>
    internal const long MaxMigrationBytes = 64L << 20;

    private const string MigrationKey = "ps.shard.rows";

    private const string SnapshotKey = "ps.shard.snapshot";

    // Rows that came with this activation by migration, until the store starts from them.
    private ShardCheckpoint? _arrived;

    // The job's snapshot (see Snapshot) that came with them, if any.
    private Core.Storage.ShardStore.Snapshot? _arrivedSnapshot;

    /// <inheritdoc/>
    public Task<bool> MoveTo(SiloAddress silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (string.Equals(silo.ToString(), RuntimeIdentity, StringComparison.Ordinal))
        {
            return Task.FromResult(false);
        }

        // Orleans places a migrating grain on the hinted silo only if this silo already knows that silo's grain types
        // (its cluster manifest); otherwise placement picks by hash, and when that is this silo the activation
        // deactivates without moving, and rows not in a checkpoint would be lost. A silo that joined moments ago
        // is asked again at the next balance.
        if (!ServiceProvider.GetRequiredService<IClusterManifestProvider>().Current.Silos.ContainsKey(silo))
        {
            LogTargetNotKnownYet(_table, _index, silo.ToString());
            return Task.FromResult(false);
        }

        if (_store is { } store && store.Bytes > MaxMigrationBytes && _checkpoints.Store is null)
        {
            LogTooBigToMove(_table, _index, store.Bytes, MaxMigrationBytes);
            return Task.FromResult(false);
        }

        // The placement hint makes the migration go to this silo rather than wherever placement would put the shard.
        RequestContext.Set(IPlacementDirector.PlacementHintKey, silo);
        this.MigrateOnIdle();
        RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        LogMoving(_table, _index, silo.ToString());
        return Task.FromResult(true);
    }

    /// <inheritdoc/>
    void IGrainMigrationParticipant.OnDehydrate(IDehydrationContext dehydrationContext)
    {
        if (_store is not { } store || _dropped || store.Bytes > MaxMigrationBytes)
        {
            // No rows yet, dropped, or too big for one message: the new activation starts as any activation does,
            // from the checkpoint written on deactivation.
            return;
        }

        var (checkpoint, _) = Capture(store);
        using var bytes = new MemoryStream();
        CheckpointFormat.Write(checkpoint, bytes);
        dehydrationContext.AddBytes(MigrationKey, bytes.GetBuffer().AsSpan(0, (int)bytes.Length));

        // The copy a training job took at its best epoch goes along, so that the job's rollback still finds it; in the
        // same format, under its own key. Left behind only when both would not fit one message (then a rollback of
        // this shard keeps the last epoch's rows, as after a crash).
        if (_snapshot is { } snapshot && store.Bytes + snapshot.Bytes <= MaxMigrationBytes)
        {
            bytes.SetLength(0);
            CheckpointFormat.Write(checkpoint with { Rows = snapshot }, bytes);
            dehydrationContext.AddBytes(SnapshotKey, bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        }
    }

    /// <inheritdoc/>
    void IGrainMigrationParticipant.OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (!rehydrationContext.TryGetBytes(MigrationKey, out var bytes))
        {
            return;
        }

        try
        {
            _arrived = CheckpointFormat.Read(bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray());
        }
        catch (InvalidDataException e)
        {
            // Nothing to start from but the checkpoint, as after a crash; say so rather than start empty unannounced.
            LogArrivalUnreadable(e, this.GetPrimaryKeyString());
            return;
        }

        if (rehydrationContext.TryGetBytes(SnapshotKey, out var snapshot))
        {
            try
            {
                _arrivedSnapshot = CheckpointFormat.Read(snapshot.IsSingleSegment ? snapshot.FirstSpan : snapshot.ToArray()).Rows;
            }
            catch (InvalidDataException e)
            {
                // The rows stand; only a rollback to the job's best epoch misses this shard (and the job says so).
                LogSnapshotUnreadable(e, this.GetPrimaryKeyString());
            }
        }
    }

    /// <summary>Starts <paramref name="store"/> from the rows that came by migration, if any (and forgets them); false when none came.</summary>
    private bool StartFromArrival(Core.Storage.ShardStore store, TableSpec spec)
    {
        if (_arrived is not { } arrived)
        {
            return false;
        }

        _arrived = null;
        if (arrived.Table != _table || arrived.Shard != _index || arrived.Dim != spec.Dim || arrived.StateSlots != spec.OptimizerSettings.StateSlots)
        {
            throw new InvalidOperationException($"Table '{_table}' shard {_index} cannot start from the rows it was moved with: they are of '{arrived.Table}' shard {arrived.Shard}, dim {arrived.Dim}, {arrived.StateSlots} state slots.");
        }

        store.Restore(arrived.Rows);
        (_snapshot, _arrivedSnapshot) = (_arrivedSnapshot, null);
        ShardsArrived.Add(1, _tableTag);
        LogArrived(_table, _index, store.Count, store.TotalSteps);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Table}/{Index} moving to silo {Silo}")]
    private partial void LogMoving(string table, int index, string silo);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Table}/{Index} stays for now: silo {Silo} is not in this silo's cluster manifest yet")]
    private partial void LogTargetNotKnownYet(string table, int index, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Table}/{Index} arrived by migration with {Rows} rows and {Steps} optimizer steps")]
    private partial void LogArrived(string table, int index, int rows, long steps);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Table}/{Index} stays: its {Bytes} bytes exceed the {Limit} bytes a move carries and checkpoints are off, so it could only move without its rows")]
    private partial void LogTooBigToMove(string table, int index, long bytes, long limit);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Key} arrived by migration with rows that cannot be read; it starts from its checkpoint, if any")]
    private partial void LogArrivalUnreadable(Exception e, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Key} arrived by migration with a job's snapshot that cannot be read; its rows arrived, and a rollback to that snapshot will name this shard")]
    private partial void LogSnapshotUnreadable(Exception e, string key);
}
