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
        long linesRead = 0;
        int ucol, icol, rcol;
        var fields = new List<string>();
        if (options.HasHeader)
        {
            DelimitedHeader.Read(reader, path, options.Delimiter, fields);
            linesRead++;
            ucol = DelimitedHeader.Resolve(options.UserColumn, fields, path, "user");
            icol = DelimitedHeader.Resolve(options.ItemColumn, fields, path, "item");
            rcol = DelimitedHeader.Resolve(options.RatingColumn, fields, path, "rating");
        }
        else
        {
            ucol = DelimitedHeader.Resolve(options.UserColumn, null, path, "user");
            icol = DelimitedHeader.Resolve(options.ItemColumn, null, path, "item");
            rcol = DelimitedHeader.Resolve(options.RatingColumn, null, path, "rating");
        }

        int needed = Math.Max(ucol, Math.Max(icol, rcol)) + 1;
        var users = new List<long>(1 << 16);
        var items = new List<long>(1 << 16);
        var values = new List<float>(1 << 16);
        int skipped = 0;
        foreach (var (lineNo, line) in DelimitedLine.NonEmptyLines(reader, linesRead))
        {
            if (!DataFormatException.KeepLine(TryParse(line, options.Delimiter, ucol, icol, rcol, needed, fields, out long u, out long it, out float r), options.SkipBadRows, path, lineNo, ref skipped))
            {
                continue;
            }

            users.Add(u);
            items.Add(it);
            values.Add(r);
        }

        if (users.Count == 0)
        {
            throw DataFormatException.NoRows(path, skipped);
        }

        return new Ratings([.. users], [.. items], [.. values]) { SkippedRows = skipped };
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
