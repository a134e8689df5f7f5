using System.Globalization;
using System.Text.Json;
using ParameterServer.Core.Export;

namespace ParameterServer.Core.Tests;

/// <summary>The export formats, read back by independent parsers: .npy headers, CSV quoting, word2vec and projector files.</summary>
public sealed class ExportWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ps-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly long[] Ids = [7, -3, long.MaxValue, 0];
    private static readonly float[] Values = [1.5f, -0f, float.Epsilon, 3.4028235e38f, 0.1f, -2.5e-7f, 1f / 3, 123456.79f];
    private static readonly string?[] Labels = ["tab\there", null, "comma, \"quoted\"\nline", "ünï ☃"];

    private EmbeddingWriter WriteAll(ExportFormat format, string name = "t.v", int pages = 2)
    {
        var writer = EmbeddingWriter.Create(format, _dir, name, 2);
        int per = Ids.Length / pages;
        for (int p = 0; p < pages; p++)
        {
            writer.Write(Ids.AsSpan(p * per, per), Values.AsSpan(p * per * 2, per * 2), Labels[(p * per)..((p + 1) * per)]);
        }

        writer.Complete();
        return writer;
    }

    [Theory]
    [InlineData("<f4", new long[] { 0, 7 }, "(0, 7)")]
    [InlineData("<f4", new long[] { 9223372036854775807, 4096 }, "(9223372036854775807, 4096)")]
    [InlineData("<i8", new long[] { 12 }, "(12,)")]
    [InlineData("<i8", new long[] { }, "()")]
    public void Npy_header_is_version_1_0_with_the_data_at_a_multiple_of_64(string descr, long[] shape, string tuple)
    {
        string path = Path.Combine(_dir, "h.npy");
        File.WriteAllBytes(path, NpyFormat.Header(descr, shape));
        var array = NpyArray.Read(path);
        Assert.Equal(NpyFormat.HeaderBytes, array.DataOffset);
        Assert.Equal((descr, false), (array.Descr, array.FortranOrder));
        Assert.Equal(shape, array.Shape);
        Assert.StartsWith($"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}", array.HeaderText, StringComparison.Ordinal);
    }

    [Fact]
    public void Npy_holds_values_ids_and_labels_in_one_order_with_the_final_shape()
    {
        var writer = WriteAll(ExportFormat.Npy);
        Assert.Equal(["t.v.npy", "t.v.ids.npy", "t.v.labels.txt"], writer.Files.Select(Path.GetFileName));
        var values = NpyArray.Read(Path.Combine(_dir, "t.v.npy"));
        Assert.Equal([4L, 2L], values.Shape);
        Assert.Equal(Values.Select(BitConverter.SingleToInt32Bits), values.Floats().Select(BitConverter.SingleToInt32Bits));
        var ids = NpyArray.Read(Path.Combine(_dir, "t.v.ids.npy"));
        Assert.Equal([4L], ids.Shape);
        Assert.Equal(Ids, ids.Int64s());
        Assert.Equal(["tab\there", "-3", "comma, \"quoted\" line", "ünï ☃"], File.ReadAllLines(Path.Combine(_dir, "t.v.labels.txt")));
        Assert.Contains("1 labels held line breaks", Assert.Single(writer.Notes), StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_quotes_labels_as_rfc_4180_says_and_parses_back()
    {
        WriteAll(ExportFormat.Csv);
        var records = CsvReference.Parse(File.ReadAllText(Path.Combine(_dir, "t.v.csv")));
        Assert.Equal(["id", "label", "v0", "v1"], records[0]);
        Assert.Equal(Ids.Length + 1, records.Count);
        for (int i = 0; i < Ids.Length; i++)
        {
            var r = records[i + 1];
            Assert.Equal(Ids[i], long.Parse(r[0], CultureInfo.InvariantCulture));
            Assert.Equal(Labels[i] ?? "", r[1]);
            Assert.Equal(BitConverter.SingleToInt32Bits(Values[i * 2]), BitConverter.SingleToInt32Bits(float.Parse(r[2], CultureInfo.InvariantCulture)));
            Assert.Equal(BitConverter.SingleToInt32Bits(Values[(i * 2) + 1]), BitConverter.SingleToInt32Bits(float.Parse(r[3], CultureInfo.InvariantCulture)));
        }
    }

    [Fact]
    public void Word2vec_text_replaces_whitespace_in_labels_and_gives_the_row_count()
    {
        var writer = WriteAll(ExportFormat.Word2VecText);
        string[] lines = File.ReadAllLines(Path.Combine(_dir, "t.v.word2vec.txt"));
        Assert.Equal(["4", "2"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["tab_here", "-3", "comma,_\"quoted\"_line", "ünï_☃"], lines[1..].Select(l => l.Split(' ')[0]));
        Assert.All(lines[1..], l => Assert.Equal(3, l.Split(' ').Length));
        Assert.Equal("0.1", lines[3].Split(' ')[1]);
        Assert.Contains("3 labels held whitespace", Assert.Single(writer.Notes), StringComparison.Ordinal);
    }

    [Fact]
    public void Word2vec_text_keys_are_unique_a_repeated_label_gets_its_id()
    {
        // Two films share a title; a row without a label is keyed by its id, which a label may also be.
        var writer = EmbeddingWriter.Create(ExportFormat.Word2VecText, _dir, "dup", 1);
        writer.Write([10, 20, 30, 40, 50], [1f, 2f, 3f, 4f, 5f], ["Emma (1996)", "Emma (1996)", "40", null, "Emma (1996)#20"]);
        writer.Complete();
        string[] keys = [.. File.ReadAllLines(Path.Combine(_dir, "dup.word2vec.txt"))[1..].Select(l => l.Split(' ')[0])];
        Assert.Equal(["Emma_(1996)", "Emma_(1996)#20", "40", "40#40", "Emma_(1996)#20#50"], keys);
        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Contains(writer.Notes, n => n.Contains("3 labels were already taken by another row", StringComparison.Ordinal));
    }

    [Fact]
    public void Projector_files_agree_on_rows_and_dim()
    {
        WriteAll(ExportFormat.Projector, pages: 4);
        string[] vectors = File.ReadAllLines(Path.Combine(_dir, "vectors.tsv"));
        string[] metadata = File.ReadAllLines(Path.Combine(_dir, "metadata.tsv"));
        Assert.Equal(["tab here", "-3", "comma, \"quoted\" line", "ünï ☃"], metadata);
        Assert.Equal(Values, vectors.SelectMany(l => l.Split('\t')).Select(s => float.Parse(s, CultureInfo.InvariantCulture)));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "projector_config.json")));
        var embedding = Assert.Single(config.RootElement.GetProperty("embeddings").EnumerateArray());
        Assert.Equal("t.v", embedding.GetProperty("tensorName").GetString());
        Assert.Equal([4, 2], embedding.GetProperty("tensorShape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("vectors.tsv", embedding.GetProperty("tensorPath").GetString());
        Assert.Equal("metadata.tsv", embedding.GetProperty("metadataPath").GetString());
    }

    [Fact]
    public void An_export_not_completed_leaves_no_file_and_existing_files_stay_until_completion()
    {
        string existing = Path.Combine(_dir, "t.v.csv");
        File.WriteAllText(existing, "old");
        using (var writer = EmbeddingWriter.Create(ExportFormat.Csv, _dir, "t.v", 2))
        {
            writer.Write(Ids.AsSpan(0, 1), Values.AsSpan(0, 2), Labels[..1]);
            Assert.Equal("old", File.ReadAllText(existing));
        }

        Assert.Equal(["t.v.csv"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        Assert.Equal("old", File.ReadAllText(existing));
        WriteAll(ExportFormat.Csv);
        Assert.StartsWith("id,label,v0,v1\n7,", File.ReadAllText(existing), StringComparison.Ordinal);
        Assert.Equal(["t.v.csv"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Rows_must_match_values_and_labels()
    {
        using var writer = EmbeddingWriter.Create(ExportFormat.Npy, _dir, "x", 3);
        Assert.Throws<ArgumentException>(() => writer.Write(Ids.AsSpan(0, 2), Values.AsSpan(0, 4), Labels[..2]));
        Assert.Contains("Valid formats: projector, npy, word2vec-text, csv", Assert.Throws<ArgumentException>(() => EmbeddingWriter.ParseFormat("parquet")).Message, StringComparison.Ordinal);
    }
}
