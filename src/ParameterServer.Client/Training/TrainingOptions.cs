using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Client.Training;

/// <summary>Settings of a rating-model training job, with defaults that train MovieLens well.</summary>
public sealed record TrainingOptions
{
    /// <summary>Model. Default mf.</summary>
    public RatingModelKind Model { get; init; } = RatingModelKind.Mf;

    /// <summary>Embedding dimension. Default 64.</summary>
    public int Dim { get; init; } = 64;

    /// <summary>Most epochs. Default 20.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Samples per minibatch. Default 1024.</summary>
    public int BatchSize { get; init; } = 1024;

    /// <summary>Server-side optimizer. Default Adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Learning rate. Default 0.005.</summary>
    public float LearningRate { get; init; } = 0.005f;

    /// <summary>L2 weight decay applied by the server to touched rows. Default 0.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Standard deviation of initial embedding values. Default 0.1.</summary>
    public float InitScale { get; init; } = 0.1f;

    /// <summary>Concurrent worker loops, each with its own minibatch stream. Default 2.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Pushes a worker loop may have outstanding (the staleness bound, in steps). Default 2.</summary>
    public int Staleness { get; init; } = 2;

    /// <summary>Seed of initialization and shuffling. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Epochs without a better validation RMSE before stopping. Default 3.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Prefix of the table names (<c>{prefix}.users</c>, <c>.items</c>, <c>.user_bias</c>, <c>.item_bias</c>). Default "ratings".</summary>
    public string TablePrefix { get; init; } = "ratings";

    /// <summary>Shards per table. Default 8.</summary>
    public int Shards { get; init; } = 8;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Check(Dim >= 1 && Dim <= Abstractions.TableSpec.MaxDim, $"--dim {Dim} must be in 1..{Abstractions.TableSpec.MaxDim}");
        Check(Epochs >= 1 && Epochs <= 100_000, $"--epochs {Epochs} must be in 1..100000");
        Check(BatchSize >= 1 && BatchSize <= 1 << 20, $"--batch-size {BatchSize} must be in 1..1048576");
        Check(Workers >= 1 && Workers <= 256, $"--workers {Workers} must be in 1..256");
        Check(Staleness >= 0 && Staleness <= 1024, $"--staleness {Staleness} must be in 0..1024");
        Check(Patience >= 1, $"--patience {Patience} must be at least 1");
        Check(InitScale >= 0 && InitScale <= Abstractions.TableSpec.MaxInitScale, $"--init-scale {InitScale} must be in [0, {Abstractions.TableSpec.MaxInitScale}]");
        new OptimizerSettings(Optimizer, LearningRate, WeightDecay).Validate();
        Abstractions.TableSpec.ValidateName(TablePrefix + ".user_bias");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message + ".");
        }
    }
}
