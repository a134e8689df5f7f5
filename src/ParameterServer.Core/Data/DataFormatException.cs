namespace ParameterServer.Core.Data;

/// <summary>A data file that cannot be read as asked; the message names the file and the line.</summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="path"/> at 1-based <paramref name="line"/>.</summary>
    public DataFormatException(string path, long line, string problem)
        : base(line > 0 ? $"{path}:{line}: {problem}" : $"{path}: {problem}")
    {
        Path = path;
        Line = line;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number, or 0 when the problem is the whole file.</summary>
    public long Line { get; }
}
