namespace ParameterServer.Storage;

/// <summary>Rules shared by the object stores' key prefixes.</summary>
internal static class ObjectKeys
{
    /// <summary>Throws when <paramref name="prefix"/> would make keys that some store refuses or that climb out of it.</summary>
    public static void ValidatePrefix(string setting, string prefix)
    {
        if (prefix.Length > 512 || prefix.StartsWith('/') || prefix.Contains("//", StringComparison.Ordinal)
            || prefix.Split('/').Any(p => p is "." or "..") || prefix.Any(c => char.IsControl(c) || c == '\\'))
        {
            throw new ArgumentException($"{setting} = '{prefix}' is not a key prefix (relative, '/'-separated, no '.', '..', '//', '\\' or control characters, at most 512 characters).");
        }
    }
}
