using ParameterServer.Core.Models;

namespace ParameterServer.Client.Training;

/// <summary>Settings of a link-embedding job (entity and link tables, negative sampling), with working defaults.</summary>
public sealed record LinkTrainingOptions : JobOptions
{
    /// <summary>How a pair is scored. Default cosine (the Wikipedia-books recipe; it beat dot on MovieLens tags and genres).</summary>
    public LinkScore Score { get; init; } = LinkScore.Cosine;

    /// <summary>Loss: logistic on 0/1 labels, or squared error on ±1. Default squared error on ±1, which suits cosine.</summary>
    public LinkLoss Loss { get; init; } = LinkLoss.Mse;

    /// <summary>Embedding dimension (ignored for an existing <see cref="EntityTable"/>, whose dim is used). Default 32.</summary>
    public override int Dim { get; init; } = 32;

    /// <summary>Positive pairs per minibatch (each brings <see cref="Negatives"/> negatives). Default 512.</summary>
    public override int BatchSize { get; init; } = 512;

    /// <summary>Negatives drawn per positive, checked not to be true pairs. Default 4.</summary>
    public int Negatives { get; init; } = 4;

    /// <summary>Learning rate. Default 0.01.</summary>
    public override float LearningRate { get; init; } = 0.01f;

    /// <summary>Prefix of the tables <c>{prefix}.entities</c> and <c>{prefix}.links</c>. Default "links".</summary>
    public string TablePrefix { get; init; } = "links";

    /// <summary>An existing table to use for the entities instead of <c>{prefix}.entities</c> (e.g. imported word vectors).</summary>
    public string? EntityTable { get; init; }

    /// <summary>Keep the entity table fixed (no pushes): only the links learn. Default false.</summary>
    public bool FreezeEntities { get; init; }

    /// <summary>Keep the link table fixed. Default false.</summary>
    public bool FreezeLinks { get; init; }

    /// <summary>Negatives per held-out positive for the validation AUC. Default 4.</summary>
    public int EvaluationNegatives { get; init; } = 4;

    /// <summary>k of recall@k (the held-out link among the k best-scored links of its entity). Default 10.</summary>
    public int RecallK { get; init; } = 10;

    /// <summary>Most held-out pairs ranked against every link for recall@k. Default 1000.</summary>
    public int RecallSamples { get; init; } = 1000;

    /// <summary>Name of the entity table.</summary>
    public string EntityTableName => EntityTable ?? TablePrefix + ".entities";

    /// <summary>Name of the link table.</summary>
    public string LinkTableName => TablePrefix + ".links";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        ValidateShared(1 << 18);
        Check(Negatives >= 1 && Negatives <= 100, $"--negatives {Negatives} must be in 1..100");
        Check(RecallK >= 1 && RecallK <= 1000, $"--recall-k {RecallK} must be in 1..1000");
        Check(!(FreezeEntities && FreezeLinks), "--freeze entities and --freeze links together leave nothing to train");
        Check(Enum.IsDefined(Score) && Enum.IsDefined(Loss), "unknown score or loss");
        Abstractions.TableSpec.ValidateName(EntityTableName);
        Abstractions.TableSpec.ValidateName(LinkTableName);
    }
}
