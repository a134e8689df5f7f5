using System.Text.Json.Serialization;

namespace ParameterServer.Client.Training;

/// <summary>Figures of one epoch of a link job.</summary>
public sealed record LinkEpochReport(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("train_loss")] double TrainLoss,
    [property: JsonPropertyName("validation_auc")] double ValidationAuc,
    [property: JsonPropertyName("samples_per_second")] double SamplesPerSecond,
    [property: JsonPropertyName("seconds")] double Seconds);

/// <summary>Figures of a link-embedding job (written by <c>embed train --model link --report</c>).</summary>
public sealed record LinkTrainingReport
{
    [JsonPropertyName("model")] public string Model { get; init; } = "link";
    [JsonPropertyName("score")] public required string Score { get; init; }
    [JsonPropertyName("loss")] public required string Loss { get; init; }
    [JsonPropertyName("dim")] public int Dim { get; init; }
    [JsonPropertyName("negatives")] public int Negatives { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; }
    [JsonPropertyName("workers")] public int Workers { get; init; }
    [JsonPropertyName("worker_count")] public int WorkerCount { get; init; } = 1;
    [JsonPropertyName("staleness")] public int Staleness { get; init; }
    [JsonPropertyName("optimizer")] public required string Optimizer { get; init; }
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }
    [JsonPropertyName("entity_table")] public required string EntityTable { get; init; }
    [JsonPropertyName("link_table")] public required string LinkTable { get; init; }
    [JsonPropertyName("entities")] public int Entities { get; init; }
    [JsonPropertyName("links")] public int Links { get; init; }
    [JsonPropertyName("train_pairs")] public int TrainPairs { get; init; }
    [JsonPropertyName("validation_pairs")] public int ValidationPairs { get; init; }
    [JsonPropertyName("best_epoch")] public int BestEpoch { get; init; }
    [JsonPropertyName("validation_auc")] public double ValidationAuc { get; init; }
    [JsonPropertyName("recall_k")] public int RecallK { get; init; }
    [JsonPropertyName("recall_at_k")] public double RecallAtK { get; init; }
    [JsonPropertyName("recall_pairs")] public int RecallPairs { get; init; }
    [JsonPropertyName("ranking"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RankingReport? Ranking { get; init; }
    [JsonPropertyName("samples_per_second")] public double SamplesPerSecond { get; init; }
    [JsonPropertyName("wall_seconds")] public double WallSeconds { get; init; }
    [JsonPropertyName("step_p50_ms")] public double StepP50Ms { get; init; }
    [JsonPropertyName("step_p99_ms")] public double StepP99Ms { get; init; }
    [JsonPropertyName("calls")] public long Calls { get; init; }
    [JsonPropertyName("updates_lost")] public long UpdatesLost { get; init; }
    [JsonPropertyName("checkpoint_errors")] public IReadOnlyList<string> CheckpointErrors { get; init; } = [];
    [JsonPropertyName("rollback_gaps")] public IReadOnlyList<string> RollbackGaps { get; init; } = [];
    [JsonPropertyName("cluster")] public string? Cluster { get; init; }
    [JsonPropertyName("retries")] public long Retries { get; init; }
    [JsonPropertyName("recoveries")] public IReadOnlyList<RecoveryReport> Recoveries { get; init; } = [];
    [JsonPropertyName("epochs")] public required IReadOnlyList<LinkEpochReport> Epochs { get; init; }
}
