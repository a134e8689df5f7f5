using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>Administration of a shard: describe, reset, snapshots.</summary>
public sealed partial class ShardGrain
{
    /// <inheritdoc/>
    public async Task<ShardInfo> Describe()
    {
        // The shard's rows as they are: loaded from its checkpoint (or from the rows it moved with) if this
        // activation has not served a step yet, rather than "0 rows" for a table that restarted.
        await Store();

        long rows = 0, bytes = 0, steps = 0;
        if (_store is { } store)
        {
            lock (store)
            {
                (rows, bytes, steps) = (store.Count, store.Bytes, store.TotalSteps);
            }
        }
        // Where a client sends this silo's step calls: its step socket, its gateway (directly), or its own address
        // (through any gateway).
        return new ShardInfo(_index, rows, bytes, steps, RuntimeIdentity, _checkpointError, _silo.SiloAddress.ToParsableString(),
            _silo.GatewayAddress?.Endpoint.ToString(), _stepSocket.Endpoint);
    }

    /// <inheritdoc/>
    public async Task Open() => await Store();

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

        CloseLocal();
        _store = null;
        _snapshot = null;
        _dropped = true;
        _checkpointError = null;
        _health.Cleared(_table, _index);
        _checkpointTimer?.Dispose();
        ShardResidency.Remove(this);
        DeactivateOnIdle();
    }

    /// <inheritdoc/>
    public Task Snapshot()
    {
        if (_store is { } store)
        {
            lock (store)
            {
                _snapshot = store.TakeSnapshot();
            }
        }
        else
        {
            _snapshot = null;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<bool> RestoreSnapshot()
    {
        if (_store is not { } store || _snapshot is null)
        {
            return Task.FromResult(false);
        }

        lock (store)
        {
            store.Restore(_snapshot);
        }

        _dirty = true;
        return Task.FromResult(true);
    }
}
