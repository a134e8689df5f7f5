using System.Globalization;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Data;

/// <summary>The text formats of pre-trained word vectors.</summary>
public enum VectorTextFormat
{
    /// <summary>word2vec text: a header line <c>count dim</c>, then <c>word v1 ... vdim</c> per line.</summary>
    Word2VecText,

    /// <summary>GloVe: no header, <c>word v1 ... vdim</c> per line; the dimension is read from the first line.</summary>
    GloVe,
}

/// <summary>What a validation pass found in a vector file: the rows to import and the lines to leave out.</summary>
/// <param name="Dim">Values per vector.</param>
/// <param name="Rows">Good vectors.</param>
/// <param name="BadLines">Line numbers (1-based) that are skipped: malformed, a repeated word or a hash collision.</param>
/// <param name="Problems">The first problems found, each as <c>file:line: what</c> (at most <see cref="VectorTextReader.MaxProblemsKept"/>).</param>
/// <param name="HeaderCount">The row count of the word2vec header, or null (GloVe).</param>
/// <param name="HeaderWarning">With skipping on, a header count that disagrees with the vector lines; otherwise null.</param>
public sealed record VectorFileSummary(int Dim, long Rows, IReadOnlySet<long> BadLines, IReadOnlyList<string> Problems, long? HeaderCount, string? HeaderWarning);

/// <summary>A batch of parsed vectors: parallel ids, words and row-major values.</summary>
/// <param name="Ids">Row ids (the stable hash of each word).</param>
/// <param name="Words">The words.</param>
/// <param name="Values"><c>Ids.Length x dim</c> values.</param>
public sealed record VectorBatch(long[] Ids, string[] Words, float[] Values);

/// <summary>
/// Reads word vectors in word2vec text or GloVe format in two passes over the file, so that memory stays bounded
/// by the vocabulary rather than the values: <see cref="Validate"/> checks every line (value count, numbers, NaN or
/// infinity, header count, repeated words, two words with one row id) and <see cref="ReadBatches"/> then yields
/// the good lines in batches. A bad line stops validation with a <see cref="DataFormatException"/> naming file and
/// line, unless skipping is on, in which case it is counted and left out. Fields are separated by spaces or tabs;
/// blank lines are ignored; a UTF-8 byte order mark is dropped.
/// </summary>
public sealed class VectorTextReader
{
    /// <summary>The most problem messages a summary keeps.</summary>
    public const int MaxProblemsKept = 20;

    private readonly Func<string, long> _idOf;

    /// <summary>Creates a reader of <paramref name="path"/>; <paramref name="idOf"/> maps a word to its row id (default <see cref="StableHash.Of"/>).</summary>
    public VectorTextReader(string path, VectorTextFormat format, int maxDim, Func<string, long>? idOf = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Vector file '{path}' does not exist.", path);
        }

        Path = path;
        Format = format;
        MaxDim = maxDim;
        _idOf = idOf ?? StableHash.Of;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Its format.</summary>
    public VectorTextFormat Format { get; }

    /// <summary>The largest dimension accepted.</summary>
    public int MaxDim { get; }

    /// <summary>Parses a format name: <c>word2vec-text</c> (or <c>word2vec</c>) or <c>glove</c>.</summary>
    public static VectorTextFormat ParseFormat(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "word2vec-text" or "word2vec" => VectorTextFormat.Word2VecText,
        "glove" => VectorTextFormat.GloVe,
        _ => throw new ArgumentException($"Unknown vector file format '{name}'. Valid formats: word2vec-text, glove."),
    };

    /// <summary>The dimension of the file's vectors, from the word2vec header or GloVe's first line, without reading further.</summary>
    public int PeekDim()
    {
        using var reader = Open();
        long lineNo = 0;
        return ReadDim(reader, ref lineNo, out _);
    }

