using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Client.Query;
using ParameterServer.Core.Data;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;
using ParameterServer.Core.Storage.Checkpoints;


namespace ParameterServer.Grains.Tests;

/// <summary>
/// One test per bad input: each checks the exception type, that the message names what is wrong and where, and,
/// where rows exist, that no stored row changed.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class BadInputCatalogueTests(ClusterFixture fixture)
{
    private QueryClient Query => new(fixture.Client);

    private static TableSpec Spec(string name, int dim = 4, int shards = 4) => new()
    {
        Name = name,
        Dim = dim,
        Shards = shards,
        Seed = 7,
        InitScale = 0.1f,
        Optimizer = OptimizerKind.Sgd,
        LearningRate = 0.1f,
    };

    private static long[] Ids(int n, int seed)
    {
        var rng = new Random(seed);
        var set = new HashSet<long>();
        while (set.Count < n)
        {
            set.Add(rng.NextInt64(-1_000_000_000_000, 1_000_000_000_000));
        }

        return [.. set];
    }

    private static async Task<float[]> Pull(TableClient t, long[] ids)
    {
        var dest = new float[ids.Length * t.Dim];
        await t.PullAsync(ids, dest);
        return dest;
    }

    /// <summary>A table with <paramref name="rows"/> rows already created (pulled once) and one good push applied.</summary>
    private async Task<(TableClient Table, long[] Ids)> TableWithRows(string stem, int dim = 4, int shards = 4, int rows = 64)
    {
        var table = await fixture.Client.CreateTableAsync(Spec(ClusterFixture.UniqueName(stem), dim, shards));
        var ids = Ids(rows, rows + dim);
        await Pull(table, ids);
        await table.PushAsync(ids, Enumerable.Range(0, rows * dim).Select(i => (i % 7) / 8f).ToArray());
        return (table, ids);
    }

    /// <summary>Runs <paramref name="bad"/> and checks it fails with <typeparamref name="T"/> leaving every row and the step count as they were.</summary>
    private async Task<T> AssertRefusedUnchanged<T>(TableClient table, long[] ids, Func<Task> bad)
        where T : Exception
    {
        var before = await Pull(table, ids);
        var infoBefore = await fixture.Client.DescribeAsync(table.Spec.Name);
        var e = await Assert.ThrowsAsync<T>(bad);
        var after = await Pull(table, ids);
        var infoAfter = await fixture.Client.DescribeAsync(table.Spec.Name);
        Assert.Equal(before, after);
        Assert.Equal(infoBefore.Rows, infoAfter.Rows);
        Assert.Equal(infoBefore.OptimizerSteps, infoAfter.OptimizerSteps);
        return e;
    }

    private static string TempFile(string contents)
    {
        string path = Path.Combine(Path.GetTempPath(), "ps-bad-" + Guid.NewGuid().ToString("N") + ".csv");
        File.WriteAllText(path, contents);
        return path;
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "ps-bad-ckpt-" + Guid.NewGuid().ToString("N"));

    private static ShardCheckpoint Checkpoint(string table, int dim)
    {
        var store = new ShardStore(dim, new RowInitializer(InitializerKind.Normal, 0.1f, 3), new OptimizerSettings(OptimizerKind.Sgd, 0.1f));
        store.Pull([1, 2, 3], new float[3 * dim]);
        return new ShardCheckpoint(table, 0, dim, 0, store.TakeSnapshot(), DateTimeOffset.UtcNow);
    }

    // ---- table names ----

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("a b", "Table name 'a b' has illegal characters")]
    [InlineData("a/b", "Table name 'a/b' has illegal characters")]
    [InlineData(".", "Table name '.' must have a letter, digit")]
    [InlineData("..", "Table name '..' must have a letter, digit")]
    public async Task Bad_table_name_is_refused(string name, string fragment)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name)));
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Fact]
    public async Task Table_name_longer_than_the_limit_is_refused()
    {
        string name = new('n', TableSpec.MaxNameLength + 1);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name)));
        Assert.Contains($"is {TableSpec.MaxNameLength + 1} characters long; the limit is {TableSpec.MaxNameLength}", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    // ---- dim and shards ----

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(TableSpec.MaxDim + 1)]
    public async Task Dim_out_of_range_is_refused(int dim)
    {
        string name = ClusterFixture.UniqueName("dim");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, dim)));
        Assert.Contains($"Table '{name}': dim {dim} is out of range", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(TableSpec.MaxShards + 1)]
    public async Task Shard_count_out_of_range_is_refused(int shards)
    {
        string name = ClusterFixture.UniqueName("shards");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name, 4, shards)));
        Assert.Contains($"Table '{name}': shard count {shards} is out of range", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Fact]
    public async Task Existing_table_recreated_with_another_dim_is_refused()
    {
        var (table, ids) = await TableWithRows("redim", dim: 4);
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => fixture.Client.CreateTableAsync(Spec(table.Spec.Name, 8)));
        Assert.Contains($"Table '{table.Spec.Name}' already exists and it has dim 4, not 8", e.Message);
        Assert.Equal(4, (await fixture.Client.DescribeAsync(table.Spec.Name)).Spec.Dim);
    }

    // ---- unknown tables ----

    [Fact]
    public async Task Open_of_an_unknown_table_is_refused()
    {
        string name = ClusterFixture.UniqueName("nosuch");
        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => fixture.Client.OpenTableAsync(name));
        Assert.Contains($"Unknown table '{name}'", e.Message);
    }

    [Fact]
    public async Task Describe_of_an_unknown_table_is_refused()
    {
        string name = ClusterFixture.UniqueName("nosuch");
        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => fixture.Client.DescribeAsync(name));
        Assert.Contains($"Unknown table '{name}'", e.Message);
    }

    [Fact]
    public async Task Search_of_an_unknown_table_is_refused()
    {
        string name = ClusterFixture.UniqueName("nosuch");
        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => Query.SearchAsync(name, new float[4], 4, 5, SimilarityMetric.Dot));
        Assert.Contains($"Unknown table '{name}'", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    // ---- wrong value lengths ----

    [Fact]
    public async Task Push_with_too_few_gradients_is_refused()
    {
        var (table, ids) = await TableWithRows("short");
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => table.PushAsync(ids, new float[(ids.Length * 4) - 1]));
        Assert.Contains($"Push to table '{table.Spec.Name}': {(ids.Length * 4) - 1} gradient values for {ids.Length} rows of dim 4", e.Message);
    }

    [Fact]
    public async Task Direct_shard_push_whose_block_rows_differ_from_the_ids_is_refused()
    {
        var (table, ids) = await TableWithRows("blockrows", shards: 1);
        var shard = fixture.Grains.GetGrain<IShardGrain>(ShardKey.Of(table.Spec.Name, 0));
        long[] three = ids[..3];
        var block = RowBlock.From(new float[2 * 4], 2, 4);
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => shard.Push(new PushRequest(three, block)));
        Assert.Contains($"Push to table '{table.Spec.Name}' shard 0 refused: 2 gradient rows of dim 4 for 3 ids", e.Message);
    }

    // ---- non-finite and duplicate pushes ----

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public async Task Non_finite_gradient_refuses_the_whole_push_on_every_shard(float bad)
    {
        var (table, ids) = await TableWithRows("nonfinite", shards: 8);
        var grads = Enumerable.Repeat(0.5f, ids.Length * 4).ToArray();
        int at = ((ids.Length - 1) * 4) + 2;
        grads[at] = bad;
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => table.PushAsync(ids, grads));
        Assert.Contains($"Push to table '{table.Spec.Name}' refused: gradient of row id {ids[^1]} (position {ids.Length - 1}, component 2)", e.Message);
        Assert.Contains("No row was changed", e.Message);
    }

    [Fact]
    public async Task Duplicate_ids_in_a_push_are_refused_not_summed()
    {
        var (table, ids) = await TableWithRows("dupes", shards: 8);
        long[] withRepeat = [.. ids, ids[5]];
        var grads = Enumerable.Repeat(0.25f, withRepeat.Length * 4).ToArray();
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => table.PushAsync(withRepeat, grads));
        Assert.Contains($"row id {ids[5]} appears more than once (again at position {ids.Length})", e.Message);
        Assert.Contains("No row was changed", e.Message);
    }

    // ---- oversize searches ----

    [Fact]
    public async Task Search_with_more_than_the_most_query_vectors_is_refused()
    {
        var (table, ids) = await TableWithRows("manyq");
        var queries = new float[(QueryLimits.MaxQueries + 1) * 4];
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => Query.SearchAsync(table.Spec.Name, queries, 4, 5, SimilarityMetric.Dot));
        Assert.Contains($"Search of table '{table.Spec.Name}' refused: {QueryLimits.MaxQueries + 1} query vectors", e.Message);
    }

    [Theory]
    [InlineData(QueryLimits.MaxK + 1)]
    [InlineData(0)]
    public async Task Search_with_k_out_of_range_is_refused(int k)
    {
        var (table, ids) = await TableWithRows("bigk");
        var e = await AssertRefusedUnchanged<ArgumentException>(table, ids, () => Query.SearchAsync(table.Spec.Name, new float[4], 4, k, SimilarityMetric.Dot));
        Assert.Contains($"Search of table '{table.Spec.Name}' refused: k must be between 1 and {QueryLimits.MaxK}; got {k}", e.Message);
    }

    // ---- optimizer settings ----

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(0f)]
    [InlineData(float.NaN)]
    [InlineData(1e9f)]
    public async Task Learning_rate_out_of_range_is_refused_by_table_spec(float lr)
    {
        string name = ClusterFixture.UniqueName("lr");
        var spec = Spec(name) with { LearningRate = lr };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(spec));
        Assert.Contains($"Table '{name}': Learning rate {lr} is out of range", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Fact]
    public async Task Negative_weight_decay_is_refused_by_table_spec()
    {
        string name = ClusterFixture.UniqueName("wd");
        var spec = Spec(name) with { WeightDecay = -0.1f };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(spec));
        Assert.Contains($"Table '{name}': Weight decay {-0.1f} is out of range", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Theory]
    [InlineData(1e9f, 0f, "Learning rate")]
    [InlineData(0.01f, -0.1f, "Weight decay")]
    public void Optimizer_settings_validation_refuses(float lr, float decay, string fragment)
    {
        var e = Assert.Throws<ArgumentException>(() => new OptimizerSettings(OptimizerKind.Adam, lr, decay).Validate());
        Assert.Contains(fragment, e.Message);
        Assert.Contains("is out of range", e.Message);
    }

    // ---- malformed ratings files ----

    [Theory]
    [InlineData("userId,movieId,rating\n1,2,4.0\n3,4\n", ":3: expected at least 3 fields")]
    [InlineData("userId,movieId,rating\n1,2,four\n", ":2: rating 'four' in column 2 is not a finite number")]
    [InlineData("", "the file is empty; expected a header line")]
    [InlineData("userId,movieId,score\n1,2,4.0\n", ":1: no rating column 'rating'; the header has: userId, movieId, score")]
    public void Malformed_ratings_file_is_refused_naming_file_and_line(string contents, string fragment)
    {
        string path = TempFile(contents);
        try
        {
            var e = Assert.Throws<DataFormatException>(() => RatingsReader.Read(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(fragment, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Missing_ratings_file_is_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), "ps-bad-" + Guid.NewGuid().ToString("N") + ".csv");
        var e = Assert.Throws<FileNotFoundException>(() => RatingsReader.Read(path));
        Assert.Contains($"Ratings file '{path}' does not exist", e.Message);
        Assert.Equal(path, e.FileName);
    }

    // ---- unreadable checkpoints ----

    [Fact]
    public async Task Garbage_checkpoint_file_is_refused_naming_the_file()
    {
        string root = TempDir();
        try
        {
            var store = new DirectoryCheckpointStore(root);
            string dir = store.ShardDirectory("garbage", 0);
            Directory.CreateDirectory(dir);
            await File.WriteAllBytesAsync(Path.Combine(dir, "000000000001.psck"), Enumerable.Range(0, 200).Select(i => (byte)(i * 31)).ToArray());
            var e = await Assert.ThrowsAsync<InvalidDataException>(() => store.ReadNewestAsync("garbage", 0, 4, 0));
            Assert.Contains("No usable checkpoint of table 'garbage' shard 0", e.Message);
            Assert.Contains("000000000001.psck: not a checkpoint file (bad magic bytes)", e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Checkpoint_of_another_table_is_skipped_with_its_reason()
    {
        string root = TempDir();
        try
        {
            var store = new DirectoryCheckpointStore(root);
            string good = await store.WriteAsync(Checkpoint("mine", 4));
            string foreign = await store.WriteAsync(Checkpoint("other", 4));
            File.Copy(foreign, Path.Combine(store.ShardDirectory("mine", 0), "000000000002.psck"));
            var loaded = await store.ReadNewestAsync("mine", 0, 4, 0);
            Assert.NotNull(loaded);
            Assert.Equal(good, loaded.Path);
            var (path, reason) = Assert.Single(loaded.Skipped);
            Assert.EndsWith("000000000002.psck", path);
            Assert.Equal("it belongs to table 'other'", reason);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Checkpoint_of_another_dim_is_refused_with_its_reason()
    {
        string root = TempDir();
        try
        {
            var store = new DirectoryCheckpointStore(root);
            await store.WriteAsync(Checkpoint("mine", 4));
            var e = await Assert.ThrowsAsync<InvalidDataException>(() => store.ReadNewestAsync("mine", 0, 8, 0));
            Assert.Contains("No usable checkpoint of table 'mine' shard 0", e.Message);
            Assert.Contains("000000000001.psck: its rows have dim 4, the table has dim 8", e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData(1e30f)]
    [InlineData(10.5f)]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    public async Task Absurd_init_scale_is_refused_by_table_spec(float scale)
    {
        string name = ClusterFixture.UniqueName("scale");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name) with { InitScale = scale }));
        Assert.Contains($"Table '{name}': initializer Normal with scale {scale} is not valid; the scale must be in [0, 10]", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }

    [Theory]
    [InlineData(1e30f)]
    [InlineData(2f)]
    [InlineData(0f)]
    [InlineData(float.PositiveInfinity)]
    public async Task Absurd_epsilon_is_refused_by_table_spec(float epsilon)
    {
        string name = ClusterFixture.UniqueName("eps");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.CreateTableAsync(Spec(name) with { Epsilon = epsilon }));
        Assert.Contains($"Table '{name}': Epsilon {epsilon} is out of range: it must be in (0, 1]", e.Message);
        Assert.DoesNotContain(name, await fixture.Client.ListTablesAsync());
    }
}
