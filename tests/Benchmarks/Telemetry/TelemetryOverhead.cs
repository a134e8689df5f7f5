using System.Globalization;
using OpenTelemetry.Metrics;
using Orleans.TestingHost;
using ParameterServer.Client;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Embed;
using ParameterServer.Grains;

namespace ParameterServer.Benchmarks.Telemetry;

/// <summary>
/// <c>Benchmarks.dll telemetry [ratings.csv|synthetic] [pairs]</c>: one training job (mf, dim 64, embedded silo) whose epochs
/// alternate between metrics off and metrics on, where "on" is exactly what <c>embed train --metrics-port</c> runs
/// (the worker's exporter, scraped every second), in a shuffled balanced order; the first two epochs warm up and
/// are not counted. Prints the median epoch samples/s of each side and the
/// ratio: both sides share the process, the tables and the minute, so machine noise hits them alike.
/// </summary>
public static class TelemetryOverhead
{
    public static async Task RunAsync(string ratingsPath, int pairs)
    {
        // Epochs must last long enough (about a second) for a few percent to stand out of the noise: MovieLens
        // small's 80,000 training ratings take 0.1 s. "synthetic" draws 1,250,000 MovieLens-like ratings instead.
        var data = ratingsPath == "synthetic"
            ? SyntheticRatings.Generate(new SyntheticSettings(Users: 20_000, Items: 5_000, Count: 1_250_000, Seed: 42)).Data
            : RatingsReader.Read(ratingsPath);
        var (train, valid) = data.Split(0.2, 42);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var ps = new ParameterServerClient(cluster.Client);

        const int warmup = 2;
        int epochs = warmup + (2 * pairs);
        // Epochs have periodic costs of their own (large snapshots, gen-2 collections); an A/A run (OVERHEAD_MODE=aa)
        // must read 1.0 within noise.
        // Pairs of adjacent epochs, on/off in random order within each pair: a pair shares the job's moment, so the
        // ratio within a pair cancels the drift of throughput over the job; the median of the pair ratios is reported.
        var rng = new Random(7);
        var plan = Enumerable.Range(0, pairs).SelectMany(_ => rng.Next(2) == 0 ? new[] { true, false } : new[] { false, true }).ToArray();
        bool On(int epoch) => epoch > warmup && epoch <= epochs && plan[epoch - warmup - 1];
        var off = new List<double>();
        var byEpoch = new Dictionary<int, double>();
        var on = new List<double>();
        IAsyncDisposable? exporter = null;
        string mode = Environment.GetEnvironmentVariable("OVERHEAD_MODE") ?? "full";
        using var scraper = new HttpClient();
        var trainer = new RatingTrainer(ps, new TrainingOptions { Model = RatingModelKind.Mf, Dim = 64, Epochs = epochs, Patience = 1000, TablePrefix = "overhead", Seed = 42, RankK = 0, RecordHistory = false });
        trainer.EpochFinished += e =>
        {
            if (e.Epoch > warmup)
            {
                (On(e.Epoch) ? on : off).Add(e.SamplesPerSecond);
                byEpoch[e.Epoch] = e.SamplesPerSecond;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {e.Epoch,3}: metrics {(On(e.Epoch) ? "on " : "off")} {e.SamplesPerSecond,12:N0} samples/s"));
            }

            // Switch for the next epoch, outside the timed part (the handler runs between epochs).
            bool next = On(e.Epoch + 1);
            if (next && exporter is null)
            {
                exporter = Start(mode);
                if (exporter is WorkerTelemetry or Kestrel)
                {
                    // A real job starts its exporter once; its first scrape (endpoint set-up) is not per epoch.
                    scraper.GetStringAsync("http://127.0.0.1:9699/metrics").GetAwaiter().GetResult();
                }
            }
            else if (!next && exporter is not null)
            {
                exporter.DisposeAsync().AsTask().GetAwaiter().GetResult();
                exporter = null;
            }
        };

        using var stop = new CancellationTokenSource();
        var scraping = ScrapeAsync(scraper, () => exporter is WorkerTelemetry or Kestrel, stop.Token);
        await trainer.TrainAsync(train, valid);
        await stop.CancelAsync();
        await scraping;
        if (exporter is not null)
        {
            await exporter.DisposeAsync();
        }

        double medianOff = Median(off), medianOn = Median(on);
        var ratios = new List<double>();
        for (int k = 0; k < pairs; k++)
        {
            double a = byEpoch[warmup + 1 + (2 * k)], b = byEpoch[warmup + 2 + (2 * k)];
            ratios.Add(plan[2 * k] ? a / b : b / a);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median epoch samples/s: metrics off {medianOff:N0}, metrics on {medianOn:N0}; median of {pairs} adjacent-pair ratios on/off = {Median(ratios):F3} ({Environment.ProcessorCount} cores, mode {mode})"));
    }

    private static IAsyncDisposable Start(string mode) => mode switch
    {
        "full" => WorkerTelemetry.StartAsync(9699, null, 0).GetAwaiter().GetResult(),
        "aa" => new Provider(null),
        "kestrel" => Kestrel.Start(),
        "listener" => new Listener(),
        _ => new Provider(OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddMeter(mode.Split(',')).AddView(i => ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry.KeepInstrument(i) ? null : MetricStreamConfiguration.Drop).AddReader(new OpenTelemetry.Metrics.BaseExportingMetricReader(new NoExport())).Build()),
    };

    private sealed class Kestrel(Microsoft.AspNetCore.Builder.WebApplication app) : IAsyncDisposable
    {
        public static Kestrel Start()
        {
            var b = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
            Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(b.WebHost, "http://127.0.0.1:9699");
            var app = b.Build();
            Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(app, "/metrics", () => new string('x', 100_000));
            app.StartAsync().GetAwaiter().GetResult();
            return new Kestrel(app);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class Listener : IAsyncDisposable
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _seen = new();
        private readonly System.Diagnostics.Metrics.MeterListener _l = new();

        public Listener()
        {
            _l.InstrumentPublished = (i, _) => _seen.AddOrUpdate(i.Meter.Name + "/" + i.Name, 1, (_, n) => n + 1);
            _l.Start();
        }

        public ValueTask DisposeAsync()
        {
            Console.WriteLine($"instruments published: {_seen.Values.Sum()} ({_seen.Count} distinct); most: {string.Join(", ", _seen.OrderByDescending(kv => kv.Value).Take(5).Select(kv => $"{kv.Key}={kv.Value}"))}");
            _l.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class NoExport : OpenTelemetry.BaseExporter<OpenTelemetry.Metrics.Metric>
    {
        public override OpenTelemetry.ExportResult Export(in OpenTelemetry.Batch<OpenTelemetry.Metrics.Metric> batch) => OpenTelemetry.ExportResult.Success;
    }

    private sealed class Provider(OpenTelemetry.Metrics.MeterProvider? p) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            p?.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private static async Task ScrapeAsync(HttpClient http, Func<bool> serving, CancellationToken ct)
    {
        // A scrape cadence (like Prometheus' scrape_interval), not a wait for something to happen.
        using var every = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (serving())
                {
                    await http.GetStringAsync("http://127.0.0.1:9699/metrics", ct);
                }

                await every.WaitForNextTickAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (HttpRequestException)
            {
                // The exporter was just switched off between epochs.
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
