using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Worker;

/// <summary>
/// The worker's exporters: the ParameterServer meter (plus Orleans' and the .NET runtime's) on a Prometheus HTTP
/// listener bound to 127.0.0.1 (<c>--metrics-port</c>), and/or OTLP (<c>--otlp-endpoint</c>) for metrics and traces.
/// With neither, nothing listens and the instruments cost next to nothing.
/// </summary>
internal sealed class WorkerTelemetry : IAsyncDisposable
{
    private readonly MeterProvider? _meters;
    private readonly TracerProvider? _traces;
    private readonly TimeSpan _linger;

    private WorkerTelemetry(MeterProvider? meters, TracerProvider? traces, TimeSpan linger)
    {
        _meters = meters;
        _traces = traces;
        _linger = linger;
    }

    /// <summary>Where metrics are served, for the console to say.</summary>
    public string? Description { get; private init; }

    /// <summary>Starts the exporters asked for.</summary>
    public static WorkerTelemetry Start(int? metricsPort, string? otlpEndpoint, double lingerSeconds)
    {
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

        if (metricsPort is null && otlp is null)
        {
            return new WorkerTelemetry(null, null, TimeSpan.Zero);
        }

        var meters = Sdk.CreateMeterProviderBuilder().AddMeter(ParameterServerTelemetry.Name, "Microsoft.Orleans").AddRuntimeInstrumentation();
        if (metricsPort is { } p)
        {
            meters.AddPrometheusHttpListener(o =>
            {
                o.Host = "127.0.0.1";
                o.Port = p;
            });
        }

        TracerProvider? traces = null;
        if (otlp is not null)
        {
            meters.AddOtlpExporter(o => o.Endpoint = otlp);
            traces = Sdk.CreateTracerProviderBuilder().AddSource(ParameterServerTelemetry.Name).AddOtlpExporter(o => o.Endpoint = otlp).Build();
        }

        string description = string.Join(", ", new[] { metricsPort is { } mp ? $"metrics on http://127.0.0.1:{mp}/metrics" : null, otlp is null ? null : $"OTLP to {otlp}" }.Where(x => x is not null));
        return new WorkerTelemetry(meters.Build(), traces, TimeSpan.FromSeconds(lingerSeconds)) { Description = description };
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_meters is null)
        {
            return;
        }

        // A batch job ends quickly: keep serving a moment so a scraper sees the final values.
        if (_linger > TimeSpan.Zero)
        {
            await Task.Delay(_linger);
        }

        _meters.ForceFlush(5000);
        _meters.Dispose();
        _traces?.Dispose();
    }
}