    /// <summary>
    /// Checks every line. Without <paramref name="skipBadLines"/> the first bad line throws a
    /// <see cref="DataFormatException"/>; with it, bad lines are counted in the summary. A file with no good vector,
    /// a missing or broken header (word2vec) or a dimension over <see cref="MaxDim"/> always throws.
    /// <paramref name="progress"/> gets (lines read, fraction of the file read) now and then.
    /// </summary>
    public VectorFileSummary Validate(bool skipBadLines, Action<long, double>? progress = null)
    {
        using var reader = Open();
        long lineNo = 0;
        int dim = ReadDim(reader, ref lineNo, out long? headerCount);
        var seen = new Dictionary<long, (string Word, long Line)>();
        var bad = new HashSet<long>();
        var problems = new List<string>();
        var values = new float[dim];
        long vectorLines = 0;
        string? headerWarning = null;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (IsBlank(line))
            {
                continue;
            }

            vectorLines++;
            if (headerCount is { } expected && vectorLines == expected + 1 && !skipBadLines)
            {
                throw new DataFormatException(Path, lineNo, $"more vectors than the header (line 1) says: it gives {expected:N0}.");
            }

            string? problem = ParseLine(line, dim, values, out string word);
            if (problem is null)
            {
                long id = _idOf(word);
                if (seen.TryGetValue(id, out var first))
                {
                    problem = first.Word == word
                        ? $"the word '{word}' appears again (first at line {first.Line}); each word must appear once."
                        : $"the words '{first.Word}' (line {first.Line}) and '{word}' have the same row id {id}; rename one of them.";
                }
                else
                {
                    seen.Add(id, (word, lineNo));
                }
            }

            if (problem is not null)
            {
                var e = new DataFormatException(Path, lineNo, problem);
                if (!skipBadLines)
                {
                    throw e;
                }

                bad.Add(lineNo);
                if (problems.Count < MaxProblemsKept)
                {
                    problems.Add(e.Message);
                }
            }

            if (progress is not null && (lineNo & 0x3FFF) == 0)
            {
                progress(lineNo, Fraction(reader));
            }
        }

        if (vectorLines == 0)
        {
            throw new DataFormatException(Path, 0, "has no vectors.");
        }

        if (headerCount is { } count && count != vectorLines)
        {
            string what = $"the header (line 1) says {count:N0} vectors but the file has {vectorLines:N0}.";
            if (!skipBadLines)
            {
                throw new DataFormatException(Path, lineNo, $"the file ends early: {what}");
            }

            headerWarning = $"{Path}:1: {what}";
        }

        if (seen.Count == 0)
        {
            throw new DataFormatException(Path, 0, $"has no valid vector: all {vectorLines:N0} vector lines are bad (first: {problems[0]}).");
        }

