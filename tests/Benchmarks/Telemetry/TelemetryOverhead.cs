using System.Diagnostics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using Orleans.TestingHost;
using ParameterServer.Abstractions.Telemetry;
using ParameterServer.Client;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Grains;

namespace ParameterServer.Benchmarks.Telemetry;

/// <summary>
/// <c>Benchmarks.dll telemetry [ratings.csv] [pairs]</c>: trains the same MovieLens job (mf, dim 64, 5 epochs) on
/// one in-process silo with metrics off and on (the worker's Prometheus listener, scraped every second), in
/// alternating order, and prints the median samples/s of each and their ratio. Everything runs in one process and
/// one run, so machine noise hits both sides alike.
/// </summary>
public static class TelemetryOverhead
{
    public static async Task RunAsync(string ratingsPath, int pairs)
    {
        var data = RatingsReader.Read(ratingsPath);
        var (train, valid) = data.Split(0.2, 42);
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var ps = new ParameterServerClient(cluster.Client);
        var off = new List<double>();
        var on = new List<double>();
        for (int i = 0; i < pairs * 2; i++)
        {
            bool metrics = (i % 2 == 0) == (i / 2 % 2 == 0); // off,on then on,off: neither side always goes first
            double rate = await TrainOnceAsync(ps, train, valid, metrics, $"overhead{i}");
            (metrics ? on : off).Add(rate);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {i + 1,2}: metrics {(metrics ? "on " : "off")} {rate,12:N0} samples/s"));
        }

        double medianOff = Median(off), medianOn = Median(on);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median samples/s: metrics off {medianOff:N0}, metrics on {medianOn:N0}; on/off = {medianOn / medianOff:F3} ({pairs} pairs, {Environment.ProcessorCount} cores)"));
    }

    private static async Task<double> TrainOnceAsync(ParameterServerClient ps, Ratings train, Ratings valid, bool metrics, string prefix)
    {
        MeterProvider? provider = null;
        using var scraper = new HttpClient();
        using var stop = new CancellationTokenSource();
        Task scraping = Task.CompletedTask;
        if (metrics)
        {
            provider = Sdk.CreateMeterProviderBuilder().AddMeter(ParameterServerTelemetry.Name, "Microsoft.Orleans")
                .AddPrometheusHttpListener(o =>
                {
                    o.Host = "127.0.0.1";
                    o.Port = 9699;
                }).Build();
            scraping = ScrapeAsync(scraper, stop.Token);
        }

        try
        {
            var options = new TrainingOptions { Model = RatingModelKind.Mf, Dim = 64, Epochs = 5, Patience = 100, TablePrefix = prefix, Seed = 42 };
            var report = await new RatingTrainer(ps, options).TrainAsync(train, valid);
            return report.SamplesPerSecond;
        }
        finally
        {
            await stop.CancelAsync();
            await scraping;
            provider?.Dispose();
            foreach (string suffix in new[] { "users", "items", "user_bias", "item_bias" })
            {
                await ps.DropAsync($"{prefix}.{suffix}");
            }
        }
    }

    private static async Task ScrapeAsync(HttpClient http, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await http.GetStringAsync("http://127.0.0.1:9699/metrics", ct);
                await Task.Delay(1000, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
