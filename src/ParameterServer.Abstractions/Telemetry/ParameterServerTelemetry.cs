using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ParameterServer.Abstractions.Telemetry;

/// <summary>
/// The parameter server's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named
/// <see cref="Name"/>. Instruments follow OpenTelemetry naming (dotted, units in UCUM: <c>s</c>, <c>By</c>,
/// <c>{row}</c>) and carry only bounded tags: the table, the operation, the metric, the job (a table prefix),
/// never a row id. Silos record what shards do; workers record what they see (latency, staleness, training).
/// Instruments cost almost nothing until a listener (an exporter) subscribes.
/// </summary>
public static class ParameterServerTelemetry
{
    /// <summary>Name of the meter and the activity source.</summary>
    public const string Name = "ParameterServer";

    /// <summary>Tag: table name.</summary>
    public const string TableTag = "ps.table";

    /// <summary>Tag: operation (pull, push, search, peek).</summary>
    public const string OperationTag = "ps.operation";

    /// <summary>Tag: similarity metric of a query.</summary>
    public const string MetricTag = "ps.metric";

    /// <summary>Tag: training job (its table prefix).</summary>
    public const string JobTag = "ps.job";

    /// <summary>Tag: why a push was refused (length, non_finite, duplicate, dim).</summary>
    public const string ReasonTag = "error.type";

    /// <summary>Bucket bounds of latency histograms, in seconds: 50 µs to 10 s.</summary>
    public static readonly IReadOnlyList<double> LatencyBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Bucket bounds of rows-per-call histograms.</summary>
    public static readonly IReadOnlyList<long> RowBuckets = [1, 8, 32, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536];

    /// <summary>Bucket bounds of the staleness histogram (pushes outstanding).</summary>
    public static readonly IReadOnlyList<long> StalenessBuckets = [0, 1, 2, 3, 4, 6, 8, 12, 16, 32];

