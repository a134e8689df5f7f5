using System.Text.RegularExpressions;

namespace ParameterServer.Abstractions;

/// <summary>Error and log text fit to show: on one line, with passwords in connection strings masked.</summary>
public static partial class ErrorText
{
    /// <summary><paramref name="text"/> with its line breaks as spaces.</summary>
    public static string OneLine(string text) => (text ?? "").ReplaceLineEndings(" ").Trim();

    /// <summary>
    /// Every secret a connection string or URL can carry replaced by <c>***</c>: <c>password=</c> (Redis, databases),
    /// <c>AccountKey=</c> and <c>SharedAccessSignature=</c> (Azure Storage), <c>sig=</c> (a SAS in a URL).
    /// </summary>
    public static string MaskSecrets(string text) => Password().Replace(text ?? "", "$1$2***");

    [GeneratedRegex(@"(?i)(sharedaccesssignature=)[^;\s]*|(password=|accountkey=|sig=)[^,;&\s]*")]
    private static partial Regex Password();
}
