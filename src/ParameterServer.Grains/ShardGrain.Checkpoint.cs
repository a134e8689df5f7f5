using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage;
using ParameterServer.Core.Storage.Checkpoints;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Grains;

/// <summary>
/// Checkpoints of a shard: loaded when the shard activates (newest valid file, falling back to older ones), written
/// on a timer when rows changed, on graceful deactivation (a silo that stops writes its shards first) and on
/// request. The snapshot is copied inside the grain turn; the file is written off it, so the shard keeps serving.
/// </summary>
public sealed partial class ShardGrain
{
    private long _checkpointedSteps = -1;
    private bool _dirty;
    private bool _dropped;
    private Task _writing = Task.CompletedTask;
    private IGrainTimer? _checkpointTimer;
    private string? _lastCheckpoint;

    /// <inheritdoc/>
    public async Task<CheckpointResult> Checkpoint()
    {
        var store = await Store();
        await _writing;
        if (_checkpoints.Store is null)
        {
            throw new InvalidOperationException($"Checkpoints are off on this silo: set Checkpoints:Directory, Checkpoints:Blob:Container or Checkpoints:S3:Bucket to write table '{_table}'.");
        }

        var (checkpoint, steps) = Capture(store);
        await WriteAsync(checkpoint, steps);
        return new CheckpointResult(_index, store.Count, store.TotalSteps, _lastCheckpoint ?? "", RuntimeIdentity);
    }

    private async Task LoadCheckpointAsync(ShardStore store, TableSpec spec)
    {
        if (_checkpoints.Store is not { } checkpoints)
        {
            StartFromArrival(store, spec);
            return;
        }

        if (StartFromArrival(store, spec))
        {
            StartCheckpointTimer(store);
            return;
        }

        LoadedCheckpoint? loaded;
        try
        {
            loaded = await checkpoints.ReadNewestAsync(_table, _index, spec.Dim, spec.OptimizerSettings.StateSlots);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidOperationException($"Table '{_table}' shard {_index} cannot start: {e.Message}. Move the bad files aside, or drop the table to start over.", e);
        }

        if (loaded is not null)
        {
            foreach (var (path, reason) in loaded.Skipped)
            {
                LogCheckpointSkipped(_table, _index, path, reason);
            }

            store.Restore(loaded.Checkpoint.Rows);
            _lastCheckpoint = loaded.Path;
            RowsRestored.Add(store.Count, _tableTag);
            LogCheckpointLoaded(_table, _index, store.Count, store.TotalSteps, loaded.Path);
        }
        else
        {
            await StartWithoutCheckpoint(checkpoints, store);
        }

        StartCheckpointTimer(store);
    }

    /// <summary>
    /// A shard without checkpoint: lost files when every shard of its table had written one (its record says so), which
    /// refuses to start empty; else a new shard, which writes an empty checkpoint at once, so that from now on a
    /// missing one means lost files. A failed first write is reported like any other (and the shard starts).
    /// </summary>
    private async Task StartWithoutCheckpoint(ICheckpointStore checkpoints, ShardStore store)
    {
        byte[]? record = null;
        try
        {
            record = await checkpoints.ReadTableRecordAsync(_table);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No record to go by: treat the shard as new.
        }

        bool everyShardHadOne = false;
        if (record is not null)
        {
            try
            {
                everyShardHadOne = TableRecord.Read(record, _table).ShardsCheckpointed;
            }
            catch (InvalidDataException)
            {
                // The table grain reports an unreadable record; the shard goes by the metadata store's spec.
            }
        }

        if (everyShardHadOne)
        {
            throw new InvalidOperationException(
                $"Table '{_table}' shard {_index} cannot start: it has no checkpoint in {checkpoints.Describe(_table, _index)} although every shard of the table wrote one (they were deleted, or this is not the table's volume or bucket). Restore them, or drop the table to start over.");
        }

        try
        {
            var (checkpoint, steps) = Capture(store);
            await WriteAsync(checkpoint, steps);
        }
        catch (InvalidOperationException)
        {
            // Logged, counted and failing /ready; the shard serves steps and its timer tries again.
        }
    }

