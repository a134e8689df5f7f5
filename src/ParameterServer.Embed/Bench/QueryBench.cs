using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Client.Query;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;

namespace ParameterServer.Embed.Bench;

/// <summary>Settings of <c>embed bench query</c>.</summary>
internal sealed record QueryBenchSettings(int Rows, int Dim, int K, int[] Batches, int Calls, int Shards, SimilarityMetric Metric, int Seed, string Table, bool Keep);

/// <summary>Latency and throughput of one batch size.</summary>
internal sealed record QueryBenchRun(int Batch, int Calls, double P50Ms, double P99Ms, double MeanMs, double QueriesPerSecond);

/// <summary>What <c>embed bench query</c> measured.</summary>
internal sealed record QueryBenchReport(
    QueryBenchSettings Settings,
    string Cluster,
    int Cores,
    double FillSeconds,
    long TableValueBytes,
    double BandwidthOneThread,
    double BandwidthAllThreads,
    QueryBenchRun[] Runs)
{
    /// <summary>Milliseconds to stream the table's values once at the one-thread bandwidth.</summary>
    public double StreamMs => TableValueBytes / BandwidthOneThread * 1000.0;

    /// <summary>
    /// Milliseconds to stream the table's values once with every core (the floor of an exact single-query search,
    /// which scans the shards on every core): p50 is reported over this.
    /// </summary>
    public double StreamAllCoresMs => TableValueBytes / BandwidthAllThreads * 1000.0;
}

/// <summary>
/// Fills a table with random rows (created by pulls, so the shards draw them from the table's seed), probes the
/// memory bandwidth in the same process, then times top-k searches of random query vectors.
/// </summary>
internal static class QueryBench
{
    public static async Task<QueryBenchReport> RunAsync(ParameterServerClient ps, string cluster, QueryBenchSettings s, Action<string> progress, CancellationToken ct)
    {
        if (s.Rows <= 0 || s.Calls <= 0 || s.Batches.Any(b => b is <= 0 or > QueryLimits.MaxQueries))
        {
            throw new ArgumentException($"--rows and --calls must be positive and every --batch between 1 and {QueryLimits.MaxQueries}.");
        }

        if ((await ps.ListTablesAsync()).Contains(s.Table))
        {
            await ps.DropAsync(s.Table);
        }

        var spec = new TableSpec { Name = s.Table, Dim = s.Dim, Shards = s.Shards, Initializer = InitializerKind.Normal, InitScale = 1f, Seed = s.Seed, Optimizer = OptimizerKind.Sgd, LearningRate = 0.01f };
        var table = await ps.CreateTableAsync(spec);
        try
        {
            double fill = await FillAsync(table, s.Rows, progress, ct);
            progress("probing memory bandwidth ...");
            long bytes = (long)s.Rows * s.Dim * sizeof(float);
            var buffer = new float[(long)s.Rows * s.Dim];
            Array.Fill(buffer, 1f);
            double bw1 = MemoryBandwidth.Measure(buffer, 1);
            double bwAll = MemoryBandwidth.Measure(buffer, Environment.ProcessorCount);
            buffer = null;
            GC.Collect();
            var runs = new List<QueryBenchRun>();
            foreach (int batch in s.Batches)
            {
                progress($"timing {s.Calls} searches of {batch} quer{(batch == 1 ? "y" : "ies")}, k {s.K}, {SimilarityMetrics.NameOf(s.Metric)} ...");
                runs.Add(await TimeAsync(new QueryClient(ps), s, batch, ct));
            }

            return new QueryBenchReport(s, cluster, Environment.ProcessorCount, fill, bytes, bw1, bwAll, [.. runs]);
        }
        finally
        {
            if (!s.Keep)
            {
                await ps.DropAsync(s.Table);
            }
        }
    }

    private static async Task<double> FillAsync(TableClient table, int rows, Action<string> progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        const int Chunk = 32_768;
        var ids = new long[Chunk];
        var values = new float[Chunk * table.Dim];
        for (int start = 0; start < rows; start += Chunk)
        {
            ct.ThrowIfCancellationRequested();
            int n = Math.Min(Chunk, rows - start);
            for (int i = 0; i < n; i++)
            {
                ids[i] = start + i;
            }

            await table.PullAsync(ids.AsMemory(0, n), values.AsMemory(0, n * table.Dim));
            if ((start / Chunk) % 8 == 7 || start + n == rows)
            {
                progress($"filled {start + n:N0} / {rows:N0} rows ({sw.Elapsed.TotalSeconds:F1} s)");
            }
        }

        return sw.Elapsed.TotalSeconds;
    }

    private static async Task<QueryBenchRun> TimeAsync(QueryClient client, QueryBenchSettings s, int batch, CancellationToken ct)
    {
        var rng = new Random(s.Seed + batch);
        float[] NextQueries()
        {
            var q = new float[batch * s.Dim];
            for (int i = 0; i < q.Length; i++)
            {
                q[i] = (float)((rng.NextDouble() * 2) - 1);
            }

            return q;
        }

        for (int w = 0; w < 3; w++)
        {
            await client.SearchAsync(s.Table, NextQueries(), s.Dim, s.K, s.Metric);
        }

        var ms = new double[s.Calls];
        var total = Stopwatch.StartNew();
        for (int c = 0; c < s.Calls; c++)
        {
            ct.ThrowIfCancellationRequested();
            var q = NextQueries();
            var sw = Stopwatch.StartNew();
            var result = await client.SearchAsync(s.Table, q, s.Dim, s.K, s.Metric);
            ms[c] = sw.Elapsed.TotalMilliseconds;
            if (result.Queries != batch || result.Offsets[1] != Math.Min(s.K, s.Rows))
            {
                throw new InvalidOperationException($"Search returned {result.Offsets[1]} hits for the first query; expected {Math.Min(s.K, s.Rows)}.");
            }
        }

        double seconds = total.Elapsed.TotalSeconds;
        Array.Sort(ms);
        return new QueryBenchRun(batch, s.Calls, Percentile(ms, 0.50), Percentile(ms, 0.99), ms.Average(), batch * s.Calls / seconds);
    }

    private static double Percentile(double[] sorted, double p)
    {
        double pos = p * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }
}
