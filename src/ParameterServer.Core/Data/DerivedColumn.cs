using System.Globalization;

namespace ParameterServer.Core.Data;

/// <summary>
/// A column computed from another column of the same line while reading, written <c>name=function(column)</c>:
/// <c>year</c>, <c>month</c> (1–12), <c>weekday</c> (0 = Sunday) or <c>hour</c> (0–23), in UTC, of a time stamp given
/// as Unix seconds (MovieLens' <c>timestamp</c>) or as an ISO-8601 date. Its value is an integer's text, so it can
/// be a categorical or a numeric column.
/// </summary>
/// <param name="Name">The new column's name.</param>
/// <param name="Function">One of <see cref="Functions"/>.</param>
/// <param name="Source">The column it is computed from (header name or 0-based index).</param>
public sealed record DerivedColumn(string Name, string Function, string Source)
{
    /// <summary>The functions a derived column may apply.</summary>
    public static readonly IReadOnlyList<string> Functions = ["year", "month", "weekday", "hour"];

    /// <summary>Parses <c>name=function(column)</c>; anything else is an <see cref="ArgumentException"/> showing the form.</summary>
    public static DerivedColumn Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        int open = spec.IndexOf('(', StringComparison.Ordinal);
        string text = spec.Trim();
        if (eq <= 0 || open < eq || !text.EndsWith(')'))
        {
            throw new ArgumentException($"--derive '{spec}' is not name=function(column), e.g. year=year(timestamp).");
        }

        string name = spec[..eq].Trim();
        string function = spec[(eq + 1)..open].Trim().ToLowerInvariant();
        string source = text[(text.IndexOf('(', StringComparison.Ordinal) + 1)..^1].Trim();
        if (name.Length == 0 || source.Length == 0)
        {
            throw new ArgumentException($"--derive '{spec}' is not name=function(column), e.g. year=year(timestamp).");
        }

        if (!Functions.Contains(function))
        {
            throw new ArgumentException($"--derive '{spec}': unknown function '{function}'. Valid functions: {string.Join(", ", Functions)}.");
        }

        return new DerivedColumn(name, function, source);
    }

    /// <summary>The derived value of <paramref name="source"/>'s text, or null when it is no time stamp.</summary>
    public string? Compute(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        DateTime utc;
        if (long.TryParse(source, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds)
            && seconds >= DateTimeOffset.MinValue.ToUnixTimeSeconds() && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            utc = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
        }
        else if (DateTimeOffset.TryParse(source, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            utc = date.UtcDateTime;
        }
        else
        {
            return null;
        }

        int value = Function switch
        {
            "year" => utc.Year,
            "month" => utc.Month,
            "weekday" => (int)utc.DayOfWeek,
            _ => utc.Hour,
        };
        return value.ToString(CultureInfo.InvariantCulture);
    }
}
