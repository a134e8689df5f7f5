using System.Globalization;

namespace ParameterServer.Core.Data;

/// <summary>Options of <see cref="RatingsReader"/>. Defaults read MovieLens <c>ratings.csv</c>.</summary>
public sealed record RatingsReaderOptions
{
    /// <summary>Field delimiter. Default ','.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Whether the first line names the columns. Default true.</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>User column: a header name or a 0-based index. Default "userId".</summary>
    public string UserColumn { get; init; } = "userId";

    /// <summary>Item column: a header name or a 0-based index. Default "movieId".</summary>
    public string ItemColumn { get; init; } = "movieId";

    /// <summary>Rating column: a header name or a 0-based index. Default "rating".</summary>
    public string RatingColumn { get; init; } = "rating";

    /// <summary>Skip and count malformed rows instead of stopping at the first. Default false.</summary>
    public bool SkipBadRows { get; init; }
}

/// <summary>
/// Reads (user, item, rating) triples from a delimited file: MovieLens CSV by default, or any triples file by
/// column names or indexes. A malformed line stops the read with a <see cref="DataFormatException"/> naming file
/// and line, unless <see cref="RatingsReaderOptions.SkipBadRows"/> counts and skips it.
/// </summary>
public static class RatingsReader
{
    /// <summary>Reads every triple of <paramref name="path"/>.</summary>
    public static Ratings Read(string path, RatingsReaderOptions? options = null)
    {
        options ??= new RatingsReaderOptions();
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Ratings file '{path}' does not exist.", path);
        }

        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, true, 1 << 16);
        long lineNo = 0;
        int ucol, icol, rcol;
        var fields = new List<string>();
        if (options.HasHeader)
        {
            string? header = reader.ReadLine();
            lineNo++;
            if (header is null)
            {
                throw new DataFormatException(path, 0, "the file is empty; expected a header line naming the columns.");
            }

            DelimitedLine.TrySplit(header.TrimStart('\uFEFF'), options.Delimiter, fields);
            ucol = Resolve(options.UserColumn, fields, path, "user");
            icol = Resolve(options.ItemColumn, fields, path, "item");
            rcol = Resolve(options.RatingColumn, fields, path, "rating");
        }
        else
        {
            ucol = Resolve(options.UserColumn, null, path, "user");
            icol = Resolve(options.ItemColumn, null, path, "item");
            rcol = Resolve(options.RatingColumn, null, path, "rating");
        }

        int needed = Math.Max(ucol, Math.Max(icol, rcol)) + 1;
        var users = new List<long>(1 << 16);
        var items = new List<long>(1 << 16);
        var values = new List<float>(1 << 16);
        int skipped = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }

            string? problem = TryParse(line, options.Delimiter, ucol, icol, rcol, needed, fields, out long u, out long it, out float r);
            if (problem is not null)
            {
                if (options.SkipBadRows)
                {
                    skipped++;
                    continue;
                }

                throw new DataFormatException(path, lineNo, problem + " (use --skip-bad-rows to skip and count such lines)");
            }

            users.Add(u);
            items.Add(it);
            values.Add(r);
        }

        if (users.Count == 0)
        {
            throw new DataFormatException(path, 0, skipped > 0 ? $"no valid rows ({skipped} malformed rows skipped)." : "the file holds no rows.");
        }

        return new Ratings([.. users], [.. items], [.. values]) { SkippedRows = skipped };
    }

    internal static int Resolve(string column, List<string>? header, string path, string role)
    {
        if (header is not null)
        {
            int at = header.FindIndex(h => string.Equals(h.Trim(), column, StringComparison.OrdinalIgnoreCase));
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
        throw new DataFormatException(path, header is null ? 0 : 1, $"no {role} column '{column}'; {known}.");
    }

    private static string? TryParse(string line, char delimiter, int ucol, int icol, int rcol, int needed, List<string> fields, out long user, out long item, out float rating)
    {
        user = item = 0;
        rating = 0;
        if (!DelimitedLine.TrySplit(line, delimiter, fields))
        {
            return "unclosed quote.";
        }

        if (fields.Count < needed)
        {
            return $"expected at least {needed} fields separated by '{delimiter}', found {fields.Count}.";
        }

        if (!long.TryParse(fields[ucol], NumberStyles.Integer, CultureInfo.InvariantCulture, out user))
        {
            return $"user id '{fields[ucol]}' in column {ucol} is not an integer.";
        }

        if (!long.TryParse(fields[icol], NumberStyles.Integer, CultureInfo.InvariantCulture, out item))
        {
            return $"item id '{fields[icol]}' in column {icol} is not an integer.";
        }

        if (!float.TryParse(fields[rcol], NumberStyles.Float, CultureInfo.InvariantCulture, out rating) || !float.IsFinite(rating))
        {
            return $"rating '{fields[rcol]}' in column {rcol} is not a finite number.";
        }

        return null;
    }
}
