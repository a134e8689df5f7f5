using System.Text.RegularExpressions;

namespace ParameterServer.Abstractions;

/// <summary>Error and log text fit to show: on one line, with passwords in connection strings masked.</summary>
public static partial class ErrorText
{
    /// <summary><paramref name="text"/> with its line breaks as spaces.</summary>
    public static string OneLine(string text) => (text ?? "").ReplaceLineEndings(" ").Trim();

    /// <summary>Every <c>password=...</c> value (a Redis or database connection string) replaced by <c>***</c>.</summary>
    public static string MaskSecrets(string text) => Password().Replace(text ?? "", "$1***");

    [GeneratedRegex(@"(?i)(password=)[^,;\s]*")]
    private static partial Regex Password();
}
