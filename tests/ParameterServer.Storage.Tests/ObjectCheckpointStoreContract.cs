using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Storage.Tests;

/// <summary>
/// What every object store must do for checkpoints, run against a real server (Azurite, s3rver): round trip, a torn or
/// corrupt newest object skipped for the previous one, keep-N, table records, deletion of a table and nothing else.
/// Each test works under its own prefix of one shared container or bucket.
/// </summary>
public abstract class ObjectCheckpointStoreContract
{
    private readonly string _prefix = $"test-{Guid.NewGuid():N}/";
    private IObjectStore? _objects;

    /// <summary>The store under test: the shared container or bucket, checked writable.</summary>
    protected IObjectStore Objects => _objects ??= Ready(Create("checkpoints"));

    /// <summary>A store over the container or bucket <paramref name="name"/> of the running emulator.</summary>
    protected abstract IObjectStore Create(string name);

    private static IObjectStore Ready(IObjectStore objects)
    {
        objects.EnsureWritableAsync("", default).GetAwaiter().GetResult();
        return objects;
    }

    private ObjectCheckpointStore Store(int keep = 3) => new(Objects, _prefix, keep);

    protected async Task RoundTripIsExact()
    {
        var store = Store();
        var original = CheckpointData.Of(CheckpointData.Trained(dim: 7, seed: 1), shard: 3);
        string where = await store.WriteAsync(original);
        Assert.StartsWith(store.Describe(CheckpointData.Table, 3), where, StringComparison.Ordinal);

        var loaded = await store.ReadNewestAsync(CheckpointData.Table, 3, 7, original.StateSlots);
        Assert.NotNull(loaded);
        Assert.Equal(where, loaded.Path);
        Assert.Empty(loaded.Skipped);
        CheckpointAssert.Same(original, loaded.Checkpoint);
        Assert.Null(await store.ReadNewestAsync(CheckpointData.Table, 4, 7, original.StateSlots));
        Assert.Null(await store.ReadNewestAsync("never-written", 0, 7, original.StateSlots));
    }

