using System.CommandLine;
using ParameterServer.Core.Data;
using ParameterServer.Embed.Commands;

namespace ParameterServer.Embed;

/// <summary>The <c>embed</c> console.</summary>
public static class Program
{
    /// <summary>Runs a command; returns 0 on success, 2 on bad input, 1 on other failures.</summary>
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("embed: train and use embeddings held by an Orleans parameter server. Without --cluster, commands start a silo inside this process.")
        {
            DemoCommand.Create(),
            TrainCommand.Create(),
            TrainCommand.Create(crossValidation: true),
            TrainCommand.Create(tune: true),
            PredictCommand.Create(),
            QueryCommand.Create(),
            RecommendCommand.Create(),
            FoldInCommand.Create(),
            WatchCommand.Create(),
            CheckpointCommand.Create(),
            GenerateCommand.Create(),
            TablesCommand.Create(),
            BenchCommand.Create(),
            PlotCommand.Create(),
            ImportCommand.Create(),
            ExportCommand.Create(),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && args.Length > 0)
        {
            // A mistyped option or a value of the wrong type: say what, in a line each, and where help is; the whole
            // help text after it would bury the error.
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {Friendly(error.Message)}");
            }

            await Console.Error.WriteLineAsync($"('{string.Join(' ', parsed.CommandResult.Command.Name == root.Name ? ["embed"] : ["embed", .. CommandPath(parsed.CommandResult)])} --help' lists the options.)");
            return 2;
        }

        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ArgumentException or DataFormatException or FileNotFoundException or KeyNotFoundException or InvalidOperationException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"error: {Clip(e.Message)}");
            return 2;
        }
        catch (Exception e)
        {
            // Anything else (the cluster went away, a server error): one line, no stack dump; exit code 1.
            await Console.Error.WriteLineAsync($"error: {e.GetType().Name}: {Clip(e.Message)}");
            return 1;
        }
    }

    /// <summary>An error message cut to 2,000 characters (the start says what and where).</summary>
    private static string Clip(string message) => message.Length <= 2000 ? message : $"{message[..2000]}… ({message.Length:N0} characters)";

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null && r.Parent is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(r.Command.Name);
        }

        return names;
    }

    /// <summary>A parse error with .NET type names said in words ("a whole number" rather than System.Nullable`1[System.Int64]).</summary>
    internal static string Friendly(string message)
    {
        string text = System.Text.RegularExpressions.Regex.Replace(message, @"System\.Nullable`1\[System\.(\w+)\]", "System.$1");
        return text
            .Replace("as expected type 'System.Int64'", "as a whole number from -9223372036854775808 to 9223372036854775807", StringComparison.Ordinal)
            .Replace("as expected type 'System.Int32'", "as a whole number from -2147483648 to 2147483647", StringComparison.Ordinal)
            .Replace("as expected type 'System.Single'", "as a number", StringComparison.Ordinal)
            .Replace("as expected type 'System.Double'", "as a number", StringComparison.Ordinal)
            .Replace("as expected type 'System.Boolean'", "as true or false", StringComparison.Ordinal);
    }
}
