using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ParameterServer.Core.Optimizers;
using ParameterServer.Embed.Bench;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed bench train</c>: training throughput through the parameter server against an in-memory loop.</summary>
internal static class TrainBenchCommand
{
    public static Command Create()
    {
        var users = new Option<int>("--users") { Description = "Users of the synthetic data set.", DefaultValueFactory = _ => 100_000 };
        var items = new Option<int>("--items") { Description = "Items of the synthetic data set.", DefaultValueFactory = _ => 50_000 };
        var ratings = new Option<int>("--ratings") { Description = "Ratings of the synthetic data set.", DefaultValueFactory = _ => 10_000_000 };
        var dim = new Option<int>("--dim") { Description = "Embedding dimension.", DefaultValueFactory = _ => 64 };
        var latent = new Option<int>("--latent-dim") { Description = "Dimension of the planted factors.", DefaultValueFactory = _ => 8 };
        var popularity = new Option<float>("--popularity") { Description = "Zipf exponent of item popularity (0 = uniform; about 1 is MovieLens-like).", DefaultValueFactory = _ => 1f };
        var optimizer = new Option<string>("--optimizer") { Description = "Optimizer of both runs: sgd, adagrad or adam.", DefaultValueFactory = _ => "adagrad" };
        var lr = new Option<float?>("--lr") { Description = "Learning rate (default: adagrad 0.05, adam 0.005, sgd 0.01)." };
        var workers = new Option<int>("--workers") { Description = "Worker loops of the parameter-server run.", DefaultValueFactory = _ => 2 };
        var staleness = new Option<int>("--staleness") { Description = "Outstanding pushes per loop.", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch-size") { Description = "Samples per step of the parameter-server run.", DefaultValueFactory = _ => 1024 };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data in each run.", DefaultValueFactory = _ => 1 };
        var shards = new Option<int>("--shards") { Description = "Shards per table.", DefaultValueFactory = _ => 8 };
        var seed = new Option<int>("--seed") { Description = "Seed of the data set, the split and the order.", DefaultValueFactory = _ => 1 };
        var prefix = new Option<string>("--table-prefix") { Description = "Prefix of the benchmark's tables (dropped before and after).", DefaultValueFactory = _ => "bench-train" };
        var noPrefetch = new Option<bool>("--no-prefetch") { Description = "Pull each batch only when its turn comes, instead of while the previous one computes." };
        var cacheRows = new Option<int>("--cache-rows") { Description = "Hot users and items (the most frequent) cached by the worker process (0 = off); see embed train --cache-rows.", DefaultValueFactory = _ => 0 };
        var cacheStaleness = new Option<int>("--cache-staleness") { Description = "Steps a cached hot row may be older than the step that reads it.", DefaultValueFactory = _ => 8 };
        var referenceThreads = new Option<int>("--reference-threads") { Description = "Threads of the all-core in-memory reference (0 = one per core).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of text." };
        var wire = CommonOptions.Wire();
        var cluster = CommonOptions.Cluster();
        var command = new Command("train", "Generate a MovieLens-like data set, train mf on it through the parameter server, and time the fastest in-memory trainer of the same model and optimizer (fused kernel, prefetch; one thread and Hogwild on every core) before and after as the reference: samples/s and their ratios to both (cost_ratio_one_thread, cost_ratio_all_cores), CPU seconds per million samples of the worker and of each silo process on this machine (over the job, and with --epochs 2 or more also over the epochs after the first, without what each process pays once), bytes the worker allocated per sample, calls per step, payload bytes per sample each way, p50/p99 step time, staleness, and bytes per resident row against the floor.")
        {
            users, items, ratings, dim, latent, popularity, optimizer, lr, workers, staleness, batch, epochs, shards, seed, prefix, noPrefetch, cacheRows, cacheStaleness, referenceThreads, wire, json, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            var opt = OptimizerSettings.ParseKind(p.GetValue(optimizer)!);
            var s = new TrainBenchSettings(p.GetValue(users), p.GetValue(items), p.GetValue(ratings), p.GetValue(dim), p.GetValue(latent), p.GetValue(popularity), opt,
                p.GetValue(lr) ?? TrainCommand.DefaultLearningRate(opt), p.GetValue(workers), p.GetValue(staleness), p.GetValue(batch), p.GetValue(epochs),
                p.GetValue(shards), p.GetValue(seed), p.GetValue(prefix)!, !p.GetValue(noPrefetch), p.GetValue(cacheRows), p.GetValue(cacheStaleness), p.GetValue(referenceThreads), CommonOptions.ParseWire(p.GetValue(wire)!));
            if (s.Users < 1 || s.Items < 1 || s.Ratings < 100 || s.Epochs < 1)
            {
                throw new ArgumentException("--users and --items must be at least 1, --ratings at least 100, --epochs at least 1.");
            }

            if (s.ReferenceThreads is < 0 or > 1024)
            {
                throw new ArgumentException($"--reference-threads must be between 0 (one per core) and 1024; got {s.ReferenceThreads}.");
            }

            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var r = await TrainBench.RunAsync(connection.Client, connection.Description, connection.Embedded, s, m => Console.Error.WriteLine($"bench: {m}"), ct);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    users = s.Users,
                    items = s.Items,
                    ratings = s.Ratings,
                    dim = s.Dim,
                    optimizer = s.Optimizer.ToString().ToLowerInvariant(),
                    workers = s.Workers,
                    staleness = s.Staleness,
                    prefetch = s.Prefetch,
                    wire = CommonOptions.NameOf(s.Wire),
                    cache_rows = s.CacheRows,
                    cache_staleness = s.CacheStaleness,
                    cache_hit_rate = r.Job.CacheHitRate,
                    batch_size = s.BatchSize,
                    epochs = s.Epochs,
                    cluster = r.Cluster,
                    cores = r.Cores,
                    samples = r.Samples,
                    samples_per_second = r.Job.SamplesPerSecond,
                    reference_one_thread_samples_per_second = r.Reference.OneThread,
                    reference_all_cores_samples_per_second = r.Reference.AllCores,
                    reference_threads = r.Reference.Threads,
                    cost_ratio_one_thread = r.CostRatioOneThread,
                    cost_ratio_all_cores = r.CostRatioAllCores,
                    cpu_cost_ratio = r.CpuCostRatio,
                    processes = r.Processes.Select(proc => new
                    {
                        role = proc.Role,
                        pid = proc.Pid,
                        cpu_seconds_per_million_samples = proc.CpuSecondsPerMillionSamples,
                        steady_cpu_seconds_per_million_samples = proc.SteadyCpuSecondsPerMillionSamples,
                    }),
                    allocated_bytes_per_sample = r.AllocatedBytesPerSample,
                    calls_per_step = r.CallsPerStep,
                    local_parts_per_step = r.LocalPartsPerStep,
                    socket_calls_per_step = r.SocketCallsPerStep,
                    payload_bytes_sent_per_sample = r.PayloadBytesSentPerSample,
                    payload_bytes_received_per_sample = r.PayloadBytesReceivedPerSample,
                    loopback_bytes_per_sample = r.LoopbackBytesPerSample,
                    rows_pulled_per_second = r.RowsPulledPerSecond,
                    rows_pushed_per_second = r.RowsPushedPerSecond,
                    step_p50_ms = r.Job.StepP50Ms,
                    step_p99_ms = r.Job.StepP99Ms,
                    mean_outstanding_pushes = r.Job.MeanOutstandingPushes,
                    validation_rmse = r.Job.ValidationRmse,
                    reference_one_thread_rmse = r.Reference.OneThreadRmse,
                    reference_all_cores_rmse = r.Reference.AllCoresRmse,
                    memory = r.Memory.Select(m => new { table = m.Table, rows = m.Rows, bytes = m.Bytes, bytes_per_row = m.BytesPerRow, floor_bytes_per_row = m.FloorBytesPerRow }),
                }));
                return 0;
            }

            var c = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"bench train: {s.Ratings:N0} ratings, {s.Users:N0} users x {s.Items:N0} items, dim {s.Dim}, {s.Optimizer.ToString().ToLowerInvariant()}, {s.Workers} workers, staleness {s.Staleness}, batch {s.BatchSize}, {s.Epochs} epoch(s), wire {CommonOptions.NameOf(s.Wire)}; cluster {r.Cluster}; {r.Cores} cores"));
            Console.WriteLine(string.Create(c, $"parameter server     {r.Job.SamplesPerSecond,12:N0} samples/s   validation RMSE {r.Job.ValidationRmse:F4}"));
            Console.WriteLine(string.Create(c, $"in-memory, 1 thread  {r.Reference.OneThread,12:N0} samples/s   validation RMSE {r.Reference.OneThreadRmse:F4}   (fused kernel, prefetch; mean of a run before and after)"));
            Console.WriteLine(string.Create(c, $"in-memory, {r.Reference.Threads} threads {r.Reference.AllCores,11:N0} samples/s   validation RMSE {r.Reference.AllCoresRmse:F4}   (Hogwild)"));
            Console.WriteLine(string.Create(c, $"cost ratio           {r.CostRatioOneThread,12:F3} of one thread, {r.CostRatioAllCores:F3} of every core; a sample costs {r.CpuCostRatio:F1}x the CPU of one thread"));
            foreach (var proc in r.Processes)
            {
                string steady = proc.SteadyCpuSecondsPerMillionSamples is { } st ? string.Create(c, $", {st:F2} in the epochs after the first") : "";
                Console.WriteLine(string.Create(c, $"{proc.Role} (pid {proc.Pid}): {proc.CpuSecondsPerMillionSamples:F2} CPU seconds per million samples{steady}"));
            }

            Console.WriteLine(string.Create(c, $"this process allocated {r.AllocatedBytesPerSample:F0} bytes per sample on the managed heap"));

            if (r.LoopbackBytesPerSample is { } loopback)
            {
                Console.WriteLine(string.Create(c, $"loopback: {loopback:F0} bytes on the wire per sample, both ways together (/proc/net/dev)"));
            }

            Console.WriteLine(string.Create(c, $"{r.CallsPerStep:F2} calls ({r.SocketCallsPerStep:F2} over step sockets) and {r.LocalPartsPerStep:F1} in-process parts per step; payload {r.PayloadBytesSentPerSample:F0} bytes sent and {r.PayloadBytesReceivedPerSample:F0} received per sample; rows pulled {r.RowsPulledPerSecond:N0}/s, pushed {r.RowsPushedPerSecond:N0}/s; step p50 {r.Job.StepP50Ms:F2} ms, p99 {r.Job.StepP99Ms:F2} ms; {r.Job.MeanOutstandingPushes:F2} pushes outstanding per step"));
            if (r.Job.CacheHitRate is { } hitRate)
            {
                Console.WriteLine(string.Create(c, $"cache {s.CacheRows:N0} hot rows per table, staleness {s.CacheStaleness}: hit rate {hitRate:P1}, {(double)r.Job.RowsPulled / Math.Max(1, r.Job.Steps):F0} rows pulled per step"));
            }

            foreach (var m in r.Memory)
            {
                Console.WriteLine(string.Create(c, $"table {m.Table,-24} {m.Rows,10:N0} rows  {m.BytesPerRow,8:F1} bytes/row  floor {m.FloorBytesPerRow} ({m.BytesPerRow / m.FloorBytesPerRow:F2}x)"));
            }

            return 0;
        });
        return command;
    }
}
