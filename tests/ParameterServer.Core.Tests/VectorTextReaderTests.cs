using ParameterServer.Core.Data;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Tests;

/// <summary>word2vec text and GloVe files: what is read, and every kind of bad line named by file and line.</summary>
public sealed class VectorTextReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ps-vectors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Temp(string content)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, content);
        return path;
    }

    private static List<(long Id, string Word, float[] Values)> ReadAll(VectorTextReader reader, VectorFileSummary summary, int batch = 2)
    {
        var rows = new List<(long, string, float[])>();
        foreach (var b in reader.ReadBatches(summary, batch))
        {
            Assert.True(b.Ids.Length <= batch);
            Assert.Equal(b.Ids.Length * summary.Dim, b.Values.Length);
            for (int i = 0; i < b.Ids.Length; i++)
            {
                rows.Add((b.Ids[i], b.Words[i], b.Values.AsSpan(i * summary.Dim, summary.Dim).ToArray()));
            }
        }

        return rows;
    }

    [Fact]
    public void Word2vec_text_gives_words_ids_and_values_in_file_order()
    {
        string path = Temp("\uFEFF3 2\r\nthe 0.5 -1\r\n\r\nkatze\t1e-3\t2.5 \nзмея -0 3.4028235E+38\n");
        var reader = new VectorTextReader(path, VectorTextFormat.Word2VecText, 4096);
        Assert.Equal(2, reader.PeekDim());
        var summary = reader.Validate(skipBadLines: false);
        Assert.Equal((2, 3L, 3L, 0), (summary.Dim, summary.Rows, summary.HeaderCount!.Value, summary.BadLines.Count));
        var rows = ReadAll(reader, summary);
        Assert.Equal(["the", "katze", "змея"], rows.Select(r => r.Word));
        Assert.Equal(rows.Select(r => StableHash.Of(r.Word)), rows.Select(r => r.Id));
        Assert.Equal([0.5f, -1f], rows[0].Values);
        Assert.Equal([1e-3f, 2.5f], rows[1].Values);
        Assert.Equal([-0f, float.MaxValue], rows[2].Values);
        Assert.True(float.IsNegative(rows[2].Values[0]));
    }

    [Fact]
    public void Glove_reads_the_dimension_from_the_first_line_and_keeps_it()
    {
        string path = Temp("\uFEFFa 1 2 3\nb 4 5 6\nc 7 8 9\n");
        var reader = new VectorTextReader(path, VectorTextFormat.GloVe, 4096);
        var summary = reader.Validate(false);
        Assert.Equal((3, 3L, (long?)null), (summary.Dim, summary.Rows, summary.HeaderCount));
        var rows = ReadAll(reader, summary, batch: 100);
        Assert.Equal(["a", "b", "c"], rows.Select(r => r.Word));
        Assert.Equal([7f, 8f, 9f], rows[2].Values);
    }

    public static TheoryData<string, string, long, string> BadLines => new()
    {
        { "word2vec-text", "2 3\na 1 2 3\nb 1 2\n", 3, "expected the word and 3 values, found 2 values after 'b'" },
        { "word2vec-text", "2 3\na 1 2 3\nb 1 2 3 4\n", 3, "found 4 values" },
        { "word2vec-text", "2 3\na 1 2 3\nb\n", 3, "found 0 values" },
        { "word2vec-text", "2 3\na 1 2 3\nb 1 x2 3\n", 3, "value 2 'x2' is not a number" },
        { "word2vec-text", "2 3\na 1 2 3\nb 1 2,5 3\n", 3, "value 2 '2,5' is not a number" },
        { "word2vec-text", "2 3\na 1 NaN 3\nb 1 2 3\n", 2, "value 2 is NaN; NaN and infinity are not accepted" },
        { "word2vec-text", "2 3\na 1 2 3\nb -Infinity 2 3\n", 3, "value 1 is -Infinity" },
        { "word2vec-text", "2 3\na 1 2 3\nb 1 2 1e39\n", 3, "value 3 '1e39' is out of the float range" },
        { "word2vec-text", "3 3\na 1 2 3\nb 1 2 3\n\na 4 5 6\n", 5, "the word 'a' appears again (first at line 2)" },
        { "word2vec-text", "1 3\na 1 2 3\nb 1 2 3\n", 3, "more vectors than the header (line 1) says: it gives 1" },
        { "word2vec-text", "3 3\na 1 2 3\nb 1 2 3\n", 3, "the file ends early: the header (line 1) says 3 vectors but the file has 2" },
        { "word2vec-text", "a 1 2 3\nb 1 2 3\n", 1, "expected the word2vec header 'count dim' (two integers), found 4 fields; a file without a header is GloVe format (--format glove)" },
        { "word2vec-text", "2 x\na 1 2 3\n", 1, "expected the word2vec header" },
        { "word2vec-text", "2 0\na\n", 1, "dimension 0 is out of range; it must be in 1..4096" },
        { "word2vec-text", "2 5000\n", 1, "dimension 5,000 is over the limit of 4096" },
        { "word2vec-text", "-2 3\n", 1, "the header's vector count -2 is negative" },
        { "glove", "400000 3\na 1 2 3\n", 1, "looks like a word2vec header 'count dim'; use --format word2vec-text" },
        { "glove", "a 1 2 3\nb 1 2 3\nc 1 2\n", 3, "expected the word and 3 values, found 2 values after 'c'" },
        { "glove", "a\n", 1, "the first line is a word with no values" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void A_bad_line_stops_validation_with_file_and_line(string format, string content, long line, string problem)
    {
        string path = Temp(content);
        var reader = new VectorTextReader(path, VectorTextReader.ParseFormat(format), 4096);
        var e = Assert.Throws<DataFormatException>(() => reader.Validate(skipBadLines: false));
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"{path}:{line}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("word2vec-text", "", "is empty; expected a header line 'count dim'")]
    [InlineData("glove", "\n  \n\t\n", "is empty; expected one 'word v1 ... vdim' line per vector")]
    [InlineData("word2vec-text", "0 3\n", "has no vectors")]
    public void An_empty_file_is_refused_whole(string format, string content, string problem)
    {
        string path = Temp(content);
        var reader = new VectorTextReader(path, VectorTextReader.ParseFormat(format), 4096);
        var e = Assert.Throws<DataFormatException>(() => reader.Validate(skipBadLines: true));
        Assert.Equal(0, e.Line);
        Assert.StartsWith($"{path}: {problem}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_words_with_one_row_id_are_named_with_their_lines()
    {
        string path = Temp("ab 1\ncd 2\nba 3\n");
        // A hash that collides on anagrams stands in for a 64-bit collision, which no test could find.
        var reader = new VectorTextReader(path, VectorTextFormat.GloVe, 4096, w => w.Sum(c => (long)c));
        var e = Assert.Throws<DataFormatException>(() => reader.Validate(false));
        Assert.Equal(3, e.Line);
        Assert.Contains($"the words 'ab' (line 1) and 'ba' have the same row id {'a' + 'b'}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skipping_counts_bad_lines_keeps_the_first_of_a_repeated_word_and_reads_only_good_lines()
    {
        string path = Temp("6 2\na 1 2\nb 1\nc 1 x\na 9 9\nd 3 4\n\ne NaN 1\nf 5 6\n");
        var reader = new VectorTextReader(path, VectorTextFormat.Word2VecText, 4096);
        var summary = reader.Validate(skipBadLines: true);
        Assert.Equal(3, summary.Rows);
        Assert.Equal([3L, 4L, 5L, 8L], summary.BadLines.Order());
        Assert.Equal(4, summary.Problems.Count);
        Assert.Equal([3L, 4L, 5L, 8L], summary.Problems.Select(m => long.Parse(m[(path.Length + 1)..m.IndexOf(':', path.Length + 1)], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.StartsWith($"{path}:5: the word 'a' appears again (first at line 2)", summary.Problems[2], StringComparison.Ordinal);
        // 7 vector lines against a header of 6: a warning when skipping.
        Assert.Equal($"{path}:1: the header (line 1) says 6 vectors but the file has 7.", summary.HeaderWarning);
        var rows = ReadAll(reader, summary);
        Assert.Equal(["a", "d", "f"], rows.Select(r => r.Word));
        Assert.Equal([[1f, 2f], [3f, 4f], [5f, 6f]], rows.Select(r => r.Values));
    }

    [Fact]
    public void A_file_of_bad_lines_only_is_refused_even_when_skipping()
    {
        string path = Temp("a 1 2\nb 1\nc x 1\n");
        var reader = new VectorTextReader(path, VectorTextFormat.GloVe, 4096);
        var summary = reader.Validate(true);
        Assert.Equal(1, summary.Rows);
        string bad = Temp("2 2\nb 1\nc x 1\n");
        var e = Assert.Throws<DataFormatException>(() => new VectorTextReader(bad, VectorTextFormat.Word2VecText, 4096).Validate(true));
        Assert.Contains("has no valid vector: all 2 vector lines are bad (first: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_changed_after_validation_is_noticed()
    {
        string path = Temp("a 1 2\nb 3 4\n");
        var reader = new VectorTextReader(path, VectorTextFormat.GloVe, 4096);
        var summary = reader.Validate(false);
        File.WriteAllText(path, "a 1 2\nb 3 4\nc 5 6\n");
        var e = Assert.Throws<DataFormatException>(() => ReadAll(reader, summary));
        Assert.Contains("the file changed while it was read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_format_and_missing_file_are_named()
    {
        Assert.Contains("Valid formats: word2vec-text, glove", Assert.Throws<ArgumentException>(() => VectorTextReader.ParseFormat("fasttext")).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => new VectorTextReader(Path.Combine(_dir, "none.txt"), VectorTextFormat.GloVe, 8));
    }
}
