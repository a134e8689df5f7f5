using System.Globalization;

namespace ParameterServer.Core.Export;

/// <summary>
/// CSV, <c>NAME.csv</c>: a header <c>id,label,v0,...,v{dim-1}</c>, then one row per line ("\n" line ends). A label
/// holding a comma, a double quote or a line break is quoted as RFC 4180 says (quotes doubled); a row without a
/// label has an empty label field.
/// </summary>
internal sealed class CsvWriter(string directory, string name, int dim) : EmbeddingWriter(directory, name, dim)
{
    private OutputFile _file = null!;

    protected override void Begin()
    {
        _file = Open($"{Name}.csv");
        var text = _file.Text;
        text.Write("id,label");
        for (int j = 0; j < Dim; j++)
        {
            text.Write(",v");
            text.Write(j.ToString(CultureInfo.InvariantCulture));
        }

        text.Write('\n');
    }

    protected override void WriteRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, IReadOnlyList<string?> labels)
    {
        var text = _file.Text;
        Span<char> buffer = stackalloc char[24];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i].TryFormat(buffer, out int n, provider: CultureInfo.InvariantCulture);
            text.Write(buffer[..n]);
            text.Write(',');
            text.Write(Quote(labels[i] ?? ""));
            WriteValues(text, values.Slice(i * Dim, Dim), ',', leadingSeparator: true);
            text.Write('\n');
        }
    }

    /// <summary>The field as RFC 4180 wants it: quoted, with quotes doubled, when it holds a comma, a quote or a line break.</summary>
    internal static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
