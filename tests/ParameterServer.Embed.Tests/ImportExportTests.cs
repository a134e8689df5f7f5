using System.Globalization;
using System.Text;
using System.Text.Json;
using ParameterServer.Client;
using ParameterServer.Core.Data;
using ParameterServer.Core.Export;
using ParameterServer.Embed.Transfer;
using StableHash = ParameterServer.Core.Hashing.StableHash;

namespace ParameterServer.Embed.Tests;

/// <summary>
/// embed import and export against a real in-process cluster: files generated here are imported, exported in
/// every format and read back by parsers of this test, and compared value by value (bitwise) with the source
/// file and with a scan of the table.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ImportExportTests(ClusterFixture fixture) : IDisposable
{
    private const int Dim = 7;

    private static readonly string[] Glyphs = ["a", "b", "k", "z", "é", "ß", "ñ", "ж", "я", "猫", "犬", "語", "😀", "🚀", "ا", "ש", "-", "'", "0"];

    private readonly string _dir = Directory.CreateTempSubdirectory("ps-io-").FullName;

    private ParameterServerClient Client => fixture.Client;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Distinct words of 1 to 8 glyphs (unicode, surrogate pairs included) with random vectors of every magnitude.</summary>
    private static List<(string Word, float[] Values)> Vectors(int n, int dim, int seed)
    {
        var rng = new Random(seed);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<(string, float[])>(n);
        while (list.Count < n)
        {
            string word = string.Concat(Enumerable.Range(0, rng.Next(1, 9)).Select(_ => Glyphs[rng.Next(Glyphs.Length)]));
            if (used.Add(word))
            {
                list.Add((word, Enumerable.Range(0, dim).Select(_ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-30, 30)))).ToArray()));
            }
        }

        return list;
    }

    private string WriteFile(IEnumerable<(string Word, float[] Values)> vectors, bool header, string name = "vectors.txt", Func<int, string?>? replaceLine = null)
    {
        var list = vectors.ToList();
        var sb = new StringBuilder();
        if (header)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{list.Count} {list[0].Values.Length}\n");
        }

        for (int i = 0; i < list.Count; i++)
        {
            string? replaced = replaceLine?.Invoke(i);
            // Shortest round trip for most values, other spellings for some: the parser must take them all.
            sb.Append(replaced ?? list[i].Word + string.Concat(list[i].Values.Select((v, j) => " " + v.ToString((i + j) % 5 == 0 ? "E9" : "R", CultureInfo.InvariantCulture))));
            sb.Append('\n');
        }

        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
        return path;
    }

    /// <summary>word → vector of a word2vec text or GloVe file, by splitting on spaces: the test's own reader.</summary>
    private static Dictionary<string, float[]> ParseWordFile(string path, bool header, int expectedDim)
    {
        var map = new Dictionary<string, float[]>(StringComparer.Ordinal);
        string[] lines = File.ReadAllLines(path, Encoding.UTF8);
        if (header)
        {
            var h = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal([(lines.Length - 1).ToString(CultureInfo.InvariantCulture), expectedDim.ToString(CultureInfo.InvariantCulture)], h);
        }

        foreach (string line in lines.Skip(header ? 1 : 0))
        {
            string[] f = line.Split(' ');
            Assert.Equal(expectedDim + 1, f.Length);
            Assert.True(map.TryAdd(f[0], f[1..].Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray()), $"word {f[0]} twice");
        }

        return map;
    }

    private static void AssertSameVectors(IReadOnlyDictionary<string, float[]> expected, IReadOnlyDictionary<string, float[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (word, values) in expected)
        {
            Assert.True(values.Select(BitConverter.SingleToInt32Bits).SequenceEqual(actual[word].Select(BitConverter.SingleToInt32Bits)), $"vector of '{word}' differs");
        }
    }

    private static async Task<Dictionary<long, (float[] Values, string? Label)>> Scan(TableClient table)
    {
        var rows = new Dictionary<long, (float[], string?)>();
        await foreach (var page in table.ScanAsync())
        {
            for (int i = 0; i < page.Ids.Length; i++)
            {
                rows.Add(page.Ids[i], (page.Values.Values.Slice(i * table.Dim, table.Dim).ToArray(), page.Labels[i]));
            }
        }

        return rows;
    }

    private Task<ImportResult> Import(string file, VectorTextFormat format, string table, bool skip = false) =>
        EmbeddingImport.RunAsync(Client, new ImportRequest { File = file, Format = format, Table = table, SkipBadLines = skip, BatchRows = 300 });

    private async Task<(string Table, Dictionary<string, float[]> Source)> Imported(int rows = 1000, int seed = 1)
    {
        var vectors = Vectors(rows, Dim, seed);
        string file = WriteFile(vectors, header: true, name: $"source-{seed}.txt");
        string table = ClusterFixture.UniqueName("io");
        var result = await Import(file, VectorTextFormat.Word2VecText, table);
        Assert.Equal((rows, 0L, true, Dim), (result.Rows, result.BadLines, result.Created, result.Dim));
        return (table, ParseWordFile(file, header: true, Dim));
    }

    [Theory]
    [InlineData(VectorTextFormat.Word2VecText)]
    [InlineData(VectorTextFormat.GloVe)]
    public async Task Vectors_round_trip_through_word2vec_text_bit_for_bit(VectorTextFormat format)
    {
        bool header = format == VectorTextFormat.Word2VecText;
        var vectors = Vectors(1000, Dim, (int)format + 10);
        string file = WriteFile(vectors, header);
        string table = ClusterFixture.UniqueName("w2v");
        var imported = await Import(file, format, table);
        Assert.Equal(1000, imported.Rows);

        var exported = await EmbeddingExport.RunAsync(Client, table, ExportFormat.Word2VecText, Path.Combine(_dir, "out"));
        Assert.Equal(1000, exported.Rows);
        string path = Path.Combine(_dir, "out", $"{table}.word2vec.txt");
        Assert.Equal((path, new FileInfo(path).Length), Assert.Single(exported.Files));
        AssertSameVectors(ParseWordFile(file, header, Dim), ParseWordFile(path, header: true, Dim));
        Assert.Equal(vectors.ToDictionary(v => v.Word, v => v.Values), ParseWordFile(path, header: true, Dim));

        // Row ids are the stable hashes of the words, and the words are the labels.
        var rows = await Scan(await Client.OpenTableAsync(table));
        Assert.Equal(vectors.Select(v => (StableHash.Of(v.Word), v.Word)).Order(), rows.Select(r => (r.Key, r.Value.Label!)).Order());
    }

    [Fact]
    public async Task Npy_holds_every_row_with_ids_and_labels_in_the_same_order()
    {
        var (table, source) = await Imported();
        var scanned = await Scan(await Client.OpenTableAsync(table));
        // Small pages: many pages per shard, fetched while the previous one is written.
        var result = await EmbeddingExport.RunAsync(Client, table, ExportFormat.Npy, _dir, pageRows: 37);
        Assert.Equal(3, result.Files.Count);
        Assert.Equal(result.Files.Sum(f => new FileInfo(f.Path).Length), result.Bytes);

        var values = NpyArray.Read(Path.Combine(_dir, $"{table}.npy"));
        Assert.False(values.FortranOrder);
        Assert.Equal([1000, Dim], values.Shape);
        float[] data = values.Floats();
        long[] ids = NpyArray.Read(Path.Combine(_dir, $"{table}.ids.npy")).Int64s();
        string[] labels = File.ReadAllLines(Path.Combine(_dir, $"{table}.labels.txt"), Encoding.UTF8);
        Assert.Equal(1000, ids.Length);
        Assert.Equal(1000, labels.Length);
        Assert.Equal(scanned.Keys.Order(), ids.Order());
        for (int r = 0; r < ids.Length; r++)
        {
            float[] row = data.AsSpan(r * Dim, Dim).ToArray();
            Assert.Equal(StableHash.Of(labels[r]), ids[r]);
            Assert.Equal(scanned[ids[r]].Values, row);
            Assert.True(source[labels[r]].Select(BitConverter.SingleToInt32Bits).SequenceEqual(row.Select(BitConverter.SingleToInt32Bits)), $"row {r} ('{labels[r]}') differs from the file");
        }
    }

    [Fact]
    public async Task Projector_files_agree_with_each_other_and_the_table()
    {
        var (table, source) = await Imported(rows: 200, seed: 2);
        var result = await EmbeddingExport.RunAsync(Client, table, ExportFormat.Projector, _dir);
        Assert.Equal(["vectors.tsv", "metadata.tsv", "projector_config.json"], result.Files.Select(f => Path.GetFileName(f.Path)));
        string[] vectors = File.ReadAllLines(Path.Combine(_dir, "vectors.tsv"));
        string[] metadata = File.ReadAllLines(Path.Combine(_dir, "metadata.tsv"), Encoding.UTF8);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "projector_config.json")));
        var embedding = Assert.Single(config.RootElement.GetProperty("embeddings").EnumerateArray());
        int[] shape = embedding.GetProperty("tensorShape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(table, embedding.GetProperty("tensorName").GetString());
        Assert.Equal([200, Dim], shape);
        Assert.Equal(shape[0], vectors.Length);
        Assert.Equal(shape[0], metadata.Length);
        for (int r = 0; r < vectors.Length; r++)
        {
            float[] row = vectors[r].Split('\t').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(shape[1], row.Length);
            Assert.Equal(source[metadata[r]], row);
        }
    }

    [Fact]
    public async Task Csv_parses_back_to_the_same_rows()
    {
        var (table, source) = await Imported(rows: 300, seed: 3);
        await EmbeddingExport.RunAsync(Client, table, ExportFormat.Csv, _dir);
        var records = CsvReference.Parse(File.ReadAllText(Path.Combine(_dir, $"{table}.csv"), Encoding.UTF8));
        Assert.Equal(["id", "label", .. Enumerable.Range(0, Dim).Select(j => $"v{j}")], records[0]);
        Assert.Equal(301, records.Count);
        foreach (var r in records.Skip(1))
        {
            Assert.Equal(StableHash.Of(r[1]), long.Parse(r[0], CultureInfo.InvariantCulture));
            Assert.Equal(source[r[1]], r[2..].Select(s => float.Parse(s, CultureInfo.InvariantCulture)));
        }
    }

    public static TheoryData<int, string, string> Malformed => new()
    {
        { 2, "short 1 2 3", "expected the word and 7 values, found 3 values after 'short'" },
        { 900, "long 1 2 3 4 5 6 7 8", "found 8 values" },
        { 500, "text 1 2 3 four 5 6 7", "value 4 'four' is not a number" },
        { 999, "nan 1 2 3 4 5 6 NaN", "value 7 is NaN" },
        { 10, "inf 1 Infinity 3 4 5 6 7", "value 2 is Infinity" },
        { 700, "huge 1 2 3 4 5 6 1e40", "'1e40' is out of the float range" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_malformed_line_anywhere_is_named_and_nothing_is_created(int index, string line, string problem)
    {
        var vectors = Vectors(1000, Dim, 4);
        string file = WriteFile(vectors, header: true, replaceLine: i => i == index ? line : null);
        string table = ClusterFixture.UniqueName("bad");
        var e = await Assert.ThrowsAsync<DataFormatException>(() => Import(file, VectorTextFormat.Word2VecText, table));
        Assert.Equal(index + 2, e.Line);
        Assert.StartsWith($"{file}:{index + 2}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(table, await Client.ListTablesAsync());
    }

    [Theory]
    [InlineData("", VectorTextFormat.Word2VecText, "is empty")]
    [InlineData("\n\n", VectorTextFormat.GloVe, "is empty")]
    [InlineData("3 7\n", VectorTextFormat.Word2VecText, "has no vectors")]
    [InlineData("2 2\nw 1 2\nw 3 4\n", VectorTextFormat.Word2VecText, ":3: the word 'w' appears again (first at line 2)")]
    [InlineData("3 2\nw 1 2\nv 3 4\n", VectorTextFormat.Word2VecText, ":3: the file ends early: the header (line 1) says 3 vectors but the file has 2")]
    public async Task Empty_or_inconsistent_files_create_nothing(string content, VectorTextFormat format, string problem)
    {
        string file = Path.Combine(_dir, "bad.txt");
        File.WriteAllText(file, content);
        string table = ClusterFixture.UniqueName("empty");
        var e = await Assert.ThrowsAsync<DataFormatException>(() => Import(file, format, table));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(file, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(table, await Client.ListTablesAsync());
    }

    [Fact]
    public async Task Skipping_bad_lines_imports_the_good_ones_only()
    {
        var vectors = Vectors(100, Dim, 5);
        string file = WriteFile(vectors, header: false, replaceLine: i => i % 10 == 3 ? "bad 1 2" : null);
        string table = ClusterFixture.UniqueName("skip");
        var result = await Import(file, VectorTextFormat.GloVe, table, skip: true);
        Assert.Equal((90L, 10L), (result.Rows, result.BadLines));
        var rows = await Scan(await Client.OpenTableAsync(table));
        var good = vectors.Where((_, i) => i % 10 != 3).ToList();
        Assert.Equal(good.Select(v => StableHash.Of(v.Word)).Order(), rows.Keys.Order());
        Assert.All(good, v => Assert.Equal(v.Values, rows[StableHash.Of(v.Word)].Values));
    }

    [Fact]
    public async Task A_file_of_another_dim_leaves_an_existing_table_unchanged()
    {
        var (table, _) = await Imported(rows: 50, seed: 6);
        var t = await Client.OpenTableAsync(table);
        var before = await Scan(t);
        string other = WriteFile(Vectors(20, Dim - 2, 7), header: false, name: "dim5.txt");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Import(other, VectorTextFormat.GloVe, table));
        Assert.Contains($"Table '{table}' already exists with dim {Dim}, but {other} holds vectors of dim {Dim - 2}. Nothing was written", e.Message, StringComparison.Ordinal);
        var after = await Scan(t);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, kv =>
        {
            Assert.Equal(kv.Value.Label, after[kv.Key].Label);
            Assert.Equal(kv.Value.Values, after[kv.Key].Values);
        });
    }

    [Fact]
    public async Task Importing_into_a_table_of_the_same_dim_overwrites_those_rows_only()
    {
        var first = Vectors(100, Dim, 8);
        string table = ClusterFixture.UniqueName("over");
        await Import(WriteFile(first, header: false, name: "first.txt"), VectorTextFormat.GloVe, table);
        var second = first.Skip(50).Select(v => (v.Word, Values: v.Values.Select(x => -x - 1).ToArray())).Concat(Vectors(30, Dim, 9).Where(v => first.All(f => f.Word != v.Word))).ToList();
        var result = await Import(WriteFile(second, header: true, name: "second.txt"), VectorTextFormat.Word2VecText, table);
        Assert.False(result.Created);
        var rows = await Scan(await Client.OpenTableAsync(table));
        var expected = first.Take(50).Concat(second).ToDictionary(v => StableHash.Of(v.Word), v => v.Values);
        Assert.Equal(expected.Keys.Order(), rows.Keys.Order());
        Assert.All(expected, kv => Assert.Equal(kv.Value, rows[kv.Key].Values));
    }

    [Fact]
    public async Task An_empty_table_exports_zero_rows_with_its_dim()
    {
        string table = ClusterFixture.UniqueName("none");
        await Client.CreateTableAsync(new ParameterServer.Abstractions.TableSpec { Name = table, Dim = 5, Shards = 3 });
        var npy = await EmbeddingExport.RunAsync(Client, table, ExportFormat.Npy, _dir);
        Assert.Equal(0, npy.Rows);
        Assert.Equal([0L, 5L], NpyArray.Read(Path.Combine(_dir, $"{table}.npy")).Shape);
        Assert.Empty(NpyArray.Read(Path.Combine(_dir, $"{table}.ids.npy")).Int64s());
        await EmbeddingExport.RunAsync(Client, table, ExportFormat.Word2VecText, _dir);
        Assert.Equal("0 5", File.ReadAllText(Path.Combine(_dir, $"{table}.word2vec.txt")).TrimEnd());
    }

    [Fact]
    public async Task Wide_rows_in_batches_that_do_not_divide_the_file_arrive_whole()
    {
        var vectors = Vectors(40, 1500, 11);
        string table = ClusterFixture.UniqueName("wide");
        // Batches of 7 rows of 1,500 values: 5 full batches, then 5 rows; several in flight at once.
        var result = await EmbeddingImport.RunAsync(Client, new ImportRequest { File = WriteFile(vectors, header: false, name: "wide.txt"), Format = VectorTextFormat.GloVe, Table = table, BatchRows = 7 });
        Assert.Equal(40, result.Rows);
        var rows = await Scan(await Client.OpenTableAsync(table));
        Assert.All(vectors, v => Assert.Equal(v.Values, rows[StableHash.Of(v.Word)].Values));
    }

    [Fact]
    public async Task Export_of_an_unknown_table_or_to_an_unwritable_place_is_refused_and_writes_nothing()
    {
        string missing = ClusterFixture.UniqueName("missing");
        string outDir = Path.Combine(_dir, "never");
        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => EmbeddingExport.RunAsync(Client, missing, ExportFormat.Npy, outDir));
        Assert.Contains($"Unknown table '{missing}'", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));

        var (table, _) = await Imported(rows: 10, seed: 10);
        string blocker = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocker, "not a directory");
        var io = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingExport.RunAsync(Client, table, ExportFormat.Csv, Path.Combine(blocker, "sub")));
        Assert.StartsWith($"--out '{Path.Combine(blocker, "sub")}' cannot be written: ", io.Message, StringComparison.Ordinal);
    }
}

/// <summary>The console's import and export commands refuse bad arguments with exit code 2 before starting any silo.</summary>
public sealed class ImportExportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ps-io-cmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("export --table t --format parquet --out {dir}/x")]
    [InlineData("import --format fasttext --file {dir}/v.txt --table t")]
    [InlineData("import --format glove --file {dir}/missing.txt --table t")]
    [InlineData("import --format word2vec-text --file {dir}/v.txt --table t")]
    [InlineData("import --format glove --file {dir}/v.txt --table t --optimizer rmsprop")]
    [InlineData("import --format glove --file {dir}/v.txt --table t --lr -1")]
    [InlineData("import --format glove --file {dir}/v.txt --table bad/name")]
    public async Task Bad_arguments_exit_with_code_2(string command)
    {
        File.WriteAllText(Path.Combine(_dir, "v.txt"), "a 1 2\nb 3 4\n");
        Assert.Equal(2, await Program.Main(command.Replace("{dir}", _dir, StringComparison.Ordinal).Split(' ')));
    }
}
