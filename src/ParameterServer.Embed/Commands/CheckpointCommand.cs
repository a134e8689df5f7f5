using System.CommandLine;
using ParameterServer.Abstractions;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed checkpoint</c>: every shard of the named tables (or of every table) writes a checkpoint now.</summary>
internal static class CheckpointCommand
{
    public static Command Create()
    {
        var tables = new Argument<string[]>("tables") { Description = "Tables to checkpoint (default: every table).", Arity = ArgumentArity.ZeroOrMore };
        var cluster = CommonOptions.Cluster();
        var command = new Command("checkpoint", "Make every shard of the tables write a checkpoint now (silos started with Checkpoints:Directory, :Blob:Container or :S3:Bucket), e.g. before maintenance.")
        {
            tables, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            if (string.IsNullOrWhiteSpace(p.GetValue(cluster)))
            {
                throw new ArgumentException("checkpoint needs --cluster: the tables to write live in a running cluster.");
            }

            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            string[] names = p.GetValue(tables) is { Length: > 0 } given ? given : await connection.Client.ListTablesAsync();
            foreach (string name in names)
            {
                TableSpec.ValidateName(name);
                var results = await connection.Client.CheckpointAsync(name);
                Console.WriteLine($"checkpoint {name}: {results.Length} shards, {results.Sum(r => r.Rows):N0} rows, {results.Sum(r => r.OptimizerSteps):N0} optimizer steps; e.g. {results.FirstOrDefault()?.Path}");
            }

            if (names.Length == 0)
            {
                Console.WriteLine("checkpoint: no tables");
            }

            return 0;
        });
        return command;
    }
}