    /// <summary>The meter.</summary>
    public static readonly Meter Meter = new(Name, typeof(ParameterServerTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The activity source (a span per training epoch and per query on the client).</summary>
    public static readonly ActivitySource ActivitySource = new(Name, typeof(ParameterServerTelemetry).Assembly.GetName().Version?.ToString());

    // ps.rows.pulled, ps.rows.pushed and ps.optimizer.steps are observable counters that sum the shards' own
    // totals when an exporter collects (see the grains' ShardResidency): nothing is recorded per call for them.

    /// <summary>Pushes refused whole: wrong length, NaN or infinity, a repeated id, a wrong dim (silo).</summary>
    public static readonly Counter<long> PushesRefused = Meter.CreateCounter<long>("ps.pushes.refused", "{push}", "Pushes refused whole; no row changed.");

    /// <summary>Time a shard spends on one call (silo).</summary>
    public static readonly Histogram<double> ShardDuration = Meter.CreateHistogram("ps.shard.duration", "s", "Time a shard spends serving one call.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Rows per shard call (silo).</summary>
    public static readonly Histogram<long> RowsPerCall = Meter.CreateHistogram("ps.shard.rows_per_call", "{row}", "Rows carried by one shard pull or push.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = RowBuckets });

    /// <summary>Query vectors answered by the query grain (silo).</summary>
    public static readonly Counter<long> Queries = Meter.CreateCounter<long>("ps.queries", "{query}", "Query vectors answered.");

    /// <summary>Time of a whole search: fan-out to every shard and merge (silo).</summary>
    public static readonly Histogram<double> QueryDuration = Meter.CreateHistogram("ps.query.duration", "s", "Time of one search request over every shard of a table.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Checkpoints written by shards (silo).</summary>
    public static readonly Counter<long> CheckpointsWritten = Meter.CreateCounter<long>("ps.checkpoint.writes", "{checkpoint}", "Shard checkpoints written.");

    /// <summary>Time to write one shard checkpoint (silo).</summary>
    public static readonly Histogram<double> CheckpointDuration = Meter.CreateHistogram("ps.checkpoint.duration", "s", "Time to write one shard checkpoint.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Rows loaded from checkpoints when shards activate (silo).</summary>
    public static readonly Counter<long> RowsRestored = Meter.CreateCounter<long>("ps.checkpoint.rows_restored", "{row}", "Rows loaded from checkpoints when shards activate.");

    /// <summary>Checkpoints a shard could not write, tagged by table (silo); while any fails, the silo's /ready fails too.</summary>
    public static readonly Counter<long> CheckpointsFailed = Meter.CreateCounter<long>("ps.checkpoint.failures", "{checkpoint}", "Checkpoints a shard could not write (the directory is read-only, full or gone).");

    /// <summary>Shards that arrived in this silo by migration (a silo joined, another left gracefully, or the balancer moved them), tagged by table.</summary>
    public static readonly Counter<long> ShardsArrived = Meter.CreateCounter<long>("ps.shards.arrived", "{shard}", "Shards that arrived in this silo with their rows by migration.");

    /// <summary>Shard moves the balancer or a leaving silo asked for (counted on the silo that asked).</summary>
    public static readonly Counter<long> ShardMovesRequested = Meter.CreateCounter<long>("ps.shards.moves_requested", "{shard}", "Shard moves asked for by the balancer or by a silo leaving gracefully.");

    /// <summary>Calls a worker retried after a transient failure (a silo died, an activation moved) (worker).</summary>
    public static readonly Counter<long> Retries = Meter.CreateCounter<long>("ps.client.retries", "{call}", "Calls retried after a transient failure.");

    /// <summary>Latency of a table operation as the worker sees it (worker).</summary>
    public static readonly Histogram<double> ClientDuration = Meter.CreateHistogram("ps.client.duration", "s", "Latency of a pull, push or search as the worker sees it.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Samples trained (worker).</summary>
    public static readonly Counter<long> TrainingSamples = Meter.CreateCounter<long>("ps.training.samples", "{sample}", "Training samples processed.");

    /// <summary>Pushes a worker loop had outstanding when it started a step (worker).</summary>
    public static readonly Histogram<long> Staleness = Meter.CreateHistogram("ps.training.staleness", "{push}", "Pushes still outstanding when a worker loop starts a step.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = StalenessBuckets });

    /// <summary>Mean training loss (squared error per sample) of the last finished epoch (worker).</summary>
    public static readonly Gauge<double> TrainingLoss = Meter.CreateGauge<double>("ps.training.loss", null, "Mean training loss per sample of the last finished epoch (squared error, log loss, or the link loss).");

    /// <summary>Validation RMSE of the last finished epoch (worker).</summary>
    public static readonly Gauge<double> ValidationRmse = Meter.CreateGauge<double>("ps.training.validation.rmse", null, "Validation RMSE of the last finished epoch.");

    /// <summary>Validation AUC of the last finished epoch of a link or binary model (worker).</summary>
    public static readonly Gauge<double> ValidationAuc = Meter.CreateGauge<double>("ps.training.validation.auc", null, "Validation area under the ROC curve of the last finished epoch (link and binary models).");

    /// <summary>Epochs finished (worker).</summary>
    public static readonly Counter<long> Epochs = Meter.CreateCounter<long>("ps.training.epochs", "{epoch}", "Training epochs finished.");

    /// <summary>gRPC calls answered by the silo's API, by method and status code (silo).</summary>
    public static readonly Counter<long> ApiRequests = Meter.CreateCounter<long>("ps.api.requests", "{request}", "gRPC API calls answered, by method and status code.");

    /// <summary>Latency of the gRPC API's calls (silo).</summary>
    public static readonly Histogram<double> ApiDuration = Meter.CreateHistogram("ps.api.duration", "s", "Time to answer one gRPC API call.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    /// <summary>Payload bytes of the gRPC API's calls, by method and direction (silo).</summary>
    public static readonly Counter<long> ApiPayload = Meter.CreateCounter<long>("ps.api.payload", "By", "Bytes of gRPC API messages (serialized protobuf), by method and direction (request, response).");

    /// <summary>
    /// Whether an instrument is worth exporting: everything outside <c>Microsoft.Orleans</c>, and Orleans' observable
    /// instruments (read only when scraped, so free on the hot path). Orleans' synchronous instruments are recorded per
    /// message and cost a quarter of training throughput on a 2-core machine once a listener enables them all, so
    /// exporters drop them.
    /// </summary>
    public static bool KeepInstrument(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        return instrument.Meter.Name != "Microsoft.Orleans" || instrument.IsObservable;
    }

    /// <summary>A tag pair for a table.</summary>
    public static KeyValuePair<string, object?> Table(string table) => new(TableTag, table);

    /// <summary>A tag pair for an operation.</summary>
    public static KeyValuePair<string, object?> Operation(string operation) => new(OperationTag, operation);

    /// <summary>Seconds since <paramref name="startTimestamp"/> (from <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double SecondsSince(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
}
