using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed tables list|describe|drop</c>.</summary>
internal static class TablesCommand
{
    public static Command Create()
    {
        var cluster = CommonOptions.Cluster();
        cluster.Recursive = true;
        var list = new Command("list", "List the tables: dim, shards, rows resident and bytes.");
        list.SetAction(async (p, ct) =>
        {
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var names = await connection.Client.ListTablesAsync();
            Console.WriteLine($"{"table",-32} {"dim",5} {"shards",6} {"rows",12} {"bytes",14} {"optimizer",9}");
            int broken = 0;
            foreach (var name in names)
            {
                try
                {
                    var info = await connection.Client.DescribeAsync(name);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-32} {info.Spec.Dim,5} {info.Spec.Shards,6} {info.Rows,12:N0} {info.Bytes,14:N0} {info.Spec.Optimizer.ToString().ToLowerInvariant(),9}"));
                }
                catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or TimeoutException or OrleansException)
                {
                    // One table that cannot be read (a shard lost its checkpoints) does not hide the others.
                    broken++;
                    Console.WriteLine($"{name,-32} error: {e.Message}");
                }
            }

            if (broken > 0)
            {
                return 1;
            }

            if (names.Length == 0)
            {
                Console.WriteLine(connection.Embedded ? "(no tables: the embedded silo starts empty; use --cluster to see a running cluster's tables)" : "(no tables)");
            }

            return 0;
        });

        var nameArg = new Argument<string>("name") { Description = "Table name." };
        var json = new Option<bool>("--json") { Description = "Print the table's spec, figures and shards (with the silo holding each and its gateway) as one JSON line." };
        var describe = new Command("describe", "Describe one table: spec, metadata, how many shards each silo holds, and every shard.") { nameArg, json };
        describe.SetAction(async (p, ct) =>
        {
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var info = await connection.Client.DescribeAsync(p.GetValue(nameArg)!);
            var s = info.Spec;
            var placement = info.Shards.GroupBy(x => x.Silo).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (Silo: g.Key, Shards: g.Count())).ToArray();
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    name = s.Name,
                    dim = s.Dim,
                    shards = s.Shards,
                    optimizer = s.Optimizer.ToString().ToLowerInvariant(),
                    rows = info.Rows,
                    bytes = info.Bytes,
                    optimizer_steps = info.OptimizerSteps,
                    metadata = info.Metadata,
                    placement = placement.ToDictionary(x => x.Silo, x => x.Shards),
                    shard_list = info.Shards.OrderBy(x => x.Index).Select(x => new { index = x.Index, rows = x.Rows, bytes = x.Bytes, steps = x.OptimizerSteps, silo = x.Silo, gateway = x.Gateway, checkpoint_error = x.CheckpointError }),
                }));
                return 0;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"table {s.Name}: dim {s.Dim}, {s.Shards} shards, init {s.Initializer.ToString().ToLowerInvariant()}({s.InitScale}), seed {s.Seed}, {s.Optimizer.ToString().ToLowerInvariant()} lr {s.LearningRate} weight decay {s.WeightDecay}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rows {info.Rows:N0}, bytes {info.Bytes:N0}, optimizer steps {info.OptimizerSteps:N0}"));
            foreach (var kv in info.Metadata)
            {
                Console.WriteLine($"metadata {kv.Key} = {kv.Value}");
            }

            // Shards follow the silos (they move when silos join or leave gracefully): say where they are now.
            Console.WriteLine($"placement: {string.Join(", ", placement.Select(x => $"{x.Shards} on {x.Silo}"))}");
            foreach (var shard in info.Shards)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  shard {shard.Index,4}: rows {shard.Rows,10:N0} bytes {shard.Bytes,12:N0} steps {shard.OptimizerSteps,12:N0} on {shard.Silo}{(shard.CheckpointError is { } error ? $" (checkpoint failing: {error})" : "")}"));
            }

            return 0;
        });

        var dropName = new Argument<string?>("name") { Description = "Table name (or give --prefix).", Arity = ArgumentArity.ZeroOrOne };
        var prefix = new Option<string?>("--prefix") { Description = "Drop every table named PREFIX.* instead: the tables of one job (e.g. ratings drops ratings.users, ratings.items, ratings.user_bias, ratings.item_bias)." };
        var drop = new Command("drop", "Drop a table (or every table of a job with --prefix) and every row it holds.") { dropName, prefix };
        drop.SetAction(async (p, ct) =>
        {
            string? name = p.GetValue(dropName), byPrefix = p.GetValue(prefix);
            if ((name is null) == (byPrefix is null))
            {
                throw new ArgumentException("tables drop needs a table name or --prefix PREFIX (not both).");
            }

            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            if (byPrefix is not null)
            {
                string[] names = await connection.Client.DropPrefixAsync(byPrefix);
                foreach (string n in names)
                {
                    Console.WriteLine($"dropped {n}");
                }

                if (names.Length == 0)
                {
                    Console.WriteLine($"no table named {byPrefix}.*");
                }

                return names.Length > 0 ? 0 : 2;
            }

            bool dropped = await connection.Client.DropAsync(name!);
            Console.WriteLine(dropped ? $"dropped {name}" : $"no table named {name}");
            return dropped ? 0 : 2;
        });

        return new Command("tables", "Inspect and drop tables.") { list, describe, drop, cluster };
    }
}
