using System.Globalization;

namespace ParameterServer.Core.Data;

/// <summary>Parses a user's ratings written inline as <c>"itemId:rating,itemId:rating,..."</c>.</summary>
public static class RatingPairs
{
    /// <summary>
    /// The item ids and ratings of <paramref name="text"/>, in order. A malformed pair is an
    /// <see cref="ArgumentException"/> that names the pair's 1-based position, the character where it starts and what is wrong.
    /// </summary>
    public static (long[] Items, float[] Ratings) Parse(string text, string optionName = "--ratings")
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException($"{optionName} is empty: give at least one movieId:rating pair, e.g. \"1:4.5,296:3\".");
        }

        var items = new List<long>();
        var ratings = new List<float>();
        int start = 0;
        int position = 0;
        while (start <= text.Length)
        {
            int comma = text.IndexOf(',', start);
            int end = comma < 0 ? text.Length : comma;
            position++;
            string pair = text[start..end].Trim();
            string where = $"{optionName}: pair {position} (\"{pair}\", at character {start + 1})";
            int colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (pair.Length == 0)
            {
                throw new ArgumentException($"{optionName}: pair {position} (at character {start + 1}) is empty; write movieId:rating pairs separated by single commas.");
            }

            if (colon < 0 || pair.IndexOf(':', colon + 1) >= 0)
            {
                throw new ArgumentException($"{where} is not movieId:rating.");
            }

            string id = pair[..colon].Trim(), value = pair[(colon + 1)..].Trim();
            if (!long.TryParse(id, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long item))
            {
                throw new ArgumentException($"{where}: movie id \"{id}\" is not a whole number.");
            }

            if (!float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float rating) || !float.IsFinite(rating))
            {
                throw new ArgumentException($"{where}: rating \"{value}\" is not a finite number.");
            }

            items.Add(item);
            ratings.Add(rating);
            start = end + 1;
            if (comma < 0)
            {
                break;
            }
        }

        return ([.. items], [.. ratings]);
    }
}
