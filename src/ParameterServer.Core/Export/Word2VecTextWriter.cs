using System.Globalization;
using System.Text;

namespace ParameterServer.Core.Export;

/// <summary>
/// word2vec text, <c>NAME.word2vec.txt</c>: a header line <c>rows dim</c>, then <c>label v1 ... vdim</c> per row,
/// separated by single spaces. Whitespace inside a label becomes '_' (the format splits on it). Keys are unique, as
/// readers such as gensim key vectors by them: a label already written gets <c>#id</c> appended (two MovieLens films
/// share a title). The header is
/// written before the rows, padded with trailing spaces to <see cref="HeaderBytes"/>, and overwritten in place
/// with the final row count; readers split the header on whitespace, so the padding is invisible to them.
/// </summary>
internal sealed class Word2VecTextWriter(string directory, string name, int dim) : EmbeddingWriter(directory, name, dim)
{
    /// <summary>Bytes of the header line, its "\n" included: room for any row count and dimension.</summary>
    public const int HeaderBytes = 32;

    private OutputFile _file = null!;
    private long _labelsChanged;
    private long _keysMadeUnique;
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    protected override void Begin()
    {
        _file = Open($"{Name}.word2vec.txt");
        _file.Stream.Write(Header(0));
    }

    protected override void WriteRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, IReadOnlyList<string?> labels)
    {
        var text = _file.Text;
        for (int i = 0; i < ids.Length; i++)
        {
            text.Write(UniqueKey(Replace(LabelOrId(ids[i], labels[i]), char.IsWhiteSpace, '_', ref _labelsChanged), ids[i]));
            WriteValues(text, values.Slice(i * Dim, Dim), ' ', leadingSeparator: true);
            text.Write('\n');
        }
    }

    protected override void Finish()
    {
        _file.Text.Flush();
        _file.Stream.Seek(0, SeekOrigin.Begin);
        _file.Stream.Write(Header(Rows));
        if (_labelsChanged > 0)
        {
            Notes.Add($"{_labelsChanged:N0} labels held whitespace, written with '_' in its place.");
        }

        if (_keysMadeUnique > 0)
        {
            Notes.Add($"{_keysMadeUnique:N0} labels were already taken by another row, written with '#id' appended so every key is unique.");
        }
    }

    private string UniqueKey(string key, long id)
    {
        if (_keys.Add(key))
        {
            return key;
        }

        _keysMadeUnique++;
        string unique = string.Create(CultureInfo.InvariantCulture, $"{key}#{id}");
        for (int n = 2; !_keys.Add(unique); n++)
        {
            unique = string.Create(CultureInfo.InvariantCulture, $"{key}#{id}#{n}");
        }

        return unique;
    }

    private byte[] Header(long rows) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{rows} {Dim}").PadRight(HeaderBytes - 1) + "\n");
}
