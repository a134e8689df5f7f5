using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ParameterServer.Abstractions;
using ParameterServer.Core.Search;
using ParameterServer.Embed.Bench;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed bench ...</c>: measurements of the parameter server on this machine.</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Measure the parameter server on this machine; figures come with a baseline measured in the same run.")
    {
        Query(),
        TrainBenchCommand.Create(),
    };

    private static Command Query()
    {
        var rows = new Option<int>("--rows") { Description = "Rows in the table.", DefaultValueFactory = _ => 1_000_000 };
        var dim = new Option<int>("--dim") { Description = "Values per row.", DefaultValueFactory = _ => 64 };
        var k = QueryCommand.TopK();
        var batch = new Option<string>("--batch") { Description = "Query vectors per search call; a comma-separated list runs each, e.g. 1,64.", DefaultValueFactory = _ => "1,64" };
        var calls = new Option<int>("--calls") { Description = "Timed search calls per batch size (after 3 warm-up calls).", DefaultValueFactory = _ => 50 };
        var shards = new Option<int>("--shards") { Description = "Shards of the table.", DefaultValueFactory = _ => 8 };
        var metric = QueryCommand.Metric("dot");
        var seed = new Option<int>("--seed") { Description = "Seed of rows and queries.", DefaultValueFactory = _ => 1 };
        var table = new Option<string>("--table") { Description = "Name of the benchmark table (dropped before and after).", DefaultValueFactory = _ => "bench.query" };
        var keep = new Option<bool>("--keep") { Description = "Keep the table afterwards." };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var peer = new Option<string>("--peer") { Description = "Also time a peer on the same rows and queries in this run and print the ratios: faiss (FAISS's exact IndexFlatIP, or IndexFlatL2 for euclidean, on every core; needs Python 3 with faiss and numpy, Debian's python3-faiss, and an optimized BLAS such as libopenblas0-pthread for a fair ratio: the report names the BLAS FAISS ran on)." };
        var peerPython = new Option<string>("--peer-python") { Description = "Python interpreter of the peer (default: python3, then /usr/bin/python3, the first that imports faiss)." };
        var data = new Option<string>("--data") { Description = "Rows and queries: normal (rows from N(0, I), queries uniform in [-1, 1): no structure, the hardest case for an index) or clustered (a Gaussian mixture, one cluster per 1,000 rows, queries drawn from it, as trained embeddings group).", DefaultValueFactory = _ => "normal" };
        data.AcceptOnlyFromAmong("normal", "clustered");
        var approx = new Option<bool>("--approx") { Description = "Also build every shard's index and time approximate single-query searches (needs batch 1 among --batch): latency, queries/s over the exact ones, and recall@k against exact search." };
        var probes = QueryCommand.Probes();
        var lists = new Option<int>("--lists") { Description = "With --approx: lists per shard of the index (0: about the square root of the shard's rows).", DefaultValueFactory = _ => 0 };
        var cluster = CommonOptions.Cluster();
        var command = new Command("query", "Fill a table with random rows, probe the memory bandwidth, and time exact top-k searches: p50/p99 latency and queries/s, with the time to stream the table once as the yardstick; with --approx, approximate ones and their recall too.")
        {
            rows, dim, k, batch, calls, shards, metric, seed, table, keep, json, peer, peerPython, data, approx, probes, lists, cluster,
        };
        var telemetry = CommonOptions.Telemetry();
        telemetry.AddTo(command);
        command.SetAction(async (p, ct) =>
        {
            await using var exporters = await telemetry.Start(p);
            int[] batches = [.. p.GetValue(batch)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(b => int.TryParse(b, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"--batch: '{b}' is not a whole number."))];
            var settings = new QueryBenchSettings(p.GetValue(rows), p.GetValue(dim), QueryCommand.CheckK(p.GetValue(k)), batches, p.GetValue(calls), p.GetValue(shards),
                SimilarityMetrics.Parse(p.GetValue(metric)!), p.GetValue(seed), p.GetValue(table)!, p.GetValue(keep), p.GetValue(peer), p.GetValue(peerPython),
                p.GetValue(data)!, p.GetValue(approx) ? QueryCommand.CheckProbes(p.GetValue(probes)) : 0, p.GetValue(lists));
            if (settings.Probes > 0 && !batches.Contains(1))
            {
                throw new ArgumentException("--approx compares single-query searches: --batch must include 1.");
            }

            if (settings.Lists is < 0 or > QueryLimits.MaxProbes)
            {
                throw new ArgumentException($"--lists must be 0 (about the square root of a shard's rows) to {QueryLimits.MaxProbes}; got {settings.Lists}.");
            }

            settings = QueryBench.ResolvePeer(settings);
            bool asJson = p.GetValue(json);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var report = await QueryBench.RunAsync(connection.Client, connection.Description, settings, m => Console.Error.WriteLine($"bench: {m}"), ct);
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    rows = settings.Rows,
                    dim = settings.Dim,
                    k = settings.K,
                    shards = settings.Shards,
                    metric = SimilarityMetrics.NameOf(settings.Metric),
                    data = settings.Data,
                    cluster = report.Cluster,
                    cores = report.Cores,
                    fill_seconds = report.FillSeconds,
                    table_value_bytes = report.TableValueBytes,
                    bandwidth_one_thread_bytes_per_second = report.BandwidthOneThread,
                    bandwidth_all_threads_bytes_per_second = report.BandwidthAllThreads,
                    stream_ms = report.StreamMs,
                    stream_all_cores_ms = report.StreamAllCoresMs,
                    runs = report.Runs.Select(r => new { batch = r.Batch, calls = r.Calls, p50_ms = r.P50Ms, p99_ms = r.P99Ms, mean_ms = r.MeanMs, queries_per_second = r.QueriesPerSecond, p50_over_stream = r.P50Ms / report.StreamMs, p50_over_stream_all_cores = r.P50Ms / report.StreamAllCoresMs, stream_all_cores_p50_ms = r.StreamP50Ms > 0 ? r.StreamP50Ms : (double?)null, p50_over_stream_p50 = r.StreamP50Ms > 0 ? r.P50Ms / r.StreamP50Ms : (double?)null }),
                    approx = report.Approx is not { } a ? null : new
                    {
                        probes = a.Probes,
                        lists = a.Lists,
                        build_seconds = a.BuildSeconds,
                        index_bytes = a.IndexBytes,
                        p50_ms = a.Run.P50Ms,
                        p99_ms = a.Run.P99Ms,
                        queries_per_second = a.Run.QueriesPerSecond,
                        over_exact_queries_per_second = a.Run.QueriesPerSecond / report.Runs.First(r => r.Batch == 1).QueriesPerSecond,
                        recall = a.Recall,
                        recall_queries = a.RecallQueries,
                    },
                    peer = report.Peer is not { } peerReport ? null : new
                    {
                        name = peerReport.Name,
                        version = peerReport.Version,
                        threads = peerReport.Threads,
                        blas = peerReport.Blas,
                        runs = peerReport.Runs.Select(r => new
                        {
                            batch = r.Batch,
                            p50_ms = r.P50Ms,
                            queries_per_second = r.QueriesPerSecond,
                            agreement = r.Agreement,
                            ours_over_peer_queries_per_second = report.Runs.First(o => o.Batch == r.Batch).QueriesPerSecond / r.QueriesPerSecond,
                        }),
                    },
                }));
                return 0;
            }

            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"bench query: {settings.Rows:N0} rows x {settings.Dim} ({settings.Data}), {settings.Shards} shards, k {settings.K}, {SimilarityMetrics.NameOf(settings.Metric)}; cluster {report.Cluster}; {report.Cores} cores; filled in {report.FillSeconds:F1} s"));
            Console.WriteLine(string.Create(c, $"memory bandwidth: {report.BandwidthOneThread / 1e9:F2} GB/s one thread, {report.BandwidthAllThreads / 1e9:F2} GB/s {report.Cores} threads; streaming the table's {report.TableValueBytes / 1e6:F0} MB once takes {report.StreamMs:F2} ms at one thread, {report.StreamAllCoresMs:F2} ms on {report.Cores} cores (the floor p50 is compared with)"));
            Console.WriteLine($"{"batch",5} {"calls",6} {"p50 ms",9} {"p99 ms",9} {"mean ms",9} {"queries/s",11} {"p50/floor",11} {"stream p50",11} {"p50/stream",11}");
            foreach (var r in report.Runs)
            {
                string inline = r.StreamP50Ms > 0 ? string.Create(c, $"{r.StreamP50Ms,11:F2} {r.P50Ms / r.StreamP50Ms,11:F2}") : $"{"-",11} {"-",11}";
                Console.WriteLine(string.Create(c, $"{r.Batch,5} {r.Calls,6} {r.P50Ms,9:F2} {r.P99Ms,9:F2} {r.MeanMs,9:F2} {r.QueriesPerSecond,11:F1} {r.P50Ms / report.StreamAllCoresMs,11:F2} {inline}"));
            }

            if (report.Runs.Any(r => r.StreamP50Ms > 0))
            {
                Console.WriteLine("(p50/floor: over the best all-core stream before the runs; stream p50: the median of the all-core streams timed right before each single-query search, p50/stream over it)");
            }

            if (report.Approx is { } ar)
            {
                var exact = report.Runs.First(r => r.Batch == 1);
                Console.WriteLine(string.Create(c, $"approximate (index of {ar.Lists:N0} lists in all, {ar.IndexBytes / 1e6:F0} MB, built in {ar.BuildSeconds:F1} s; {ar.Probes} probes per shard):"));
                Console.WriteLine(string.Create(c, $"{1,5} {ar.Run.Calls,6} {ar.Run.P50Ms,9:F2} {ar.Run.P99Ms,9:F2} {ar.Run.MeanMs,9:F2} {ar.Run.QueriesPerSecond,11:F1}   {ar.Run.QueriesPerSecond / exact.QueriesPerSecond:F1}x the exact queries/s, recall@{settings.K} {ar.Recall:F3} over {ar.RecallQueries} queries"));
            }

            if (report.Peer is { } pr)
            {
                Console.WriteLine(FaissPeer.Describe(pr) + ":");
                foreach (var r in pr.Runs)
                {
                    var ours = report.Runs.First(o => o.Batch == r.Batch);
                    Console.WriteLine(string.Create(c, $"{r.Batch,5} p50 {r.P50Ms,8:F2} ms  {r.QueriesPerSecond,9:F1} queries/s   ours {ours.QueriesPerSecond / r.QueriesPerSecond:F2}x its queries/s, p50 {ours.P50Ms / r.P50Ms:F2}x its p50; top-{settings.K} agreement {r.Agreement:P1}"));
                }
            }

            return 0;
        });
        return command;
    }
}
