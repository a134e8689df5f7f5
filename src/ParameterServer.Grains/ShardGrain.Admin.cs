using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>Administration of a shard: describe, reset, snapshots.</summary>
public sealed partial class ShardGrain
{
    /// <inheritdoc/>
    public Task<ShardInfo> Describe()
    {
        long rows = _store?.Count ?? 0;
        long bytes = _store?.Bytes ?? 0;
        long steps = _store?.TotalSteps ?? 0;
        return Task.FromResult(new ShardInfo(_index, rows, bytes, steps, RuntimeIdentity));
    }

    /// <inheritdoc/>
    public async Task Reset()
    {
        // A checkpoint still being written must land before the table's files are deleted.
        try
        {
            await _writing;
        }
        catch (InvalidOperationException)
        {
        }

        _store = null;
        _snapshot = null;
        _dropped = true;
        _checkpointTimer?.Dispose();
        ShardResidency.Remove(this);
        DeactivateOnIdle();
    }

    /// <inheritdoc/>
    public Task Snapshot()
    {
        _snapshot = _store?.TakeSnapshot();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task RestoreSnapshot()
    {
        if (_store is not null && _snapshot is not null)
        {
            _store.Restore(_snapshot);
            _dirty = true;
        }

        return Task.CompletedTask;
    }
}