    protected async Task TornNewestFallsBackToThePrevious(string tear)
    {
        var store = Store();
        var shard = CheckpointData.Trained(dim: 4, seed: 2);
        var older = CheckpointData.Of(shard, shard: 1);
        string olderWhere = await store.WriteAsync(older);
        shard.Push([1, 2], [.. Enumerable.Repeat(0.5f, 8)]);
        string newestWhere = await store.WriteAsync(CheckpointData.Of(shard, shard: 1));
        Assert.NotEqual(olderWhere, newestWhere);

        // Replace the newest object as a torn upload or a corrupted disk would leave it.
        string newestKey = Assert.Single(await Objects.ListAsync(store.ShardPrefix(CheckpointData.Table, 1), default), k => Objects.Describe(k) == newestWhere);
        byte[] bytes = (await Objects.GetAsync(newestKey, default))!;
        byte[] torn = tear switch
        {
            "half" => bytes[..(bytes.Length / 2)],
            "empty" => [],
            "last byte cut" => bytes[..^1],
            _ => Flip(bytes, bytes.Length / 2),
        };
        await Put(newestKey, torn, onlyIfAbsent: false);

        var loaded = await store.ReadNewestAsync(CheckpointData.Table, 1, 4, older.StateSlots);
        Assert.NotNull(loaded);
        Assert.Equal(olderWhere, loaded.Path);
        CheckpointAssert.Same(older, loaded.Checkpoint);
        var (skipped, reason) = Assert.Single(loaded.Skipped);
        Assert.Equal(newestWhere, skipped);
        Assert.True(reason.Contains("checksum", StringComparison.OrdinalIgnoreCase) || reason.Contains("truncated", StringComparison.OrdinalIgnoreCase), reason);

        // With the older one torn too, nothing is usable: an error naming the table, the shard, the store and both objects.
        string olderKey = (await Objects.ListAsync(store.ShardPrefix(CheckpointData.Table, 1), default)).Single(k => k != newestKey);
        await Put(olderKey, bytes[..10], onlyIfAbsent: false);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => store.ReadNewestAsync(CheckpointData.Table, 1, 4, older.StateSlots));
        Assert.Contains($"'{CheckpointData.Table}' shard 1", e.Message, StringComparison.Ordinal);
        Assert.Contains(store.Describe(CheckpointData.Table, 1), e.Message, StringComparison.Ordinal);
        Assert.Contains(newestKey[(newestKey.LastIndexOf('/') + 1)..], e.Message, StringComparison.Ordinal);
        Assert.Contains(olderKey[(olderKey.LastIndexOf('/') + 1)..], e.Message, StringComparison.Ordinal);
    }

    protected async Task KeepsTheNewestN()
    {
        var store = Store(keep: 2);
        var shard = CheckpointData.Trained(dim: 3, seed: 3);
        var written = new List<string>();
        ShardCheckpoint last = null!;
        for (int i = 0; i < 5; i++)
        {
            shard.Push([1], [i, i, i]);
            last = CheckpointData.Of(shard, shard: 2);
            written.Add(await store.WriteAsync(last));
        }

        var keys = await Objects.ListAsync(store.ShardPrefix(CheckpointData.Table, 2), default);
        Assert.Equal(written[3..].Order(StringComparer.Ordinal), keys.Select(Objects.Describe).Order(StringComparer.Ordinal));
        Assert.EndsWith("000000000005.psck", written[4], StringComparison.Ordinal);
        var loaded = await store.ReadNewestAsync(CheckpointData.Table, 2, 3, last.StateSlots);
        Assert.NotNull(loaded);
        CheckpointAssert.Same(last, loaded.Checkpoint);
    }

    protected async Task RecordsListAndDeleteTouchOnlyTheirTable()
    {
        var store = Store();
        await store.WriteTableRecordAsync("alpha", "{\"v\":1}"u8.ToArray());
        await store.WriteTableRecordAsync("alpha", "{\"v\":2}"u8.ToArray());
        await store.WriteTableRecordAsync("beta.2", "{}"u8.ToArray());
        await store.WriteAsync(CheckpointData.Of(CheckpointData.Trained(2, 4), table: "alpha"));
        await store.WriteAsync(CheckpointData.Of(CheckpointData.Trained(2, 5), table: "beta.2", shard: 1));
        await store.WriteAsync(CheckpointData.Of(CheckpointData.Trained(2, 6), table: "gamma"));

        Assert.Equal("{\"v\":2}"u8.ToArray(), await store.ReadTableRecordAsync("alpha"));
        Assert.Null(await store.ReadTableRecordAsync("gamma"));
        Assert.Equal(["alpha", "beta.2"], await store.ListTableRecordsAsync());

        await store.DeleteTableAsync("alpha");
        Assert.Null(await store.ReadTableRecordAsync("alpha"));
        Assert.Null(await store.ReadNewestAsync("alpha", 0, 2, 2));
        Assert.Equal(["beta.2"], await store.ListTableRecordsAsync());
        Assert.NotNull(await store.ReadNewestAsync("beta.2", 1, 2, 2));
        Assert.NotNull(await store.ReadNewestAsync("gamma", 0, 2, 2));
    }

    protected async Task ASequenceTakenByAnotherWriterIsNotOverwritten()
    {
        var store = Store();
        var shard = CheckpointData.Trained(dim: 2, seed: 7);
        await store.WriteAsync(CheckpointData.Of(shard));
        // Another activation of the shard (a move in progress) published sequence 2 after this writer listed.
        string taken = store.ShardPrefix(CheckpointData.Table, 0) + "000000000002.psck";
        byte[] theirs = [1, 2, 3];
        Assert.True(await Put(taken, theirs, onlyIfAbsent: true));
        Assert.False(await Put(taken, [9], onlyIfAbsent: true));
        Assert.Equal(theirs, await Objects.GetAsync(taken, default));
    }

    protected async Task SilosStartingTogetherAllPassTheCheckOfANewStore()
    {
        string name = $"race-{Guid.NewGuid():N}"[..30];
        var stores = Enumerable.Range(0, 4).Select(_ => new ObjectCheckpointStore(Create(name), "")).ToArray();
        await Task.WhenAll(stores.Select(s => s.EnsureWritableAsync()));
        Assert.Empty(await Create(name).ListAsync("", default));
    }

    private async Task<bool> Put(string key, byte[] bytes, bool onlyIfAbsent)
    {
        await using var content = new MemoryStream(bytes, writable: false);
        return await Objects.PutAsync(key, content, onlyIfAbsent, default);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        byte[] copy = [.. bytes];
        copy[at] ^= 0x5A;
        return copy;
    }
}