        return new VectorFileSummary(dim, seen.Count, bad, problems, headerCount, headerWarning);
    }

    /// <summary>
    /// The good lines of a validated file, in file order, <paramref name="batchRows"/> at a time. Throws a
    /// <see cref="DataFormatException"/> when the file changed since <paramref name="summary"/> was made.
    /// <paramref name="progress"/> gets (rows read, fraction of the file read) after each batch.
    /// </summary>
    public IEnumerable<VectorBatch> ReadBatches(VectorFileSummary summary, int batchRows, Action<long, double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRows, 1);
        return Batches(summary, batchRows, progress);
    }

    private IEnumerable<VectorBatch> Batches(VectorFileSummary summary, int batchRows, Action<long, double>? progress)
    {
        using var reader = Open();
        long lineNo = 0;
        int dim = ReadDim(reader, ref lineNo, out _);
        if (dim != summary.Dim)
        {
            throw new DataFormatException(Path, 1, $"the file changed while it was read: dim {dim}, was {summary.Dim}.");
        }

        int n = (int)Math.Min(batchRows, summary.Rows);
        var ids = new long[n];
        var words = new string[n];
        var values = new float[n * dim];
        int filled = 0;
        long total = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (IsBlank(line) || summary.BadLines.Contains(lineNo))
            {
                continue;
            }

            string? problem = ParseLine(line, dim, values.AsSpan(filled * dim, dim), out string word);
            if (problem is not null || ++total > summary.Rows)
            {
                throw new DataFormatException(Path, lineNo, $"the file changed while it was read ({problem ?? "more vectors than before"}).");
            }

            ids[filled] = _idOf(word);
            words[filled] = word;
            if (++filled == n)
            {
                yield return new VectorBatch(ids, words, values);
                ids = new long[n];
                words = new string[n];
                values = new float[n * dim];
                filled = 0;
                progress?.Invoke(total, Fraction(reader));
            }
        }

        if (total != summary.Rows)
        {
            throw new DataFormatException(Path, 0, $"the file changed while it was read: {total:N0} vectors, was {summary.Rows:N0}.");
        }

        if (filled > 0)
        {
            yield return new VectorBatch(ids[..filled], words[..filled], values[..(filled * dim)]);
        }
    }

    private static double Fraction(StreamReader reader) => reader.BaseStream.Length > 0 ? (double)reader.BaseStream.Position / reader.BaseStream.Length : 1;

    private StreamReader Open() => new(Path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 1 << 20 });

    /// <summary>Reads up to the first vector line (word2vec: the header; GloVe: counts the values of the first line, then rewinds).</summary>
    private int ReadDim(StreamReader reader, ref long lineNo, out long? headerCount)
    {
        headerCount = null;
        string? first;
        do
        {
            first = reader.ReadLine();
            lineNo++;
        }
        while (first is not null && IsBlank(first));

        if (first is null)
        {
            throw new DataFormatException(Path, 0, "is empty; expected " + (Format == VectorTextFormat.Word2VecText ? "a header line 'count dim' and one 'word v1 ... vdim' line per vector." : "one 'word v1 ... vdim' line per vector."));
        }

        var fields = Fields(first);
        bool looksLikeHeader = fields.Count == 2 && IsInteger(first, fields[0]) && IsInteger(first, fields[1]);
        int dim;
        if (Format == VectorTextFormat.Word2VecText)
        {
            if (!looksLikeHeader)
            {
                throw new DataFormatException(Path, lineNo, $"expected the word2vec header 'count dim' (two integers), found {fields.Count} fields{(fields.Count > 2 ? "; a file without a header is GloVe format (--format glove)" : "")}.");
            }

            long count = long.Parse(first.AsSpan(fields[0].Start, fields[0].Length), CultureInfo.InvariantCulture);
            long d = long.Parse(first.AsSpan(fields[1].Start, fields[1].Length), CultureInfo.InvariantCulture);
            if (count < 0)
            {
                throw new DataFormatException(Path, lineNo, $"the header's vector count {count} is negative.");
            }

            CheckDim(d, lineNo);
            headerCount = count;
            dim = (int)d;
        }
        else
        {
            if (looksLikeHeader)
            {
                throw new DataFormatException(Path, lineNo, "looks like a word2vec header 'count dim'; use --format word2vec-text for a file with a header.");
            }

            CheckDim(fields.Count - 1, lineNo);
            dim = fields.Count - 1;

            // The first line is a vector: start again so that it is read like the others.
            reader.BaseStream.Seek(0, SeekOrigin.Begin);
            reader.DiscardBufferedData();
            lineNo = 0;
        }

        return dim;
    }

    private void CheckDim(long dim, long lineNo)
    {
        if (dim < 1 || dim > MaxDim)
        {
            throw new DataFormatException(Path, lineNo,
                dim > MaxDim ? $"dimension {dim:N0} is over the limit of {MaxDim}."
                : Format == VectorTextFormat.GloVe ? "the first line is a word with no values; GloVe lines are 'word v1 ... vdim'."
                : $"dimension {dim} is out of range; it must be in 1..{MaxDim}.");
        }
    }

    private static bool IsInteger(string line, (int Start, int Length) field) =>
        long.TryParse(line.AsSpan(field.Start, field.Length), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    private static bool IsBlank(string line) => line.AsSpan().Trim(" \t\uFEFF").IsEmpty;

    private static List<(int Start, int Length)> Fields(string line)
    {
        var list = new List<(int, int)>();
        int i = 0;
        while (NextField(line, ref i, out int start, out int length))
        {
            list.Add((start, length));
        }

        return list;
    }

    private static bool NextField(string line, ref int i, out int start, out int length)
    {
        while (i < line.Length && line[i] is ' ' or '\t' or '\uFEFF')
        {
            i++;
        }

        start = i;
        while (i < line.Length && line[i] is not (' ' or '\t'))
        {
            i++;
        }

        length = i - start;
        return length > 0;
    }

    /// <summary>Parses <c>word v1 ... vdim</c> into <paramref name="values"/>; returns what is wrong, or null.</summary>
    internal static string? ParseLine(string line, int dim, Span<float> values, out string word)
    {
        int i = 0;
        NextField(line, ref i, out int ws, out int wl);
        word = line.Substring(ws, wl);
        int count = 0;
        string? problem = null;
        while (NextField(line, ref i, out int start, out int length))
        {
            if (count < dim && problem is null)
            {
                var text = line.AsSpan(start, length);
                if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
                {
                    problem = $"value {count + 1} '{Shorten(text)}' is not a number.";
                }
                else if (!float.IsFinite(v))
                {
                    // "1e39" overflows to infinity; "NaN" and "Infinity" are spelled without digits.
                    problem = text.ContainsAnyInRange('0', '9')
                        ? $"value {count + 1} '{Shorten(text)}' is out of the float range."
                        : $"value {count + 1} is {Shorten(text)}; NaN and infinity are not accepted.";
                }
                else
                {
                    values[count] = v;
                }
            }

            count++;
        }

        return count != dim ? $"expected the word and {dim} values, found {count} value{(count == 1 ? "" : "s")} after '{Shorten(word)}'."
            : problem;
    }

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 40 ? text.ToString() : string.Concat(text[..37], "...");
}
