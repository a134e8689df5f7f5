using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Client.Query;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using ParameterServer.Core.Storage;

namespace ParameterServer.Embed.Bench;

/// <summary>
/// Settings of <c>embed bench query</c>. <c>Data</c>: rows and queries, <c>normal</c> (rows from N(0, I), queries
/// uniform in [−1, 1)) or <c>clustered</c> (<see cref="ClusteredRows"/>). <c>Probes</c> above 0: also time approximate
/// single-query searches that probe this many lists per shard, and their recall. <c>Lists</c>: lists per shard of the
/// index approximate searches use (0: about √rows of the shard).
/// </summary>
internal sealed record QueryBenchSettings(int Rows, int Dim, int K, int[] Batches, int Calls, int Shards, SimilarityMetric Metric, int Seed, string Table, bool Keep, string? Peer = null, string? PeerPython = null, string Data = "normal", int Probes = 0, int Lists = 0)
{
    /// <summary>Whether rows and queries come from a Gaussian mixture.</summary>
    public bool Clustered => Data == "clustered";
}

/// <summary>What the approximate searches measured: the index's build, single-query latency and throughput, and recall@k against the exact search of the same queries.</summary>
internal sealed record ApproxBenchRun(int Probes, int Lists, double BuildSeconds, long IndexBytes, QueryBenchRun Run, double Recall, int RecallQueries);

/// <summary>
/// Latency and throughput of one batch size. <c>StreamP50Ms</c>: the median time every core took to stream a buffer as
/// large as the table, timed right before each search of an exact single-query run (0 where not measured): a floor
/// measured under the same conditions as the searches, so p50 is compared with p50 on a machine whose bandwidth
/// moves from minute to minute.
/// </summary>
internal sealed record QueryBenchRun(int Batch, int Calls, double P50Ms, double P99Ms, double MeanMs, double QueriesPerSecond, double StreamP50Ms = 0);

