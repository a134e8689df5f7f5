using ParameterServer.Core.Models;

namespace ParameterServer.Client.Training;

/// <summary>Settings of a rating-model training job, with defaults that train MovieLens well.</summary>
public sealed record TrainingOptions : JobOptions
{
    /// <summary>Model. Default mf.</summary>
    public RatingModelKind Model { get; init; } = RatingModelKind.Mf;

    /// <summary>Embedding dimension. Default 64.</summary>
    public override int Dim { get; init; } = 64;

    /// <summary>Samples per minibatch. Default 1024.</summary>
    public override int BatchSize { get; init; } = 1024;

    /// <summary>Learning rate. Default 0.005.</summary>
    public override float LearningRate { get; init; } = 0.005f;

    /// <summary>Prefix of the table names (<c>{prefix}.users</c>, <c>.items</c>, <c>.user_bias</c>, <c>.item_bias</c>). Default "ratings".</summary>
    public string TablePrefix { get; init; } = "ratings";

    /// <summary>Drop the prefix's tables first, if they exist, and train from scratch (otherwise a job resumes from them).</summary>
    public bool Fresh { get; init; }

    /// <summary>Hot rows per table (the most frequent users and items of the training set) cached by the worker process; 0 (default) = off.</summary>
    public int CacheRows { get; init; }

    /// <summary>Steps a cached hot row may be older than the step that reads it; also the write-back period. Default 8.</summary>
    public int CacheStaleness { get; init; } = 8;

    /// <summary>Cut-off of the ranking figures on the validation split (precision@k, recall@k, NDCG@k, MAP@k, coverage); 0 = off. Default 10.</summary>
    public int RankK { get; init; } = 10;

    /// <summary>A validation rating at or above this counts as relevant for the ranking figures. Default 4.0.</summary>
    public double RelevantThreshold { get; init; } = 4.0;

    /// <summary>Most validation users ranked (a seeded sample beyond it): each costs a score of every item. Default 5,000.</summary>
    public int RankUsers { get; init; } = 5000;

    /// <summary>
    /// Record every (user, item) of the training set as the users' history when the job ends, so recommendations leave
    /// those items out (<see cref="ParameterServerClient.RecordHistoryAsync"/>). Default true; the first worker
    /// process of a multi-process job records for all.
    /// </summary>
    public bool RecordHistory { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        ValidateShared(1 << 20);
        Check(CacheRows >= 0, $"--cache-rows {CacheRows} must be at least 0");
        Check(CacheStaleness >= 1 && CacheStaleness <= 1024, $"--cache-staleness {CacheStaleness} must be in 1..1024");
        Check(RankK >= 0 && RankK <= Abstractions.QueryLimits.MaxK, $"--rank-k {RankK} must be in 0..{Abstractions.QueryLimits.MaxK}");
        Check(double.IsFinite(RelevantThreshold), $"--relevant-threshold {RelevantThreshold} must be a finite number");
        Check(RankUsers >= 1, $"--rank-users {RankUsers} must be at least 1");
        // Each process would drop the tables the others are already training: drop them once, before the job.
        Check(!Fresh || WorkerCount == 1, $"--fresh with --worker-count {WorkerCount}: every worker process would drop the tables the others train; drop them once first (embed tables drop --prefix {TablePrefix}), then start the workers without --fresh");
        Abstractions.TableSpec.ValidateName(TablePrefix + ".user_bias");
    }
}
