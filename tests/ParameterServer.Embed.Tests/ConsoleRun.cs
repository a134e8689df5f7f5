namespace ParameterServer.Embed.Tests;

/// <summary>
/// Runs the <c>embed</c> console in this process with its output captured. Console redirection is process-wide, so
/// every test that uses it sits in the <see cref="ConsoleCollection"/>, which runs alone.
/// </summary>
internal static class ConsoleRun
{
    public static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldError) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = await Program.Main(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }
}

/// <summary>Tests that redirect the console run one at a time, apart from every other test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "console";
}
