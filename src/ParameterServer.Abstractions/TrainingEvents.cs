namespace ParameterServer.Abstractions;

/// <summary>What happened in a training job.</summary>
public enum TrainingEventKind
{
    /// <summary>The job started.</summary>
    Started = 0,

    /// <summary>An epoch finished; loss, RMSE and throughput are set.</summary>
    EpochFinished = 1,

    /// <summary>The job finished; the figures are the best epoch's.</summary>
    Finished = 2,

    /// <summary>The job failed; <see cref="TrainingEvent.Message"/> says why.</summary>
    Failed = 3,
}

/// <summary>One event of a training job, published on the <see cref="TrainingEvents"/> stream.</summary>
[GenerateSerializer, Immutable, Alias("ps.TrainingEvent")]
public sealed record TrainingEvent(
    [property: Id(0)] string Job,
    [property: Id(1)] TrainingEventKind Kind,
    [property: Id(2)] int Epoch,
    [property: Id(3)] double TrainLoss,
    [property: Id(4)] double ValidationRmse,
    [property: Id(5)] double SamplesPerSecond,
    [property: Id(6)] DateTimeOffset Time,
    [property: Id(7)] string? Message = null);

/// <summary>
/// The Orleans stream that carries training events: memory streams named <see cref="StreamProvider"/> on every
/// silo and client, one stream for every job (<see cref="Namespace"/>/<see cref="AllJobsKey"/>); watchers filter by job.
/// </summary>
public static class TrainingEvents
{
    /// <summary>Name of the stream provider.</summary>
    public const string StreamProvider = "ps-events";

    /// <summary>Name of the grain storage memory streams keep subscriptions in.</summary>
    public const string PubSubStorage = "PubSubStore";

    /// <summary>Namespace of the stream every job publishes to.</summary>
    public const string Namespace = "training";

    /// <summary>Key of the stream every job publishes to.</summary>
    public const string AllJobsKey = "all";
}
