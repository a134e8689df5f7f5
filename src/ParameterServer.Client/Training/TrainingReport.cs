using System.Text.Json.Serialization;

namespace ParameterServer.Client.Training;

/// <summary>
/// Figures of one epoch. The train loss is the mean squared error, or the mean log loss of a binary task; a binary
/// task's validation RMSE is that of its probabilities, and it also reports log loss (which decides early stopping),
/// accuracy and AUC.
/// </summary>
public sealed record EpochReport(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("validation_rmse")] double ValidationRmse,
    [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond,
    [property: JsonPropertyName("seconds")] double Seconds)
{
    /// <summary>Mean validation log loss (binary tasks only).</summary>
    [JsonPropertyName("validation_logloss"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ValidationLogLoss { get; init; }

    /// <summary>Validation accuracy at 0.5 (binary tasks only).</summary>
    [JsonPropertyName("validation_accuracy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ValidationAccuracy { get; init; }

    /// <summary>Validation area under the ROC curve (binary tasks only).</summary>
    [JsonPropertyName("validation_auc"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ValidationAuc { get; init; }

    /// <summary>Validation NDCG@k (ranking models: bpr).</summary>
    [JsonPropertyName("validation_ndcg_at_k"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ValidationNdcg { get; init; }
}

/// <summary>Seconds the worker loops spent, summed over loops, finding distinct rows, waiting for pulls, computing gradients and waiting for pushes.</summary>
public sealed record PhaseSeconds(
    [property: JsonPropertyName("load")] double Load,
    [property: JsonPropertyName("pull")] double Pull,
    [property: JsonPropertyName("compute")] double Compute,
    [property: JsonPropertyName("push")] double Push);

/// <summary>Figures of a training job (written by <c>embed train --report</c>).</summary>
public sealed record TrainingReport
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("task"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Task { get; init; }
    [JsonPropertyName("dim")] public int Dim { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; }
    [JsonPropertyName("workers")] public int Workers { get; init; }
    [JsonPropertyName("staleness")] public int Staleness { get; init; }
    [JsonPropertyName("optimizer")] public required string Optimizer { get; init; }
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; }
    [JsonPropertyName("train_samples")] public int TrainSamples { get; init; }
    [JsonPropertyName("validation_samples")] public int ValidationSamples { get; init; }
    [JsonPropertyName("best_epoch")] public int BestEpoch { get; init; }
    [JsonPropertyName("validation_rmse")] public double ValidationRmse { get; init; }
    [JsonPropertyName("validation_logloss"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ValidationLogLoss { get; init; }
    [JsonPropertyName("validation_accuracy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ValidationAccuracy { get; init; }
    [JsonPropertyName("validation_auc"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ValidationAuc { get; init; }
    [JsonPropertyName("validation_ndcg_at_k"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ValidationNdcg { get; init; }
    [JsonPropertyName("ranking"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RankingReport? Ranking { get; init; }
    [JsonPropertyName("samples_per_second")] public double SamplesPerSecond { get; init; }
    [JsonPropertyName("wall_seconds")] public double WallSeconds { get; init; }
    [JsonPropertyName("mean_outstanding_pushes")] public double MeanOutstandingPushes { get; init; }
    [JsonPropertyName("steps")] public long Steps { get; init; }
    [JsonPropertyName("rows_pulled")] public long RowsPulled { get; init; }
    [JsonPropertyName("rows_pushed")] public long RowsPushed { get; init; }
    [JsonPropertyName("calls")] public long Calls { get; init; }
    [JsonPropertyName("local_parts")] public long LocalParts { get; init; }
    [JsonPropertyName("socket_calls")] public long SocketCalls { get; init; }
    [JsonPropertyName("payload_bytes_sent")] public long PayloadBytesSent { get; init; }
    [JsonPropertyName("payload_bytes_received")] public long PayloadBytesReceived { get; init; }
    [JsonPropertyName("cache_rows")] public int CacheRows { get; init; }
    [JsonPropertyName("cache_staleness"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? CacheStaleness { get; init; }
    [JsonPropertyName("cache_hit_rate"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? CacheHitRate { get; init; }
    [JsonPropertyName("step_p50_ms")] public double StepP50Ms { get; init; }
    [JsonPropertyName("step_p99_ms")] public double StepP99Ms { get; init; }
    [JsonPropertyName("loop_seconds")] public PhaseSeconds? LoopSeconds { get; init; }
    [JsonPropertyName("cluster")] public string? Cluster { get; init; }
    [JsonPropertyName("retries")] public long Retries { get; init; }
    [JsonPropertyName("updates_lost")] public long UpdatesLost { get; init; }
    [JsonPropertyName("checkpoint_errors")] public IReadOnlyList<string> CheckpointErrors { get; init; } = [];
    [JsonPropertyName("rollback_gaps")] public IReadOnlyList<string> RollbackGaps { get; init; } = [];
    [JsonPropertyName("recoveries")] public IReadOnlyList<RecoveryReport> Recoveries { get; init; } = [];
    [JsonPropertyName("epochs")] public required IReadOnlyList<EpochReport> Epochs { get; init; }
}

/// <summary>A shard call that failed (its silo died, its activation moved) and succeeded on a retry.</summary>
public sealed record RecoveryReport(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("shard")] int Shard,
    [property: JsonPropertyName("first_failure")] DateTimeOffset FirstFailure,
    [property: JsonPropertyName("recovered")] DateTimeOffset Recovered,
    [property: JsonPropertyName("retries")] int Retries,
    [property: JsonPropertyName("error")] string Error)
{
    /// <summary>The recoveries of <paramref name="tables"/>' shard calls, in the order they recovered.</summary>
    internal static RecoveryReport[] Of(IEnumerable<TableClient> tables) =>
        [.. tables.SelectMany(t => t.Recoveries).OrderBy(r => r.Recovered).Select(r => new RecoveryReport(r.Table, r.Shard, r.FirstFailure, r.Recovered, r.Retries, r.Error))];
}
