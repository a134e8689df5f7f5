namespace ParameterServer.Core.Data;

/// <summary>A data file that cannot be read as asked; the message names the file and the line.</summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="path"/> at 1-based <paramref name="line"/>.</summary>
    public DataFormatException(string path, long line, string problem)
        : base(line > 0 ? $"{path}:{line}: {Clip(problem)}" : $"{path}: {Clip(problem)}")
    {
        Path = path;
        Line = line;
    }

    /// <summary>
    /// <paramref name="problem"/> with every run of more than 120 characters without a space cut to its first 60 and
    /// its length: a message quotes the bad field, and a 50 MB field must not reach the terminal whole.
    /// </summary>
    public static string Clip(string problem) =>
        System.Text.RegularExpressions.Regex.Replace(problem ?? "", @"\S{121,}", m => $"{m.Value[..60]}… ({m.Length:N0} characters)");

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number, or 0 when the problem is the whole file.</summary>
    public long Line { get; }

    /// <summary>
    /// What a reader does with a line whose parse found <paramref name="problem"/> (null: none): true keeps it; a
    /// malformed line is counted in <paramref name="skipped"/> and passed over (false) when
    /// <paramref name="skipBadRows"/>, else it stops the read naming file and line.
    /// </summary>
    public static bool KeepLine(string? problem, bool skipBadRows, string path, long line, ref int skipped)
    {
        if (problem is null)
        {
            return true;
        }

        if (skipBadRows)
        {
            skipped++;
            return false;
        }

        throw new DataFormatException(path, line, problem + " (use --skip-bad-rows to skip and count such lines)");
    }

    /// <summary>The error of a file that yielded no row.</summary>
    public static DataFormatException NoRows(string path, int skipped) =>
        new(path, 0, skipped > 0 ? $"no valid rows ({skipped} malformed rows skipped)." : "the file holds no rows.");
}
