using System.CommandLine;
using ParameterServer.Core.Data;
using ParameterServer.Worker.Commands;

namespace ParameterServer.Worker;

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
        try
        {
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ArgumentException or DataFormatException or FileNotFoundException or KeyNotFoundException or InvalidOperationException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            // Anything else (the cluster went away, a server error): one line, no stack dump; exit code 1.
            await Console.Error.WriteLineAsync($"error: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }
}