    private void StartCheckpointTimer(ShardStore store)
    {
        _checkpointedSteps = store.TotalSteps;
        var every = _checkpointOptions.Interval;
        _checkpointTimer = this.RegisterGrainTimer(_ => WriteIfChanged(), new GrainTimerCreationOptions(every, every) { KeepAlive = true });
    }

    private Task WriteIfChanged()
    {
        if (_store is not { } store || _checkpoints.Store is null || _dropped || !_writing.IsCompleted || (store.TotalSteps == _checkpointedSteps && !_dirty))
        {
            return Task.CompletedTask;
        }

        var (checkpoint, steps) = Capture(store);

        // Not awaited: the next pulls and pushes are served while the file is written.
        _writing = WriteAsync(checkpoint, steps);
        return Task.CompletedTask;
    }

    private (ShardCheckpoint Checkpoint, long Steps) Capture(ShardStore store)
    {
        lock (store)
        {
            _dirty = false;
            return (new ShardCheckpoint(_table, _index, store.Dim, store.Optimizer.StateSlots, store.TakeSnapshot(), DateTimeOffset.UtcNow), store.TotalSteps);
        }
    }

    private async Task WriteAsync(ShardCheckpoint checkpoint, long steps)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            var store = _checkpoints.Store!;
            _lastCheckpoint = await Task.Run(() => store.WriteAsync(checkpoint));
            _checkpointedSteps = steps;
            CheckpointsWritten.Add(1, _tableTag);
            CheckpointDuration.Record(SecondsSince(start), _tableTag);
            LogCheckpointWritten(_table, _index, checkpoint.Rows.Ids.Length, steps, _lastCheckpoint);
            _checkpointError = null;
            _health.Cleared(_table, _index);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _dirty = true;
            // One line per failure, no stack trace: the cause (a read-only or full directory) is in the message.
            // Counted, shown by describe and the training report, and failing /ready until a write succeeds.
            _checkpointError = e.Message;
            _health.Failed(_table, _index, e.Message);
            CheckpointsFailed.Add(1, _tableTag);
            LogCheckpointFailed(_table, _index, e.Message);
            throw new InvalidOperationException($"Checkpoint of table '{_table}' shard {_index} failed: {e.Message}", e);
        }
    }

    private async Task CheckpointOnDeactivation(DeactivationReason reason)
    {
        try
        {
            await _writing;
        }
        catch (InvalidOperationException)
        {
            // Logged when it happened; the write below tries again.
        }

        if (_store is { } store && _checkpoints.Store is not null && !_dropped && (store.TotalSteps != _checkpointedSteps || _dirty))
        {
            var (checkpoint, steps) = Capture(store);
            await WriteAsync(checkpoint, steps);
            LogCheckpointOnDeactivation(_table, _index, checkpoint.Rows.Ids.Length, steps, reason.ReasonCode);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Table}/{Index}: checkpoint of {Rows} rows ({Steps} steps) written before deactivation ({Reason})")]
    private partial void LogCheckpointOnDeactivation(string table, int index, int rows, long steps, DeactivationReasonCode reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Table}/{Index}: restored {Rows} rows ({Steps} optimizer steps) from {Path}")]
    private partial void LogCheckpointLoaded(string table, int index, int rows, long steps, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Table}/{Index}: skipped checkpoint {Path}: {Reason}; trying an older one")]
    private partial void LogCheckpointSkipped(string table, int index, string path, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shard {Table}/{Index}: checkpoint of {Rows} rows ({Steps} steps) written to {Path}")]
    private partial void LogCheckpointWritten(string table, int index, int rows, long steps, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Table}/{Index}: checkpoint failed: {Reason}")]
    private partial void LogCheckpointFailed(string table, int index, string reason);
}
