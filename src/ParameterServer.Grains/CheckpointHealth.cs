using System.Collections.Concurrent;

namespace ParameterServer.Grains;

/// <summary>
/// Which shards of this silo could not write their last checkpoint, and why (a singleton of the silo's services).
/// A shard is failing from a failed write until its next successful one; the silo's <c>/ready</c> fails while any is,
/// so an orchestrator sees a silo that would lose rows on a crash.
/// </summary>
public sealed class CheckpointHealth
{
    private readonly ConcurrentDictionary<(string Table, int Shard), string> _failing = new();

    /// <summary>Shards whose last checkpoint failed.</summary>
    public int Failing => _failing.Count;

    /// <summary>One failing shard and its error, or null when none fails.</summary>
    public string? FirstError => _failing.FirstOrDefault() is { Key.Table: { } table } first ? $"table '{table}' shard {first.Key.Shard}: {first.Value}" : null;

    /// <summary>Records a failed write of a shard's checkpoint.</summary>
    public void Failed(string table, int shard, string error) => _failing[(table, shard)] = error;

    /// <summary>Records a written checkpoint (or a shard that no longer has rows to write: dropped, moved, deactivated).</summary>
    public void Cleared(string table, int shard) => _failing.TryRemove((table, shard), out _);
}
