namespace ParameterServer.Core.Data;

/// <summary>Splits one delimited line into fields, honouring double quotes (RFC 4180 style, "" for a quote).</summary>
public static class DelimitedLine
{
    /// <summary>Fills <paramref name="fields"/> with the fields of <paramref name="line"/>; returns false on an unclosed quote.</summary>
    public static bool TrySplit(string line, char delimiter, List<string> fields)
    {
        fields.Clear();
        if (line.IndexOf('"', StringComparison.Ordinal) < 0)
        {
            foreach (var part in line.Split(delimiter))
            {
                fields.Add(part);
            }

            return true;
        }

        var sb = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"')
                    {
                        sb.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == delimiter)
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        fields.Add(sb.ToString());
        return !quoted;
    }

    /// <summary>
    /// The remaining non-empty lines of <paramref name="reader"/> with their 1-based numbers, counting on from
    /// <paramref name="linesRead"/> lines already read (a header).
    /// </summary>
    public static IEnumerable<(long Number, string Text)> NonEmptyLines(TextReader reader, long linesRead)
    {
        ArgumentNullException.ThrowIfNull(reader);
        long number = linesRead;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            number++;
            if (line.Length > 0)
            {
                yield return (number, line);
            }
        }
    }
}