/// <summary>What <c>embed bench query</c> measured.</summary>
internal sealed record QueryBenchReport(
    QueryBenchSettings Settings,
    string Cluster,
    int Cores,
    double FillSeconds,
    long TableValueBytes,
    double BandwidthOneThread,
    double BandwidthAllThreads,
    QueryBenchRun[] Runs,
    PeerReport? Peer = null,
    ApproxBenchRun? Approx = null)
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

        // The peer's interpreter was found before the cluster started (ResolvePeer).
        string? python = s.Peer is { Length: > 0 } ? s.PeerPython : null;
        if ((await ps.ListTablesAsync()).Contains(s.Table))
        {
            await ps.DropAsync(s.Table);
        }

        var spec = new TableSpec { Name = s.Table, Dim = s.Dim, Shards = s.Shards, Initializer = InitializerKind.Normal, InitScale = 1f, Seed = s.Seed, Optimizer = OptimizerKind.Sgd, LearningRate = 0.01f };
        var table = await ps.CreateTableAsync(spec);
        try
        {
            // The fill's rows: kept when the peer needs the same rows.
            float[]? rows = python is null ? null : new float[(long)s.Rows * s.Dim];
            double fill = await FillAsync(table, s, rows, progress, ct);
            progress("probing memory bandwidth ...");
            long bytes = (long)s.Rows * s.Dim * sizeof(float);
            var buffer = new float[(long)s.Rows * s.Dim];
            Array.Fill(buffer, 1f);
            double bw1 = MemoryBandwidth.Measure(buffer, 1);
            double bwAll = MemoryBandwidth.Measure(buffer, Environment.ProcessorCount);
            var runs = new List<QueryBenchRun>();
            var streams = new List<(int Batch, float[] Queries, long[][] OurFirstIds)>();
            foreach (int batch in s.Batches)
            {
                progress($"timing {s.Calls} searches of {batch} quer{(batch == 1 ? "y" : "ies")}, k {s.K}, {SimilarityMetrics.NameOf(s.Metric)}{(batch == 1 ? ", each after an all-core stream of the table's size" : "")} ...");
                float[] stream = QueryStream(s, batch);
                var (run, first) = await TimeAsync(new QueryClient(ps), s, batch, stream, ct, floorBuffer: batch == 1 ? buffer : null);
                runs.Add(run);
                if (python is not null)
                {
                    streams.Add((batch, stream, [.. Enumerable.Range(0, batch).Select(q => first.Ids[first.Offsets[q]..first.Offsets[q + 1]])]));
                }
            }

            ApproxBenchRun? approx = null;
            if (s.Probes > 0)
            {
                // Under the same conditions as the exact single-query run it is compared with: a stream before each search.
                approx = await TimeApproxAsync(new QueryClient(ps), s, QueryStream(s, 1), buffer, progress, ct);
            }

            buffer = null;
            GC.Collect();

            PeerReport? peerReport = null;
            if (python is not null && rows is not null)
            {
                progress($"timing FAISS ({python}) on the same rows and queries ...");
                peerReport = await FaissPeer.RunAsync(python, rows, s.Dim, s.K, s.Metric, Environment.ProcessorCount, streams, ct);
                if (FaissPeer.Warning(peerReport) is { } warning)
                {
                    progress(warning);
                }
            }

            return new QueryBenchReport(s, cluster, Environment.ProcessorCount, fill, bytes, bw1, bwAll, [.. runs], peerReport, approx);
        }
        finally
        {
            if (!s.Keep)
            {
                await ps.DropAsync(s.Table);
            }
        }
    }

    /// <summary>
    /// Creates rows 0..rows−1, a chunk per call: by pulling them (normal data: the shards draw them from the table's
    /// seed) or by writing draws of the mixture (clustered data). Their values go to <paramref name="keep"/>
    /// (row-major) when given, else to a scratch chunk. Returns the seconds it took.
    /// </summary>
    private static async Task<double> FillAsync(TableClient table, QueryBenchSettings s, float[]? keep, Action<string> progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        const int Chunk = 32_768;
        var ids = new long[Chunk];
        var scratch = keep is null ? new float[Chunk * table.Dim] : null;
        var mixture = s.Clustered ? new ClusteredRows(s.Rows, s.Dim, s.Seed) : null;
        for (int start = 0; start < s.Rows; start += Chunk)
        {
            ct.ThrowIfCancellationRequested();
            int n = Math.Min(Chunk, s.Rows - start);
            for (int i = 0; i < n; i++)
            {
                ids[i] = start + i;
            }

            var values = keep is null ? scratch.AsMemory(0, n * table.Dim) : keep.AsMemory(start * table.Dim, n * table.Dim);
            if (mixture is null)
            {
                await table.PullAsync(ids.AsMemory(0, n), values);
            }
            else
            {
                mixture.Draw(values.Span, first: start);
                await table.WriteAsync(ids.AsMemory(0, n), values);
            }

            if ((start / Chunk) % 8 == 7 || start + n == s.Rows)
            {
                progress($"filled {start + n:N0} / {s.Rows:N0} rows ({sw.Elapsed.TotalSeconds:F1} s)");
            }
        }

        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Checks <c>--peer</c> and finds its interpreter, before any cluster starts: a missing peer should not cost a
    /// whole benchmark first. Returns the settings with the interpreter that imports faiss as <c>PeerPython</c>.
    /// </summary>
    public static QueryBenchSettings ResolvePeer(QueryBenchSettings s)
    {
        if (s.Peer is not { Length: > 0 } peer)
        {
            return s;
        }

        if (!string.Equals(peer, "faiss", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"--peer: '{peer}' is not a known peer; the one known is faiss.");
        }

        if ((long)s.Rows * s.Dim > Array.MaxLength)
        {
            throw new ArgumentException($"--peer faiss reads the whole table into one array: {s.Rows:N0} rows of dim {s.Dim} are more than its {Array.MaxLength:N0} values; use fewer --rows.");
        }

        string python = FaissPeer.FindPython(s.PeerPython)
            ?? throw new ArgumentException($"--peer faiss needs a Python 3 with faiss and numpy ({(s.PeerPython is { Length: > 0 } given ? given : "python3 or /usr/bin/python3")} has none); on Debian: apt install python3-faiss, or name the interpreter with --peer-python.");
        return s with { PeerPython = python };
    }

    /// <summary>
    /// The queries of one batch size, call after call: 3 warm-up calls, then the timed ones (uniform in [−1, 1), or
    /// draws of the mixture that no row is for clustered data; seeded by the seed and the batch size), so a peer can be timed
    /// on exactly the same sequence.
    /// </summary>
    private static float[] QueryStream(QueryBenchSettings s, int batch)
    {
        var stream = new float[(3 + s.Calls) * batch * s.Dim];
        if (s.Clustered)
        {
            // The mixture is the one the rows came from (same seed); each batch size draws its own new points of it.
            new ClusteredRows(s.Rows, s.Dim, s.Seed).Draw(stream, first: ClusteredRows.QueryDraws + ((long)batch << 32));
            return stream;
        }

        var rng = new Random(s.Seed + batch);
        for (int i = 0; i < stream.Length; i++)
        {
            stream[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return stream;
    }

    /// <summary>
    /// Builds every shard's index, times <see cref="QueryBenchSettings.Calls"/> approximate single-query searches of
    /// <paramref name="stream"/> (the exact batch-1 run's queries), and measures recall@k: the share of the exact
    /// search's top-k ids (asked again, untimed, for up to 200 of the same queries) that the approximate search found.
    /// </summary>
    private static async Task<ApproxBenchRun> TimeApproxAsync(QueryClient client, QueryBenchSettings s, float[] stream, float[] floorBuffer, Action<string> progress, CancellationToken ct)
    {
        progress("building the index of every shard ...");
        var build = Stopwatch.StartNew();
        var shards = await client.BuildIndexAsync(s.Table, s.Metric, s.Lists);
        double buildSeconds = build.Elapsed.TotalSeconds;
        progress($"indexed {shards.Sum(x => x.Rows):N0} rows in {shards.Sum(x => x.Lists):N0} lists over {shards.Length} shards in {buildSeconds:F1} s; timing {s.Calls} approximate searches probing {s.Probes} lists per shard ...");
        var (run, _) = await TimeAsync(client, s, 1, stream, ct, s.Probes, floorBuffer);
        int recallQueries = Math.Min(s.Calls, 200);
        long found = 0, wanted = 0;
        for (int c = 0; c < recallQueries; c++)
        {
            ct.ThrowIfCancellationRequested();
            int at = (3 + c) * s.Dim;
            var exact = await client.SearchAsync(s.Table, stream.AsSpan(at, s.Dim), s.Dim, s.K, s.Metric);
            var approximate = await client.SearchAsync(s.Table, stream.AsSpan(at, s.Dim), s.Dim, s.K, s.Metric, probes: s.Probes);
            var truth = exact.Ids.ToHashSet();
            wanted += truth.Count;
            found += approximate.Ids.Count(truth.Contains);
        }

        return new ApproxBenchRun(s.Probes, shards.Sum(x => x.Lists), buildSeconds, shards.Sum(x => x.Bytes), run, wanted == 0 ? 1 : (double)found / wanted, recallQueries);
    }

    /// <summary>
    /// Times <see cref="QueryBenchSettings.Calls"/> searches of <paramref name="batch"/> queries from
    /// <paramref name="stream"/> after 3 warm-up calls; also returns the first timed call's result, which a peer's
    /// top-k is compared with. With <paramref name="floorBuffer"/>, every core streams it once right before each timed
    /// search (untimed for the search), and the run reports the median of those streams.
    /// </summary>
    private static async Task<(QueryBenchRun Run, SearchResult First)> TimeAsync(QueryClient client, QueryBenchSettings s, int batch, float[] stream, CancellationToken ct, int probes = 0, float[]? floorBuffer = null)
    {
        int size = batch * s.Dim;
        for (int w = 0; w < 3; w++)
        {
            await client.SearchAsync(s.Table, stream.AsSpan(w * size, size), s.Dim, s.K, s.Metric, probes: probes);
        }

        var ms = new double[s.Calls];
        var floorMs = new double[floorBuffer is null ? 0 : s.Calls];
        SearchResult? first = null;
        var total = Stopwatch.StartNew();
        for (int c = 0; c < s.Calls; c++)
        {
            ct.ThrowIfCancellationRequested();
            if (floorBuffer is not null)
            {
                floorMs[c] = MemoryBandwidth.StreamOnce(floorBuffer, Environment.ProcessorCount) * 1000.0;
            }

            var sw = Stopwatch.StartNew();
            var result = await client.SearchAsync(s.Table, stream.AsSpan((3 + c) * size, size), s.Dim, s.K, s.Metric, probes: probes);
            ms[c] = sw.Elapsed.TotalMilliseconds;
            if (result.Queries != batch || result.Offsets[1] != Math.Min(s.K, s.Rows))
            {
                throw new InvalidOperationException($"Search returned {result.Offsets[1]} hits for the first query; expected {Math.Min(s.K, s.Rows)}.");
            }

            first ??= result;
        }

        // Queries per second count the searches' own time, not the streams between them.
        double seconds = total.Elapsed.TotalSeconds - (floorMs.Sum() / 1000.0);
        Array.Sort(ms);
        Array.Sort(floorMs);
        double floorP50 = floorMs.Length == 0 ? 0 : Percentile(floorMs, 0.50);
        return (new QueryBenchRun(batch, s.Calls, Percentile(ms, 0.50), Percentile(ms, 0.99), ms.Average(), batch * s.Calls / seconds, floorP50), first!);
    }

    private static double Percentile(double[] sorted, double p)
    {
        double pos = p * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }
}
