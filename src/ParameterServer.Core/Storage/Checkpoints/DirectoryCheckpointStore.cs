using System.Globalization;

namespace ParameterServer.Core.Storage.Checkpoints;

/// <summary>
/// Checkpoints as files under a directory: <c>{root}/{table}/shard-{index:0000}/{sequence:000000000000}.psck</c>.
/// A file is written under a temporary name, flushed to disk and renamed, so a crash leaves either the old set or
/// the old set plus a complete new file (or a stray temporary file, cleaned up later). The newest
/// <see cref="Keep"/> files stay; older ones are deleted after a new one is in place.
/// </summary>
public sealed class DirectoryCheckpointStore : ICheckpointStore
{
    private const string Extension = ".psck";

    /// <summary>Creates a store under <paramref name="root"/> keeping <paramref name="keep"/> checkpoints per shard.</summary>
    public DirectoryCheckpointStore(string root, int keep = 3)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        if (keep < 1)
        {
            throw new ArgumentException($"Checkpoints to keep must be at least 1; got {keep}.");
        }

        Root = Path.GetFullPath(root);
        Keep = keep;
        Directory.CreateDirectory(Root);
    }

    /// <summary>The directory.</summary>
    public string Root { get; }

    /// <summary>Checkpoints kept per shard.</summary>
    public int Keep { get; }

    /// <inheritdoc/>
    public async Task<string> WriteAsync(ShardCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string dir = ShardDirectory(checkpoint.Table, checkpoint.Shard);
        Directory.CreateDirectory(dir);
        var existing = List(dir);
        long sequence = existing.Count == 0 ? 1 : existing[0].Sequence + 1;
        string final = Path.Combine(dir, sequence.ToString("D12", CultureInfo.InvariantCulture) + Extension);
        string temp = final + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            // Straight to the file: a copy in memory as large as the shard, per shard per interval, is what makes a
            // silo's memory balloon (the snapshot is copy enough). Callers run this off the grain's turn.
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                cancellationToken.ThrowIfCancellationRequested();
                CheckpointFormat.Write(checkpoint, file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, final, overwrite: false);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        foreach (var old in List(dir).Skip(Keep))
        {
            TryDelete(old.Path);
        }

        foreach (string stray in Directory.EnumerateFiles(dir, "*.tmp-*"))
        {
            if (File.GetLastWriteTimeUtc(stray) < DateTime.UtcNow.AddMinutes(-10))
            {
                TryDelete(stray);
            }
        }

        return final;
    }

    /// <inheritdoc/>
    public Task<LoadedCheckpoint?> ReadNewestAsync(string table, int shard, int dim, int stateSlots, CancellationToken cancellationToken = default)
    {
        string dir = ShardDirectory(table, shard);
        return !Directory.Exists(dir) ? Task.FromResult<LoadedCheckpoint?>(null) : CheckpointSelection.NewestUsableAsync(
            [.. List(dir).Select(f => f.Path)],
            async (path, ct) => File.Exists(path) ? await File.ReadAllBytesAsync(path, ct) : null,
            e => e is IOException or UnauthorizedAccessException,
            path => path, table, shard, dim, stateSlots, dir, cancellationToken);
    }

    /// <inheritdoc/>
    public Task DeleteTableAsync(string table, CancellationToken cancellationToken = default)
    {
        string dir = TableDirectory(table);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>Name of a table's record file in its directory.</summary>
    public const string TableRecordFile = "table.json";

    /// <inheritdoc/>
    public async Task WriteTableRecordAsync(string table, ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default)
    {
        string dir = TableDirectory(table);
        Directory.CreateDirectory(dir);
        string final = Path.Combine(dir, TableRecordFile);
        string temp = final + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 12, FileOptions.Asynchronous))
            {
                await file.WriteAsync(record, cancellationToken);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task<byte[]?> ReadTableRecordAsync(string table, CancellationToken cancellationToken = default)
    {
        string path = Path.Combine(TableDirectory(table), TableRecordFile);
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListTableRecordsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>([.. Directory.EnumerateDirectories(Root)
            .Where(d => File.Exists(Path.Combine(d, TableRecordFile)))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)]);

    /// <inheritdoc/>
    public string Describe(string table, int shard) => ShardDirectory(table, shard);

    /// <summary>The directory of one shard's checkpoints.</summary>
    public string ShardDirectory(string table, int shard) => Path.Combine(TableDirectory(table), "shard-" + shard.ToString("D4", CultureInfo.InvariantCulture));

    private string TableDirectory(string table)
    {
        // Table names are [A-Za-z0-9._-] and never "." or ".."; check again so no name can leave the root.
        if (string.IsNullOrEmpty(table) || table.Trim('.').Length == 0 || table.IndexOfAny(['/', '\\']) >= 0)
        {
            throw new ArgumentException($"'{table}' cannot name a checkpoint directory.");
        }

        return Path.Combine(Root, table);
    }

    private static List<(string Path, long Sequence)> List(string dir) =>
        [.. Directory.EnumerateFiles(dir, "*" + Extension)
            .Select(p => (Path: p, Ok: long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out long s), Sequence: s))
            .Where(x => x.Ok)
            .Select(x => (x.Path, x.Sequence))
            .OrderByDescending(x => x.Sequence)];

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
