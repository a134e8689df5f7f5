using System.Globalization;

namespace ParameterServer.Core.Storage.Checkpoints;

/// <summary>
/// Checkpoints as objects: <c>{prefix}{table}/shard-{index:0000}/{sequence:000000000000}.psck</c>, and each table's
/// record at <c>{prefix}{table}/table.json</c>, in the same format and with the same rules as
/// <see cref="DirectoryCheckpointStore"/>: a checkpoint is published by one put (whole or not at all, so no temporary
/// name), its sequence is one past the newest, a put that finds its sequence taken (a second writer of the shard)
/// takes the next, the newest <see cref="Keep"/> stay and older ones are deleted after a new one is in place, and a
/// shard restores from the newest object that passes its checksum and matches its layout.
/// </summary>
public sealed class ObjectCheckpointStore : ICheckpointStore
{
    private const string Extension = ".psck";
    private const string TableRecord = "table.json";
    private readonly IObjectStore _objects;
    private readonly string _prefix;

    /// <summary>Creates a store over <paramref name="objects"/> under <paramref name="prefix"/> (empty, or ending in '/'), keeping <paramref name="keep"/> per shard.</summary>
    public ObjectCheckpointStore(IObjectStore objects, string prefix, int keep = 3)
    {
        ArgumentNullException.ThrowIfNull(objects);
        ArgumentNullException.ThrowIfNull(prefix);
        if (keep < 1)
        {
            throw new ArgumentException($"Checkpoints to keep must be at least 1; got {keep}.");
        }

        _objects = objects;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        Keep = keep;
    }

    /// <summary>Checkpoints kept per shard.</summary>
    public int Keep { get; }

    /// <summary>
    /// The store's start-up check (see <see cref="IObjectStore.EnsureWritableAsync"/>); a failure is an
    /// <see cref="IOException"/> naming the store and the cause in one line.
    /// </summary>
    public async Task EnsureWritableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _objects.EnsureWritableAsync(_prefix, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new IOException($"Checkpoints: cannot write to {_objects.Describe(_prefix)}: {_objects.Explain(e)}");
        }
    }

    /// <inheritdoc/>
    public async Task<string> WriteAsync(ShardCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string shardPrefix = ShardPrefix(checkpoint.Table, checkpoint.Shard);
        // Serialized to a temporary file, not to memory: a shard's checkpoint is as large as its rows, and a second
        // copy in the heap (beside the snapshot) per shard per interval is what makes a silo's memory balloon.
        await using var content = new FileStream(
            Path.Combine(Path.GetTempPath(), $"ps-checkpoint-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
            1 << 16, FileOptions.DeleteOnClose);
        CheckpointFormat.Write(checkpoint, content);
        var existing = await ListShardAsync(shardPrefix, cancellationToken);
        long sequence = existing.Count == 0 ? 1 : existing[0].Sequence + 1;
        string key;
        for (int attempt = 0; ; attempt++, sequence++)
        {
            key = shardPrefix + sequence.ToString("D12", CultureInfo.InvariantCulture) + Extension;
            content.Position = 0;
            if (await _objects.PutAsync(key, content, onlyIfAbsent: true, cancellationToken))
            {
                break;
            }

            if (attempt == 8)
            {
                throw new IOException($"Checkpoint of table '{checkpoint.Table}' shard {checkpoint.Shard} not written: {_objects.Describe(key)} and the 8 sequences before it were taken by other writers.");
            }
        }

        // Pruned from the list taken before the write (newest first; the new checkpoint is newer than all of them), not
        // from a second listing: one LIST request per checkpoint instead of two. A checkpoint another writer added
        // meanwhile is not in it and stays, one more than Keep until the next write prunes it.
        foreach (var (old, _) in existing.Skip(Keep - 1))
        {
            await _objects.DeleteAsync(old, cancellationToken);
        }

        return _objects.Describe(key);
    }

    /// <inheritdoc/>
    public async Task<LoadedCheckpoint?> ReadNewestAsync(string table, int shard, int dim, int stateSlots, CancellationToken cancellationToken = default)
    {
        string shardPrefix = ShardPrefix(table, shard);
        var keys = await ListShardAsync(shardPrefix, cancellationToken);
        return await CheckpointSelection.NewestUsableAsync(
            [.. keys.Select(k => k.Key)], _objects.GetAsync, _objects.IsUnreadable, _objects.Describe,
            table, shard, dim, stateSlots, _objects.Describe(shardPrefix), cancellationToken);
    }

    /// <inheritdoc/>
    public async Task DeleteTableAsync(string table, CancellationToken cancellationToken = default)
    {
        foreach (string key in await _objects.ListAsync(TablePrefix(table), cancellationToken))
        {
            await _objects.DeleteAsync(key, cancellationToken);
        }
    }

    /// <inheritdoc/>
    public async Task WriteTableRecordAsync(string table, ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default)
    {
        await using var content = new MemoryStream(record.ToArray(), writable: false);
        await _objects.PutAsync(TablePrefix(table) + TableRecord, content, onlyIfAbsent: false, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<byte[]?> ReadTableRecordAsync(string table, CancellationToken cancellationToken = default) =>
        _objects.GetAsync(TablePrefix(table) + TableRecord, cancellationToken);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListTableRecordsAsync(CancellationToken cancellationToken = default) =>
        [.. (await _objects.ListAsync(_prefix, cancellationToken))
            .Select(k => k[_prefix.Length..])
            .Where(k => k.EndsWith("/" + TableRecord, StringComparison.Ordinal) && k.IndexOf('/') == k.Length - TableRecord.Length - 1)
            .Select(k => k[..k.IndexOf('/')])
            .Order(StringComparer.Ordinal)];

    /// <inheritdoc/>
    public string Describe(string table, int shard) => _objects.Describe(ShardPrefix(table, shard));

    /// <summary>The key prefix of one shard's checkpoints.</summary>
    public string ShardPrefix(string table, int shard) => TablePrefix(table) + "shard-" + shard.ToString("D4", CultureInfo.InvariantCulture) + "/";

    private string TablePrefix(string table)
    {
        // Table names are [A-Za-z0-9._-]; check again so no name can reach another table's keys.
        if (string.IsNullOrEmpty(table) || table.Trim('.').Length == 0 || table.IndexOfAny(['/', '\\']) >= 0)
        {
            throw new ArgumentException($"'{table}' cannot name a checkpoint prefix.");
        }

        return _prefix + table + "/";
    }

    private async Task<List<(string Key, long Sequence)>> ListShardAsync(string shardPrefix, CancellationToken cancellationToken) =>
        [.. (await _objects.ListAsync(shardPrefix, cancellationToken))
            .Where(k => k.EndsWith(Extension, StringComparison.Ordinal) && k.IndexOf('/', shardPrefix.Length) < 0)
            .Select(k => (Key: k, Ok: long.TryParse(k.AsSpan(shardPrefix.Length, k.Length - shardPrefix.Length - Extension.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long s), Sequence: s))
            .Where(x => x.Ok)
            .Select(x => (x.Key, x.Sequence))
            .OrderByDescending(x => x.Sequence)];
}
