using System.Globalization;

namespace ParameterServer.Core.Data;

/// <summary>The header line of a delimited file and columns named by header name or 0-based index.</summary>
public static class DelimitedHeader
{
    /// <summary>
    /// Reads the first line of <paramref name="reader"/> into <paramref name="fields"/> (a UTF-8 byte order mark
    /// dropped); a <see cref="DataFormatException"/> when the file is empty.
    /// </summary>
    public static void Read(TextReader reader, string path, char delimiter, List<string> fields)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string? header = reader.ReadLine() ?? throw new DataFormatException(path, 0, "the file is empty; expected a header line naming the columns.");
        if (!DelimitedLine.TrySplit(header.TrimStart('\uFEFF'), delimiter, fields))
        {
            throw new DataFormatException(path, 1, "unclosed quote in the header line.");
        }
    }

    /// <summary>
    /// The 0-based index of <paramref name="column"/>: a name in <paramref name="header"/> (ignoring case and
    /// surrounding spaces) or, failing that, a 0-based index. An unknown column is a <see cref="DataFormatException"/>
    /// that lists the header (<paramref name="role"/> says what the column was for, <paramref name="more"/> names
    /// columns the caller adds besides the header) and says when the header looks like a line of data.
    /// </summary>
    public static int Resolve(string column, List<string>? header, string path, string role, string? more = null)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (header is not null)
        {
            int at = header.FindIndex(h => string.Equals(h.Trim(), column.Trim(), StringComparison.OrdinalIgnoreCase));
            if (at >= 0)
            {
                return at;
            }
        }

        if (int.TryParse(column, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            return index;
        }

        string known = header is null ? "the file has no header, so give a 0-based column index" : $"the header has: {string.Join(", ", header)}";
        if (more is not null)
        {
            known += "; " + more;
        }

        if (header is not null && header.All(h => double.TryParse(h, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
        {
            known += " (that first line looks like data: the file seems to have no header line)";
        }

        throw new DataFormatException(path, header is null ? 0 : 1, $"no {role} column '{column}'; {known}.");
    }
}
