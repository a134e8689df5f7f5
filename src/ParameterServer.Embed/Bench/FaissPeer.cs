using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using ParameterServer.Core.Search;

namespace ParameterServer.Embed.Bench;

/// <summary>What FAISS measured for one batch size on the benchmark's own rows and queries.</summary>
internal sealed record PeerRun(int Batch, double P50Ms, double QueriesPerSecond, double Agreement);

/// <summary>
/// FAISS's exact flat index, its version and the BLAS library it multiplies with (openblas, mkl, blis, reference or
/// the library's path), as the peer run reported them.
/// </summary>
internal sealed record PeerReport(string Name, string Version, int Threads, PeerRun[] Runs, string Blas = "unknown")
{
    /// <summary>
    /// Debian's python3-faiss runs on whichever BLAS the system's alternatives point at; with only the reference BLAS
    /// (a plain triple loop) installed, a batch of 64 on 1M x 64 rows ran at 24 queries/s, against 353-381 with OpenBLAS
    /// as the peer runs it (measured on a 2-core AMD EPYC), so a ratio against it flatters us.
    /// </summary>
    public bool OnReferenceBlas => Blas == "reference";
}

/// <summary>
/// <c>embed bench query --peer faiss</c>: FAISS's exact flat index (<c>IndexFlatIP</c>, or <c>IndexFlatL2</c> for
/// euclidean; cosine as inner product of normalized vectors, as FAISS users do) timed on the same rows and the same
/// query sequence as the parameter server, in a Python child process (Debian's <c>python3-faiss</c>). Rows and
/// queries travel as raw little-endian float32 files in a temporary folder, deleted afterwards.
/// </summary>
internal static class FaissPeer
{
    /// <summary>
    /// The first of <paramref name="requested"/> (or <c>python3</c>, then <c>/usr/bin/python3</c>, where a Python
    /// manager may have put another interpreter first on PATH) that imports faiss and numpy; null when none does.
    /// </summary>
    public static string? FindPython(string? requested)
    {
        string[] candidates = requested is { Length: > 0 } ? [requested] : ["python3", "/usr/bin/python3"];
        foreach (string python in candidates)
        {
            try
            {
                using var check = Process.Start(new ProcessStartInfo(python, ["-c", "import faiss, numpy"]) { RedirectStandardError = true, RedirectStandardOutput = true });
                if (check is not null && check.WaitForExit(60_000) && check.ExitCode == 0)
                {
                    return python;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under this name: try the next.
            }
        }

        return null;
    }

    /// <summary>
    /// Runs the peer: <paramref name="rows"/> (row i is id i), for each batch size its query stream of 3 warm-up calls
    /// then the timed calls (<paramref name="streams"/>), and our own ids of the first timed call per batch
    /// (in <paramref name="streams"/> too, k per query) to report how far the two top-k agree.
    /// </summary>
    public static async Task<PeerReport> RunAsync(string python, float[] rows, int dim, int k, SimilarityMetric metric, int threads, IReadOnlyList<(int Batch, float[] Queries, long[][] OurFirstIds)> streams, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("embed-bench-faiss-");
        try
        {
            string rowsPath = Path.Combine(folder.FullName, "rows.f32");
            WriteFloats(rowsPath, rows); // the table's values are large: written from the array, not copied first
            var batches = new List<object>();
            foreach (var (batch, queries, _) in streams)
            {
                string path = Path.Combine(folder.FullName, $"queries-{batch}.f32");
                WriteFloats(path, queries);
                batches.Add(new { batch, queries = path });
            }

            string script = Path.Combine(folder.FullName, "faiss_peer.py");
            await File.WriteAllTextAsync(script, Script, ct);
            string args = JsonSerializer.Serialize(new { rows = rowsPath, dim, k, metric = SimilarityMetrics.NameOf(metric), threads, batches });
            var start = new ProcessStartInfo(python, [script, args]) { RedirectStandardOutput = true, RedirectStandardError = true };

            // FAISS parallelizes over queries with OpenMP; BLAS threads on top of that oversubscribe the cores
            // (measured: 54 instead of 178 queries/s for a batch of 64 on 2 cores). A setting of the caller's wins.
            if (Environment.GetEnvironmentVariable("OPENBLAS_NUM_THREADS") is null)
            {
                start.Environment["OPENBLAS_NUM_THREADS"] = "1";
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
            var output = process.StandardOutput.ReadToEndAsync(ct);
            var error = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
            {
                string last = (await error).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
                throw new InvalidOperationException($"The FAISS peer ({python}) exited with code {process.ExitCode}: {last}");
            }

            return Parse(await output, streams, k);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static void WriteFloats(string path, float[] values)
    {
        using var file = File.Create(path);
        file.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static PeerReport Parse(string output, IReadOnlyList<(int Batch, float[] Queries, long[][] OurFirstIds)> streams, int k)
    {
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        var runs = new List<PeerRun>();
        foreach (var run in root.GetProperty("runs").EnumerateArray())
        {
            int batch = run.GetProperty("batch").GetInt32();
            long[][] ours = streams.First(s => s.Batch == batch).OurFirstIds;
            long[][] theirs = [.. run.GetProperty("first_ids").EnumerateArray().Select(q => q.EnumerateArray().Select(i => i.GetInt64()).ToArray())];
            double agree = 0;
            for (int q = 0; q < ours.Length; q++)
            {
                agree += ours[q].Intersect(theirs[q]).Count() / (double)Math.Max(1, Math.Min(k, ours[q].Length));
            }

            runs.Add(new PeerRun(batch, run.GetProperty("p50_ms").GetDouble(), run.GetProperty("queries_per_second").GetDouble(), agree / Math.Max(1, ours.Length)));
        }

        string blas = root.TryGetProperty("blas", out var b) && b.GetString() is { Length: > 0 } name ? name : "unknown";
        return new PeerReport(root.GetProperty("index").GetString()!, root.GetProperty("faiss").GetString()!, root.GetProperty("threads").GetInt32(), [.. runs], blas);
    }

    /// <summary>The peer: loads the rows into a flat index and times the query stream as the benchmark did.</summary>
    private const string Script = """
        import json, sys, time
        import numpy as np, faiss

        def blas():
            # The library this process maps as libblas.so.3, where FAISS's matrix products run: Debian's alternatives
            # name it by its folder (openblas-pthread, blis-openmp, ...; the reference BLAS in blas/). Other libraries
            # (OpenBLAS's own LAPACK pulls in libopenblas.so.0 even beside the reference BLAS) say nothing.
            try:
                fields = [l.split() for l in open("/proc/self/maps")]
                paths = sorted({f[5] for f in fields if len(f) >= 6 and f[5].count("/") >= 2})
            except OSError:
                return "unknown"
            for p in paths:
                folder, name = p.split("/")[-2:]
                if name.startswith("libblas.so"):
                    known = [n for n in ("openblas", "blis", "mkl", "atlas") if n in folder]
                    return known[0] if known else "reference" if folder == "blas" else p
            return "mkl" if any("libmkl" in p for p in paths) else "unknown"

        a = json.loads(sys.argv[1])
        faiss.omp_set_num_threads(a["threads"])
        dim, k, metric = a["dim"], a["k"], a["metric"]
        x = np.fromfile(a["rows"], dtype="<f4").reshape(-1, dim)
        if metric == "cosine":
            faiss.normalize_L2(x)
        index = faiss.IndexFlatL2(dim) if metric == "euclidean" else faiss.IndexFlatIP(dim)
        index.add(x)
        runs = []
        for b in a["batches"]:
            batch = b["batch"]
            q = np.fromfile(b["queries"], dtype="<f4").reshape(-1, dim)
            if metric == "cosine":
                faiss.normalize_L2(q)
            calls = q.reshape(-1, batch, dim)
            for i in range(3):
                index.search(np.ascontiguousarray(calls[i]), k)
            times, first = [], None
            total = time.perf_counter()
            for i in range(3, calls.shape[0]):
                c = np.ascontiguousarray(calls[i])
                t0 = time.perf_counter()
                _, ids = index.search(c, k)
                times.append(time.perf_counter() - t0)
                if first is None:
                    first = ids
            total = time.perf_counter() - total
            times.sort()
            runs.append(dict(batch=batch, p50_ms=times[len(times) // 2] * 1e3, queries_per_second=batch * len(times) / total,
                             first_ids=first.tolist()))
        print(json.dumps(dict(index=type(index).__name__, faiss=faiss.__version__, threads=a["threads"], blas=blas(), runs=runs)))
        """;

    /// <summary>Formats a peer's version line for the text report.</summary>
    public static string Describe(PeerReport peer) =>
        string.Create(CultureInfo.InvariantCulture, $"FAISS {peer.Version} {peer.Name}, {peer.Threads} threads, {peer.Blas} BLAS, same rows and queries");

    /// <summary>The warning printed when the peer ran on the reference BLAS; null otherwise.</summary>
    public static string? Warning(PeerReport peer) => peer.OnReferenceBlas
        ? "warning: FAISS ran on the reference BLAS (a plain loop, over ten times slower than OpenBLAS for a batch), so the ratios flatter us; install an optimized one (Debian: apt-get install libopenblas0-pthread) for a fair comparison."
        : null;
}
