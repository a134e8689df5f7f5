using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;

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

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        ValidateShared(1 << 20);
        Abstractions.TableSpec.ValidateName(TablePrefix + ".user_bias");
    }
}
