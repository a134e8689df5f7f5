using System.Globalization;

namespace ParameterServer.Core.Data;

/// <summary>Reads item labels from a MovieLens <c>movies.csv</c> (<c>movieId,title,genres</c>, quoted titles allowed).</summary>
public static class TitlesReader
{
    /// <summary>Maps item id to title.</summary>
    public static Dictionary<long, string> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Items file '{path}' does not exist.", path);
        }

        var titles = new Dictionary<long, string>();
        var fields = new List<string>();
        long lineNo = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNo++;
            if (lineNo == 1 || line.Length == 0)
            {
                continue;
            }

            if (!DelimitedLine.TrySplit(line, ',', fields) || fields.Count < 2)
            {
                throw new DataFormatException(path, lineNo, "expected 'movieId,title[,genres]'.");
            }

            if (!long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long id))
            {
                throw new DataFormatException(path, lineNo, $"movie id '{fields[0]}' is not an integer.");
            }

            titles[id] = fields[1];
        }

        return titles;
    }
}
