namespace ParameterServer.Testing;

/// <summary>Temporary files of one test class, deleted when it is disposed (linked into each test project that needs it).</summary>
public sealed class TempFiles : IDisposable
{
    private readonly List<string> _files = [];

    /// <summary>A new temporary <c>.csv</c> file holding <paramref name="content"/>.</summary>
    public string Write(string content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ps-tests-{Guid.NewGuid():N}.csv");
        _files.Add(path);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        foreach (string f in _files)
        {
            File.Delete(f);
        }
    }
}
