namespace ParameterServer.Core.Storage.Checkpoints;

/// <summary>Everything one shard needs to come back: which shard, the row layout and the rows themselves.</summary>
/// <param name="Table">Table name.</param>
/// <param name="Shard">Shard index.</param>
/// <param name="Dim">Values per row.</param>
/// <param name="StateSlots">Optimizer state values per row value.</param>
/// <param name="Rows">Ids, values, optimizer state, step counts and labels.</param>
/// <param name="Created">When it was written.</param>
public sealed record ShardCheckpoint(string Table, int Shard, int Dim, int StateSlots, ShardStore.Snapshot Rows, DateTimeOffset Created);

/// <summary>A checkpoint that was read back, where from, and the newer files that were skipped and why.</summary>
/// <param name="Checkpoint">The checkpoint.</param>
/// <param name="Path">The file it came from.</param>
/// <param name="Skipped">Newer files that were unreadable (torn, corrupt, another table or layout), with the reason.</param>
public sealed record LoadedCheckpoint(ShardCheckpoint Checkpoint, string Path, IReadOnlyList<(string Path, string Reason)> Skipped);

/// <summary>
/// Where shards keep their checkpoints: <see cref="DirectoryCheckpointStore"/> (a local directory, or a volume every
/// silo shares) or <see cref="ObjectCheckpointStore"/> (a bucket of object storage: Azure Blob, S3). Every store writes
/// a checkpoint atomically, keeps the newest few per shard and restores from the newest that passes its checksum.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>Writes a checkpoint atomically (a reader never sees half of it) and keeps only the newest few. Returns its path.</summary>
    Task<string> WriteAsync(ShardCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>
    /// The newest checkpoint of the shard that reads back whole and matches the expected layout, falling back to
    /// older ones; null when there is none. Never returns a checkpoint that failed its checksum.
    /// </summary>
    Task<LoadedCheckpoint?> ReadNewestAsync(string table, int shard, int dim, int stateSlots, CancellationToken cancellationToken = default);

    /// <summary>Deletes every checkpoint of a table, and its record (when it is dropped).</summary>
    Task DeleteTableAsync(string table, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the table's record (its spec and metadata, as the caller serialized them) atomically beside its shards'
    /// checkpoints, replacing the previous one, so that the table outlives the metadata store.
    /// </summary>
    Task WriteTableRecordAsync(string table, ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default);

    /// <summary>The record of a table, or null when it has none.</summary>
    Task<byte[]?> ReadTableRecordAsync(string table, CancellationToken cancellationToken = default);

    /// <summary>The names of the tables that have a record.</summary>
    Task<IReadOnlyList<string>> ListTableRecordsAsync(CancellationToken cancellationToken = default);

    /// <summary>Where a shard's checkpoints live, for messages (a directory, a bucket prefix).</summary>
    string Describe(string table, int shard);
}
