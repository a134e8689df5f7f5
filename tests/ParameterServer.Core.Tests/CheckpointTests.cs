using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;
using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Core.Tests;

public sealed class CheckpointTests : IDisposable
{
    private const string Table = "items";

    private static readonly RowInitializer Normal = new(InitializerKind.Normal, 0.1f, 42);

    private static readonly string?[] OddLabels = ["plain", null, "", "Größe", "日本語のラベル", "emoji 🎉 and ∑", "Ünïcödé\ttab"];

    // Everything the tests write lives under _dir; the stores use _dir/root so the tests can check nothing above the root changes.
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ps-core-tests-ck-{Guid.NewGuid():N}");

    private string Root => Path.Combine(_dir, "root");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    public static TheoryData<OptimizerKind> Kinds => new(OptimizerKind.Sgd, OptimizerKind.Adagrad, OptimizerKind.Adam);

    private static OptimizerSettings Settings(OptimizerKind kind) =>
        new(kind, LearningRate: 0.05f, WeightDecay: 0.01f, Epsilon: kind == OptimizerKind.Adagrad ? 1e-10f : 1e-8f);

    private static float[] Gradients(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();

    private static float[] PullAll(ShardStore store, long[] ids)
    {
        var dst = new float[ids.Length * store.Dim];
        store.Pull(ids, dst);
        return dst;
    }

    /// <summary>A store with rows created by pulls and pushes (different step counts per row) and a few labels.</summary>
    private static ShardStore Trained(OptimizerKind kind, int dim, int seed, int pushes = 6)
    {
        var store = new ShardStore(dim, Normal, Settings(kind));
        var rng = new Random(seed);
        PullAll(store, [1000, -7, long.MaxValue]);
        long[] universe = [1, 2, 3, 4, 5, 6, 7, 8, -100, long.MinValue];
        for (int p = 0; p < pushes; p++)
        {
            long[] ids = universe.Where((_, i) => i == 0 || rng.NextDouble() < 0.5).ToArray();
            store.Push(ids, Gradients(rng, ids.Length * dim));
        }

        return store;
    }

    /// <summary>Pushes one more random batch so a later checkpoint differs from an earlier one.</summary>
    private static void Advance(ShardStore store, int seed)
    {
        long[] ids = [1, 2, 3, 9000 + seed];
        store.Push(ids, Gradients(new Random(seed), ids.Length * store.Dim));
    }

    private static ShardCheckpoint Checkpoint(ShardStore store, string table = Table, int shard = 0) =>
        new(table, shard, store.Dim, store.Optimizer.StateSlots, store.TakeSnapshot(), DateTimeOffset.UtcNow);

    private static byte[] Serialize(ShardCheckpoint c)
    {
        var buffer = new MemoryStream();
        CheckpointFormat.Write(c, buffer);
        return buffer.ToArray();
    }

    /// <summary>Rewrites the XxHash64 trailer so an edited file passes the checksum and reaches the later checks.</summary>
    private static void Reseal(byte[] bytes) =>
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(bytes.Length - 8), XxHash64.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));

    private static long Sequence(string path) => long.Parse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture);

    private static string CopyAs(string source, string shardDirectory, long sequence)
    {
        string target = Path.Combine(shardDirectory, sequence.ToString("D12", CultureInfo.InvariantCulture) + ".psck");
        File.Copy(source, target);
        return target;
    }

    private static void Truncate(string path, long length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.SetLength(length);
    }

    private static void FlipByte(string path, long at)
    {
        byte[] bytes = File.ReadAllBytes(path);
        bytes[at] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RoundTripKeepsEveryRowAndRestoresIdenticalBehaviour(OptimizerKind kind)
    {
        const int dim = 6;
        var store = Trained(kind, dim, seed: 11);
        long[] labelled = [1, 2, 3, 4, 5, 6, 1000];
        for (int i = 0; i < labelled.Length; i++)
        {
            store.SetLabel(labelled[i], OddLabels[i]);
        }

        store.SetLabel(-7, "was set");
        store.SetLabel(-7, null);
        var original = Checkpoint(store, shard: 3);
        Assert.Equal(store.Count * dim * Settings(kind).StateSlots, original.Rows.State.Length);
        if (kind != OptimizerKind.Sgd)
        {
            Assert.Contains(original.Rows.State, x => x != 0f);
        }

        string path = await new DirectoryCheckpointStore(Root).WriteAsync(original);
        Assert.StartsWith(Path.Combine(Root, Table, "shard-0003"), path, StringComparison.Ordinal);

        // A new store object over the same directory, as after a restart.
        var loaded = await new DirectoryCheckpointStore(Root).ReadNewestAsync(Table, 3, dim, Settings(kind).StateSlots);
        Assert.NotNull(loaded);
        Assert.Equal(path, loaded.Path);
        Assert.Empty(loaded.Skipped);
        CheckpointAssert.Same(original, loaded.Checkpoint);
        Assert.Equal(store.TotalSteps, loaded.Checkpoint.Rows.TotalSteps);
        Assert.Equal(OddLabels, labelled.Select(id => loaded.Checkpoint.Rows.Labels![store.Find(id)]));
        Assert.Null(loaded.Checkpoint.Rows.Labels![store.Find(-7)]);
        Assert.Equal("", loaded.Checkpoint.Rows.Labels![store.Find(3)]);

        var restored = new ShardStore(dim, Normal, Settings(kind));
        restored.Restore(loaded.Checkpoint.Rows);
        Assert.Equal(store.Count, restored.Count);
        Assert.Equal(store.TotalSteps, restored.TotalSteps);
        Assert.Equal(store.Ids.ToArray(), restored.Ids.ToArray());
        Assert.Equal(store.Steps.ToArray(), restored.Steps.ToArray());
        Assert.Equal(store.Norms.ToArray(), restored.Norms.ToArray());
        for (int slot = 0; slot < store.Count; slot++)
        {
            Assert.Equal(store.LabelAt(slot), restored.LabelAt(slot));
        }

        List<long> exact = [], ignoringCase = [];
        restored.FindLabel("größe", exact, ignoringCase);
        Assert.Empty(exact);
        Assert.Equal([4L], ignoringCase);

        // Existing rows plus one that neither store has yet.
        long[] ids = [.. store.Ids.ToArray(), 424242];
        Assert.Equal(PullAll(store, ids), PullAll(restored, ids));

        var rng = new Random(99);
        for (int p = 0; p < 3; p++)
        {
            long[] batch = [1, 2, -100, 424242, 5555 + p];
            float[] g = Gradients(rng, batch.Length * dim);
            store.Push(batch, g);
            restored.Push(batch, g);
        }

        Assert.Equal(store.TotalSteps, restored.TotalSteps);
        CheckpointAssert.SameRows(store.TakeSnapshot(), restored.TakeSnapshot());
        Assert.Equal(PullAll(store, ids), PullAll(restored, ids));
    }

    [Theory]
    [InlineData("half")]
    [InlineData("empty")]
    [InlineData("last byte cut")]
    [InlineData("shorter than a header")]
    public async Task TornNewestFileFallsBackToThePreviousCheckpoint(string tear)
    {
        var checkpoints = new DirectoryCheckpointStore(Root);
        var store = Trained(OptimizerKind.Adam, 5, seed: 3);
        var older = Checkpoint(store, shard: 1);
        string olderPath = await checkpoints.WriteAsync(older);
        Advance(store, 1);
        string newest = await checkpoints.WriteAsync(Checkpoint(store, shard: 1));
        Assert.True(Sequence(newest) > Sequence(olderPath));

        long length = new FileInfo(newest).Length;
        Truncate(newest, tear switch
        {
            "half" => length / 2,
            "empty" => 0,
            "last byte cut" => length - 1,
            _ => 10,
        });

        var loaded = await checkpoints.ReadNewestAsync(Table, 1, 5, 2);
        Assert.NotNull(loaded);
        Assert.Equal(olderPath, loaded.Path);
        CheckpointAssert.Same(older, loaded.Checkpoint);
        Assert.NotEqual(store.TotalSteps, loaded.Checkpoint.Rows.TotalSteps);
        var (skippedPath, reason) = Assert.Single(loaded.Skipped);
        Assert.Equal(newest, skippedPath);
        Assert.True(
            reason.Contains("checksum", StringComparison.OrdinalIgnoreCase) || reason.Contains("truncated", StringComparison.OrdinalIgnoreCase),
            $"A torn file ({tear}) should be reported as torn, not as: {reason}");
    }

    [Fact]
    public async Task CorruptNewestFileFallsBackWithChecksumMismatch()
    {
        var checkpoints = new DirectoryCheckpointStore(Root);
        var store = Trained(OptimizerKind.Adagrad, 4, seed: 5);
        var older = Checkpoint(store);
        string olderPath = await checkpoints.WriteAsync(older);
        Advance(store, 2);
        string newest = await checkpoints.WriteAsync(Checkpoint(store));
        FlipByte(newest, new FileInfo(newest).Length / 2);

        var loaded = await checkpoints.ReadNewestAsync(Table, 0, 4, 1);
        Assert.NotNull(loaded);
        Assert.Equal(olderPath, loaded.Path);
        CheckpointAssert.Same(older, loaded.Checkpoint);
        var (skippedPath, reason) = Assert.Single(loaded.Skipped);
        Assert.Equal(newest, skippedPath);
        Assert.Contains("checksum mismatch", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoUsableFileThrowsNamingTableShardAndEveryFile()
    {
        var checkpoints = new DirectoryCheckpointStore(Root, keep: 5);
        var store = Trained(OptimizerKind.Sgd, 3, seed: 7);
        var paths = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            Advance(store, i);
            paths.Add(await checkpoints.WriteAsync(Checkpoint(store, shard: 2)));
        }

        Truncate(paths[0], 0);
        FlipByte(paths[1], 40);
        Truncate(paths[2], new FileInfo(paths[2]).Length - 3);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => checkpoints.ReadNewestAsync(Table, 2, 3, 0));
        Assert.Contains($"'{Table}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("shard 2", e.Message, StringComparison.Ordinal);
        Assert.Contains(checkpoints.ShardDirectory(Table, 2), e.Message, StringComparison.Ordinal);
        foreach (string p in paths)
        {
            Assert.Contains(Path.GetFileName(p), e.Message, StringComparison.Ordinal);
        }

        Assert.Contains("checksum mismatch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MismatchedFilesAreSkippedWithReasonsAndAnOlderGoodOneIsUsed()
    {
        const int dim = 4;
        var checkpoints = new DirectoryCheckpointStore(Root, keep: 10);
        string dir = checkpoints.ShardDirectory(Table, 1);
        var good = Checkpoint(Trained(OptimizerKind.Adam, dim, seed: 1), shard: 1);
        string goodPath = await checkpoints.WriteAsync(good);

        // Another table's checkpoint, and another shard's, copied in as if by a wrong volume mount or a botched restore.
        string otherTable = await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, dim, seed: 2), table: "other", shard: 1));
        string tablePath = CopyAs(otherTable, dir, 2);
        string otherShard = await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, dim, seed: 3), shard: 5));
        string shardPath = CopyAs(otherShard, dir, 3);

        // The table was recreated with another dim, then with another optimizer (Adagrad: 1 state slot).
        string dimPath = await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, dim + 2, seed: 4), shard: 1));
        string slotsPath = await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adagrad, dim, seed: 5), shard: 1));
        Assert.Equal([4L, 5L], new[] { Sequence(dimPath), Sequence(slotsPath) });

        var loaded = await checkpoints.ReadNewestAsync(Table, 1, dim, 2);
        Assert.NotNull(loaded);
        Assert.Equal(goodPath, loaded.Path);
        CheckpointAssert.Same(good, loaded.Checkpoint);
        Assert.Equal([slotsPath, dimPath, shardPath, tablePath], loaded.Skipped.Select(s => s.Path));
        var reasons = loaded.Skipped.Select(s => s.Reason).ToArray();
        Assert.Contains("state slots", reasons[0], StringComparison.Ordinal);
        Assert.Contains("1 optimizer state slots", reasons[0], StringComparison.Ordinal);
        Assert.Contains("dim 6", reasons[1], StringComparison.Ordinal);
        Assert.Contains("belongs to shard 5", reasons[2], StringComparison.Ordinal);
        Assert.Contains("belongs to table 'other'", reasons[3], StringComparison.Ordinal);

        // The same table read as Adagrad finds the newest file usable.
        var asAdagrad = await checkpoints.ReadNewestAsync(Table, 1, dim, 1);
        Assert.NotNull(asAdagrad);
        Assert.Equal(slotsPath, asAdagrad.Path);
        Assert.Empty(asAdagrad.Skipped);
    }

    [Fact]
    public async Task OnlyMismatchedFilesThrowWithEveryReason()
    {
        var checkpoints = new DirectoryCheckpointStore(Root, keep: 10);
        string dir = checkpoints.ShardDirectory(Table, 0);
        await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Sgd, 8, seed: 1)));
        string other = await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, 4, seed: 2), table: "other"));
        string copied = CopyAs(other, dir, 2);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => checkpoints.ReadNewestAsync(Table, 0, 4, 2));
        Assert.Contains("000000000001.psck: its rows have dim 8", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(copied) + ": it belongs to table 'other'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeepsTheNewestFilesWithIncreasingSequenceAndNoTemporaryFiles()
    {
        var checkpoints = new DirectoryCheckpointStore(Root, keep: 3);
        var store = Trained(OptimizerKind.Adam, 3, seed: 9);
        var written = new List<string>();
        ShardCheckpoint? last = null;
        for (int i = 0; i < 5; i++)
        {
            Advance(store, i);
            last = Checkpoint(store, shard: 7);
            written.Add(await checkpoints.WriteAsync(last));
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L], written.Select(Sequence));
        string dir = checkpoints.ShardDirectory(Table, 7);
        Assert.Equal(written.Skip(2), Directory.GetFiles(dir).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));

        var loaded = await checkpoints.ReadNewestAsync(Table, 7, 3, 2);
        Assert.NotNull(loaded);
        Assert.Equal(written[^1], loaded.Path);
        CheckpointAssert.Same(last!, loaded.Checkpoint);
    }

    [Fact]
    public async Task StaleTemporaryFilesAreIgnoredAndCleanedUp()
    {
        var checkpoints = new DirectoryCheckpointStore(Root);
        var store = Trained(OptimizerKind.Sgd, 3, seed: 4);
        string first = await checkpoints.WriteAsync(Checkpoint(store));
        string dir = Path.GetDirectoryName(first)!;

        // What a crash mid-write leaves: a partial file under a temporary name. Readers never see it.
        string stale = Path.Combine(dir, "000000000002.psck.tmp-" + Guid.NewGuid().ToString("N"));
        string recent = Path.Combine(dir, "000000000002.psck.tmp-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(stale, [1, 2, 3]);
        File.WriteAllBytes(recent, [1, 2, 3]);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));
        var loaded = await checkpoints.ReadNewestAsync(Table, 0, 3, 0);
        Assert.NotNull(loaded);
        Assert.Equal(first, loaded.Path);
        Assert.Empty(loaded.Skipped);

        Advance(store, 1);
        string second = await checkpoints.WriteAsync(Checkpoint(store));
        Assert.Equal(2, Sequence(second));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent), "a temporary file this recent may belong to a write in progress");
    }

    [Fact]
    public async Task NoCheckpointsGivesNullAndDeleteTableRemovesItsDirectoryOnly()
    {
        var checkpoints = new DirectoryCheckpointStore(Root);
        Assert.Null(await checkpoints.ReadNewestAsync(Table, 0, 4, 2));
        Directory.CreateDirectory(checkpoints.ShardDirectory(Table, 0));
        Assert.Null(await checkpoints.ReadNewestAsync(Table, 0, 4, 2));

        await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, 4, seed: 1), shard: 0));
        await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, 4, seed: 2), shard: 1));
        string kept = await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Adam, 4, seed: 3), table: "kept"));
        Assert.NotNull(await checkpoints.ReadNewestAsync(Table, 1, 4, 2));

        await checkpoints.DeleteTableAsync(Table);
        Assert.False(Directory.Exists(Path.Combine(Root, Table)));
        Assert.Null(await checkpoints.ReadNewestAsync(Table, 0, 4, 2));
        Assert.Null(await checkpoints.ReadNewestAsync(Table, 1, 4, 2));
        Assert.True(File.Exists(kept));
        Assert.True(Directory.Exists(Root));

        // Deleting a table that has no checkpoints is not an error.
        await checkpoints.DeleteTableAsync(Table);
        await checkpoints.DeleteTableAsync("never-existed");
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("...")]
    [InlineData("a/b")]
    [InlineData("../escape")]
    [InlineData("a\\b")]
    [InlineData("")]
    public async Task TableNamesThatWouldLeaveTheRootAreRefused(string table)
    {
        var checkpoints = new DirectoryCheckpointStore(Root);
        string sentinel = Path.Combine(_dir, "sentinel.txt");
        File.WriteAllText(sentinel, "outside the root");
        await checkpoints.WriteAsync(Checkpoint(Trained(OptimizerKind.Sgd, 2, seed: 1)));
        var c = Checkpoint(Trained(OptimizerKind.Sgd, 2, seed: 1), table: table);

        Assert.Throws<ArgumentException>(() => checkpoints.ShardDirectory(table, 0));
        await Assert.ThrowsAsync<ArgumentException>(() => checkpoints.WriteAsync(c));
        await Assert.ThrowsAsync<ArgumentException>(() => checkpoints.ReadNewestAsync(table, 0, 2, 0));
        await Assert.ThrowsAsync<ArgumentException>(() => checkpoints.DeleteTableAsync(table));

        Assert.True(File.Exists(sentinel));
        Assert.True(Directory.Exists(checkpoints.ShardDirectory(Table, 0)));
        Assert.Equal([Path.Combine(Root, Table)], Directory.GetDirectories(Root));
        Assert.Equal([sentinel], Directory.GetFiles(_dir));
    }

    [Fact]
    public void StoreSettingsAreValidated()
    {
        Assert.Throws<ArgumentException>(() => new DirectoryCheckpointStore(Root, keep: 0));
        Assert.ThrowsAny<ArgumentException>(() => new DirectoryCheckpointStore(" "));
        var checkpoints = new DirectoryCheckpointStore(Path.Combine(Root, "nested", "..", "x"), keep: 2);
        Assert.Equal(Path.Combine(Root, "x"), checkpoints.Root);
        Assert.True(Directory.Exists(checkpoints.Root));
        Assert.Equal(Path.Combine(Root, "x", Table, "shard-0012"), checkpoints.ShardDirectory(Table, 12));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(23)]
    [InlineData(24)]
    [InlineData(100)]
    [InlineData(4096)]
    public void RandomBytesAreNotACheckpoint(int length)
    {
        byte[] bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        bytes[0] = (byte)'X';
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFormat.Read(bytes));
        Assert.Contains("not a checkpoint file (bad magic bytes)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongMagicIsNotACheckpointEvenWithAValidChecksum()
    {
        byte[] bytes = Serialize(Checkpoint(Trained(OptimizerKind.Adam, 3, seed: 1)));
        bytes[7] = 2;
        Reseal(bytes);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFormat.Read(bytes));
        Assert.Contains("bad magic", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(-1)]
    public void AnotherFormatVersionIsNamed(int version)
    {
        byte[] bytes = Serialize(Checkpoint(Trained(OptimizerKind.Adam, 3, seed: 1)));
        Assert.Equal(CheckpointFormat.Version, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), version);
        Reseal(bytes);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFormat.Read(bytes));
        Assert.Equal($"format version {version}; this build reads version {CheckpointFormat.Version}", e.Message);
    }

    [Fact]
    public void EveryTruncationAndEveryFlippedByteIsDetected()
    {
        var store = Trained(OptimizerKind.Adagrad, 2, seed: 8, pushes: 1);
        store.SetLabel(1, "ü");
        byte[] bytes = Serialize(Checkpoint(store));
        CheckpointAssert.SameRows(store.TakeSnapshot(), CheckpointFormat.Read(bytes).Rows);
        for (int length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<InvalidDataException>(() => CheckpointFormat.Read(bytes.AsSpan(0, length)));
            Assert.True(
                e.Message.Contains("checksum", StringComparison.Ordinal) || e.Message.Contains("truncated", StringComparison.Ordinal),
                $"{length} of {bytes.Length} bytes: {e.Message}");
        }

        for (int at = 0; at < bytes.Length; at++)
        {
            byte[] copy = (byte[])bytes.Clone();
            copy[at] ^= 1;
            Assert.Throws<InvalidDataException>(() => CheckpointFormat.Read(copy));
        }
    }

    [Fact]
    public void BytesAfterTheRowsAreRefusedEvenWithAValidChecksum()
    {
        byte[] bytes = Serialize(Checkpoint(Trained(OptimizerKind.Sgd, 3, seed: 1)));
        byte[] longer = [.. bytes.AsSpan(0, bytes.Length - 8), 0, 0, 0, 0, 0, 0, 0, 0, .. bytes.AsSpan(bytes.Length - 8)];
        Reseal(longer);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointFormat.Read(longer));
        Assert.Contains("8 unexpected bytes after the rows", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRefusesArraysThatDoNotMatchTheLayout()
    {
        var rows = Trained(OptimizerKind.Adam, 3, seed: 1).TakeSnapshot();
        var c = new ShardCheckpoint(Table, 0, 3, 1, rows, DateTimeOffset.UtcNow);
        var e = Assert.Throws<ArgumentException>(() => CheckpointFormat.Write(c, new MemoryStream()));
        Assert.Contains("1 state slots", e.Message, StringComparison.Ordinal);
        var withLabels = new ShardCheckpoint(Table, 0, 3, 2, rows with { Labels = ["only one"] }, DateTimeOffset.UtcNow);
        Assert.Throws<ArgumentException>(() => CheckpointFormat.Write(withLabels, new MemoryStream()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task EmptyStoreRoundTrips(OptimizerKind kind)
    {
        var empty = new ShardStore(5, Normal, Settings(kind));
        var original = Checkpoint(empty, shard: 0);
        Assert.Empty(original.Rows.Ids);
        Assert.Null(original.Rows.Labels);

        var checkpoints = new DirectoryCheckpointStore(Root);
        await checkpoints.WriteAsync(original);
        var loaded = await checkpoints.ReadNewestAsync(Table, 0, 5, Settings(kind).StateSlots);
        Assert.NotNull(loaded);
        CheckpointAssert.Same(original, loaded.Checkpoint);

        // A store with rows goes back to empty when restored from it, and then behaves like a fresh one.
        var restored = Trained(kind, 5, seed: 2);
        restored.SetLabel(1, "gone");
        restored.Restore(loaded.Checkpoint.Rows);
        Assert.Equal(0, restored.Count);
        Assert.Equal(0, restored.TotalSteps);
        Assert.Null(restored.TakeSnapshot().Labels);
        var fresh = new ShardStore(5, Normal, Settings(kind));
        long[] ids = [1, 2, 3];
        float[] g = Gradients(new Random(3), ids.Length * 5);
        fresh.Push(ids, g);
        restored.Push(ids, g);
        CheckpointAssert.SameRows(fresh.TakeSnapshot(), restored.TakeSnapshot());
    }
}
