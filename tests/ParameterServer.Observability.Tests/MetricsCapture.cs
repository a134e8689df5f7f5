using OpenTelemetry;
using OpenTelemetry.Metrics;
using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Observability.Tests;

/// <summary>
/// A real OpenTelemetry pipeline with the in-memory exporter over the ParameterServer meter. Each test filters by
/// its own table or job tag, so tests running side by side do not see each other's measurements.
/// </summary>
internal sealed class MetricsCapture : IDisposable
{
    private readonly List<MetricSnapshot> _exported = [];
    private readonly MeterProvider _provider;

    public MetricsCapture()
    {
        _provider = Sdk.CreateMeterProviderBuilder().AddMeter(ParameterServerTelemetry.Name).AddInMemoryExporter(_exported).Build();
    }

    /// <summary>Collects now; returns every point of <paramref name="name"/> whose tags include <paramref name="tags"/>.</summary>
    public List<MetricPoint> Points(string name, params (string Key, string Value)[] tags)
    {
        lock (_exported)
        {
            _exported.Clear();
            _provider.ForceFlush();
            var points = new List<MetricPoint>();
            foreach (var metric in _exported.Where(m => m.Name == name))
            {
                foreach (var point in metric.MetricPoints)
                {
                    var have = new Dictionary<string, object?>();
                    foreach (var tag in point.Tags)
                    {
                        have[tag.Key] = tag.Value;
                    }

                    if (tags.All(t => have.TryGetValue(t.Key, out var v) && Equals(v, t.Value)))
                    {
                        points.Add(point);
                    }
                }
            }

            return points;
        }
    }

    /// <summary>Sum of a long counter over the matching points.</summary>
    public long Sum(string name, params (string Key, string Value)[] tags) => Points(name, tags).Sum(p => p.GetSumLong());

    /// <summary>Number of recordings of a histogram over the matching points.</summary>
    public long Count(string name, params (string Key, string Value)[] tags) => Points(name, tags).Sum(p => p.GetHistogramCount());

    /// <summary>Sum of the recorded values of a histogram over the matching points.</summary>
    public double HistogramSum(string name, params (string Key, string Value)[] tags) => Points(name, tags).Sum(p => p.GetHistogramSum());

    /// <summary>The last value of a gauge (long or double) at the single matching point.</summary>
    public double Gauge(string name, bool isLong, params (string Key, string Value)[] tags)
    {
        var point = Assert.Single(Points(name, tags));
        return isLong ? point.GetGaugeLastValueLong() : point.GetGaugeLastValueDouble();
    }

    public void Dispose() => _provider.Dispose();
}
