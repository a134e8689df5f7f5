using System.Globalization;
using System.Text;

namespace ParameterServer.Core.Export;

/// <summary>The file formats an embedding table is exported to.</summary>
public enum ExportFormat
{
    /// <summary>TensorFlow Embedding Projector: <c>vectors.tsv</c>, <c>metadata.tsv</c> and <c>projector_config.json</c>.</summary>
    Projector,

    /// <summary>NumPy: <c>NAME.npy</c> (float32, rows x dim), <c>NAME.ids.npy</c> (int64) and <c>NAME.labels.txt</c>.</summary>
    Npy,

    /// <summary>word2vec text: <c>NAME.word2vec.txt</c>, a <c>rows dim</c> header then <c>label v1 ... vdim</c> lines.</summary>
    Word2VecText,

    /// <summary>CSV: <c>NAME.csv</c> with the header <c>id,label,v0,...</c>.</summary>
    Csv,
}

/// <summary>
/// Writes the rows of a table, page after page in the order given, to the files of one <see cref="ExportFormat"/>.
/// Every file is written under a temporary name (<c>.partial</c>) and renamed over an existing file of the same
/// name by <see cref="Complete"/>; disposing a writer that was not completed deletes its temporary files, so a
/// failed export leaves no half-written file behind. Floats are written in the invariant culture in their
/// shortest round-trip form ("R"), so text files parse back to the same bits. A row without a label is labelled
/// with its id.
/// </summary>
public abstract class EmbeddingWriter : IDisposable
{
    private readonly List<OutputFile> _files = [];
    private bool _completed;

    /// <summary>Creates a writer of rows of <paramref name="dim"/> values into <paramref name="directory"/>.</summary>
    protected EmbeddingWriter(string directory, string name, int dim)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        Directory = directory;
        Name = name;
        Dim = dim;
    }

    /// <summary>The output directory.</summary>
    public string Directory { get; }

    /// <summary>The table name (stem of the file names).</summary>
    public string Name { get; }

    /// <summary>Values per row.</summary>
    public int Dim { get; }

    /// <summary>Rows written so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Things worth saying about the output (labels changed to fit the format), filled by <see cref="Complete"/>.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>The final paths of the files, in the order they were opened.</summary>
    public IReadOnlyList<string> Files => _files.Select(f => f.Path).ToList();

    /// <summary>Parses a format name: <c>projector</c>, <c>npy</c>, <c>word2vec-text</c> (or <c>word2vec</c>) or <c>csv</c>.</summary>
    public static ExportFormat ParseFormat(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "projector" => ExportFormat.Projector,
        "npy" => ExportFormat.Npy,
        "word2vec-text" or "word2vec" => ExportFormat.Word2VecText,
        "csv" => ExportFormat.Csv,
        _ => throw new ArgumentException($"Unknown export format '{name}'. Valid formats: projector, npy, word2vec-text, csv."),
    };

    /// <summary>Opens the files of <paramref name="format"/> for table <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static EmbeddingWriter Create(ExportFormat format, string directory, string name, int dim)
    {
        EmbeddingWriter writer = format switch
        {
            ExportFormat.Projector => new ProjectorWriter(directory, name, dim),
            ExportFormat.Npy => new NpyWriter(directory, name, dim),
            ExportFormat.Word2VecText => new Word2VecTextWriter(directory, name, dim),
            ExportFormat.Csv => new CsvWriter(directory, name, dim),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
        };
        try
        {
            writer.Begin();
            return writer;
        }
        catch
        {
            // A file that could not be created: remove the ones that were.
            writer.Dispose();
            throw;
        }
    }

    /// <summary>Appends rows: <paramref name="values"/> is <c>ids.Length x Dim</c>, <paramref name="labels"/> has one entry (or null) per row.</summary>
    public void Write(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, IReadOnlyList<string?> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ObjectDisposedException.ThrowIf(_completed, this);
        if (values.Length != ids.Length * Dim || labels.Count != ids.Length)
        {
            throw new ArgumentException($"{ids.Length} ids need {ids.Length * Dim} values and {ids.Length} labels; got {values.Length} and {labels.Count}.");
        }

        WriteRows(ids, values, labels);
        Rows += ids.Length;
    }

    /// <summary>Finishes every file (headers that hold the row count, configuration) and moves them to their final names.</summary>
    public IReadOnlyList<string> Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        Finish();
        foreach (var file in _files)
        {
            file.Close();
        }

        foreach (var file in _files)
        {
            file.Commit();
        }

        _completed = true;
        return Files;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Opens the files (<see cref="Open"/>) and writes what comes before the rows.</summary>
    protected abstract void Begin();

    /// <summary>Writes rows to the open files.</summary>
    protected abstract void WriteRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, IReadOnlyList<string?> labels);

    /// <summary>Writes what needs the final row count; the files are still open.</summary>
    protected virtual void Finish()
    {
    }

    /// <summary>Opens <paramref name="fileName"/> in the output directory (under its temporary name).</summary>
    protected OutputFile Open(string fileName)
    {
        var file = new OutputFile(System.IO.Path.Combine(Directory, fileName));
        _files.Add(file);
        return file;
    }

    /// <summary>The label of a row as text: the label, or the id when the row has none (or an empty one).</summary>
    protected static string LabelOrId(long id, string? label) => string.IsNullOrEmpty(label) ? id.ToString(CultureInfo.InvariantCulture) : label;

    /// <summary>Replaces every character of <paramref name="text"/> that matches <paramref name="replace"/>; counts the texts changed.</summary>
    protected static string Replace(string text, Func<char, bool> replace, char with, ref long changed)
    {
        if (!text.Any(replace))
        {
            return text;
        }

        changed++;
        return string.Create(text.Length, (text, replace, with), static (span, s) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = s.replace(s.text[i]) ? s.with : s.text[i];
            }
        });
    }

    /// <summary>Writes the values of a row separated by <paramref name="separator"/>, each in its shortest round-trip form.</summary>
    protected static void WriteValues(TextWriter writer, ReadOnlySpan<float> row, char separator, bool leadingSeparator)
    {
        Span<char> buffer = stackalloc char[32];
        for (int j = 0; j < row.Length; j++)
        {
            if (j > 0 || leadingSeparator)
            {
                writer.Write(separator);
            }

            row[j].TryFormat(buffer, out int n, "R", CultureInfo.InvariantCulture);
            writer.Write(buffer[..n]);
        }
    }
}

