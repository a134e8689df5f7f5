using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Embed;

/// <summary>
/// The worker's exporters: the ParameterServer meter (plus Orleans' and the .NET runtime's) on
/// <c>http://127.0.0.1:PORT/metrics</c> (<c>--metrics-port</c>, served by Kestrel: the exporter's own
/// HttpListener cost a tenth of training throughput here), and/or OTLP (<c>--otlp-endpoint</c>) for metrics and
/// traces. With neither, nothing listens and the instruments cost next to nothing.
/// </summary>
public sealed class WorkerTelemetry : IAsyncDisposable
{
    private readonly WebApplication? _web;
    private readonly MeterProvider? _meters;
    private readonly TracerProvider? _traces;
    private readonly TimeSpan _linger;

    private WorkerTelemetry(WebApplication? web, MeterProvider? meters, TracerProvider? traces, TimeSpan linger, string? description)
    {
        _web = web;
        _meters = meters;
        _traces = traces;
        _linger = linger;
        Description = description;
    }

    /// <summary>Where metrics go, for the console to say; null when nowhere.</summary>
    public string? Description { get; }

    /// <summary>Starts the exporters asked for.</summary>
    public static async Task<WorkerTelemetry> StartAsync(int? metricsPort, string? otlpEndpoint, double lingerSeconds, string metricsAddress = "127.0.0.1")
    {
        if (!System.Net.IPAddress.TryParse(metricsAddress, out var address))
        {
            throw new ArgumentException($"--metrics-address '{metricsAddress}' is not an IP address (0.0.0.0 listens on every interface, for a scraper in another container).");
        }

        string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{metricsAddress}]" : metricsAddress;
        if (metricsPort is { } port && port is <= 0 or > 65535)
        {
            throw new ArgumentException($"--metrics-port {port} is not a port (1 to 65535).");
        }

        Uri? otlp = null;
        if (!string.IsNullOrWhiteSpace(otlpEndpoint) && !Uri.TryCreate(otlpEndpoint, UriKind.Absolute, out otlp))
        {
            throw new ArgumentException($"--otlp-endpoint '{otlpEndpoint}' is not an absolute URI (e.g. http://localhost:4317).");
        }

        if (lingerSeconds is < 0 or > 3600)
        {
            throw new ArgumentException($"--metrics-linger must be between 0 and 3600 seconds; got {lingerSeconds}.");
        }

        TracerProvider? traces = otlp is null ? null : Sdk.CreateTracerProviderBuilder().AddSource(ParameterServerTelemetry.Name).AddOtlpExporter(o => o.Endpoint = otlp).Build();
        var linger = TimeSpan.FromSeconds(lingerSeconds);
        if (metricsPort is { } p)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://{host}:{p}");
            builder.Services.AddOpenTelemetry().WithMetrics(m =>
            {
                Configure(m).AddPrometheusExporter();
                if (otlp is not null)
                {
                    m.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            });
            var web = builder.Build();
            web.MapPrometheusScrapingEndpoint("/metrics");
            try
            {
                await web.StartAsync();
            }
            catch (IOException e)
            {
                await web.DisposeAsync();
                throw new InvalidOperationException($"--metrics-port {p}: cannot listen on {host}:{p} ({e.Message}). Is another process using it?", e);
            }

            return new WorkerTelemetry(web, null, traces, linger, $"metrics on http://{host}:{p}/metrics" + (otlp is null ? "" : $", OTLP to {otlp}"));
        }

        if (otlp is not null)
        {
            var meters = Configure(Sdk.CreateMeterProviderBuilder()).AddOtlpExporter(o => o.Endpoint = otlp).Build();
            return new WorkerTelemetry(null, meters, traces, linger, $"OTLP to {otlp}");
        }

        return new WorkerTelemetry(null, null, null, TimeSpan.Zero, null);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        // A batch job ends quickly: keep serving a moment so a scraper sees the final values.
        if (_linger > TimeSpan.Zero && (_web is not null || _meters is not null))
        {
            await Task.Delay(_linger);
        }

        if (_web is not null)
        {
            await _web.StopAsync();
            await _web.DisposeAsync();
        }

        _meters?.ForceFlush(5000);
        _meters?.Dispose();
        _traces?.Dispose();
    }

    private static MeterProviderBuilder Configure(MeterProviderBuilder m) =>
        m.AddMeter(ParameterServerTelemetry.Name, "Microsoft.Orleans").AddRuntimeInstrumentation()
            .AddView(i => ParameterServerTelemetry.KeepInstrument(i) ? null : MetricStreamConfiguration.Drop);
}
