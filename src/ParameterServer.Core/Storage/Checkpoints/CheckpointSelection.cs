namespace ParameterServer.Core.Storage.Checkpoints;

/// <summary>
/// How every store picks the checkpoint a shard starts from: the newest that reads back whole (checksum) and matches
/// the shard's layout, each newer one skipped with its reason; an error naming every candidate when none is usable.
/// One rule for all stores, so a shard restores the same way from a directory and from a bucket.
/// </summary>
internal static class CheckpointSelection
{
    /// <summary>
    /// Reads <paramref name="candidates"/> (newest first) through <paramref name="read"/> until one is usable; results and
    /// messages name a candidate as <paramref name="describe"/> does (a path, <c>s3://bucket/key</c>).
    /// <paramref name="read"/> returns null for a candidate that vanished since it was listed (deleted by keep-N);
    /// <paramref name="unreadable"/> says which exceptions mean "this one is unreadable, try an older one" (any other
    /// propagates: an unreachable store must not make a shard start from an older checkpoint).
    /// </summary>
    public static async Task<LoadedCheckpoint?> NewestUsableAsync(
        IReadOnlyList<string> candidates, Func<string, CancellationToken, Task<byte[]?>> read, Func<Exception, bool> unreadable,
        Func<string, string> describe, string table, int shard, int dim, int stateSlots, string where, CancellationToken cancellationToken)
    {
        var skipped = new List<(string, string)>();
        foreach (string candidate in candidates)
        {
            string path = describe(candidate);
            try
            {
                if (await read(candidate, cancellationToken) is not { } bytes)
                {
                    skipped.Add((path, "it was deleted while being read (a newer checkpoint replaced it)"));
                    continue;
                }

                var c = CheckpointFormat.Read(bytes);
                string? mismatch = Mismatch(c, table, shard, dim, stateSlots);
                if (mismatch is null)
                {
                    return new LoadedCheckpoint(c, path, skipped);
                }

                skipped.Add((path, mismatch));
            }
            catch (Exception e) when (e is InvalidDataException || unreadable(e))
            {
                skipped.Add((path, e.Message));
            }
        }

        return skipped.Count == 0 ? null : throw new InvalidDataException(
            $"No usable checkpoint of table '{table}' shard {shard} in {where}: " + string.Join("; ", skipped.Select(s => $"{LastSegment(s.Item1)}: {s.Item2}")));
    }

    /// <summary>Why a checkpoint that read back whole cannot restore this shard, or null when it can.</summary>
    private static string? Mismatch(ShardCheckpoint c, string table, int shard, int dim, int stateSlots) =>
        c.Table != table ? $"it belongs to table '{c.Table}'"
        : c.Shard != shard ? $"it belongs to shard {c.Shard}"
        : c.Dim != dim ? $"its rows have dim {c.Dim}, the table has dim {dim}"
        : c.StateSlots != stateSlots ? $"it holds {c.StateSlots} optimizer state slots per value, the table's optimizer needs {stateSlots}"
        : null;

    private static string LastSegment(string path) => path[(path.LastIndexOfAny(['/', '\\']) + 1)..];
}