/// <summary>
/// One output file, written under <c>PATH.partial</c> and renamed to <see cref="Path"/> (replacing a file there)
/// by <see cref="Commit"/>; disposed without a commit, the temporary file is deleted.
/// </summary>
public sealed class OutputFile : IDisposable
{
    private StreamWriter? _text;
    private bool _committed;
    private bool _closed;

    /// <summary>Creates <c><paramref name="path"/>.partial</c>.</summary>
    public OutputFile(string path)
    {
        Path = path;
        Partial = path + ".partial";
        Stream = new FileStream(Partial, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
    }

    /// <summary>The final path.</summary>
    public string Path { get; }

    /// <summary>The temporary path written until the commit.</summary>
    public string Partial { get; }

    /// <summary>The binary stream.</summary>
    public FileStream Stream { get; }

    /// <summary>A UTF-8 text writer (no byte order mark, "\n" line ends) over <see cref="Stream"/>.</summary>
    public StreamWriter Text => _text ??= new StreamWriter(Stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };

    /// <summary>Flushes and closes the file.</summary>
    public void Close()
    {
        if (_closed)
        {
            return;
        }

        _text?.Dispose();
        Stream.Dispose();
        _closed = true;
    }

    /// <summary>Moves the closed file to <see cref="Path"/>.</summary>
    public void Commit()
    {
        File.Move(Partial, Path, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_closed)
        {
            try
            {
                _text?.Dispose();
            }
            catch (IOException)
            {
                // The disk that failed the export may fail this flush too; the file goes anyway.
            }

            Stream.Dispose();
            _closed = true;
        }

        if (!_committed)
        {
            File.Delete(Partial);
        }
    }
}
