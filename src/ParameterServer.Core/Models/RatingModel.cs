using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Models;

/// <summary>The rating models computed on the worker.</summary>
public enum RatingModelKind
{
    /// <summary><c>u·v</c>.</summary>
    Dot = 0,

    /// <summary><c>sigmoid(u·v + b_u + b_i)·(max−min)+min</c>.</summary>
    DotBias = 1,

    /// <summary><c>mu + b_u + b_i + u·v</c> with mu the training mean.</summary>
    Mf = 2,

    /// <summary>
    /// Implicit feedback ranked by <c>u·v + b_i</c>, trained by the pairwise BPR loss over sampled negatives
    /// (<see cref="BprLoss"/>); its score is a ranking score, not a rating.
    /// </summary>
    Bpr = 3,
}

/// <summary>
/// Forward and backward passes of a rating model for one sample, with SIMD dot products and updates
/// (<see cref="PairGradient"/>: one Vector256 FMA pass each). The loss of a sample is the squared error <c>(pred − y)²</c>.
/// </summary>
/// <param name="Kind">Which model.</param>
/// <param name="Min">Lowest rating (dot-bias range).</param>
/// <param name="Max">Highest rating (dot-bias range).</param>
/// <param name="Mean">Global mean (mf offset).</param>
public readonly record struct RatingModel(RatingModelKind Kind, float Min, float Max, float Mean)
{
    /// <summary>The names accepted by <see cref="ParseKind"/>.</summary>
    public static readonly IReadOnlyList<string> KindNames = ["dot", "dot-bias", "mf", "bpr"];

    /// <summary>Whether the model uses the user and item bias tables.</summary>
    public bool HasBiases => Kind != RatingModelKind.Dot;

    /// <summary>
    /// Parses a model name; an unknown name gets an error that lists the valid ones, with
    /// <paramref name="otherModels"/> (models of other kinds the caller also accepts) after the rating models.
    /// </summary>
    public static RatingModelKind ParseKind(string name, IEnumerable<string>? otherModels = null) => name?.Trim().ToLowerInvariant() switch
    {
        "dot" => RatingModelKind.Dot,
        "dot-bias" or "dotbias" => RatingModelKind.DotBias,
        "mf" => RatingModelKind.Mf,
        "bpr" => RatingModelKind.Bpr,
        _ => throw new ArgumentException($"Unknown model '{name}'. Valid models: {string.Join(", ", KindNames.Concat(otherModels ?? []))}."),
    };

    /// <summary>The canonical name of <paramref name="kind"/>.</summary>
    public static string NameOf(RatingModelKind kind) => KindNames[(int)kind];

    /// <summary>The prediction for user vector <paramref name="u"/>, item vector <paramref name="v"/> and biases.</summary>
    public float Predict(ReadOnlySpan<float> u, ReadOnlySpan<float> v, float bu, float bi)
    {
        float s = PairGradient.Dot(u, v);
        return Kind switch
        {
            RatingModelKind.Dot => s,
            RatingModelKind.DotBias => (Sigmoid(s + bu + bi) * (Max - Min)) + Min,
            RatingModelKind.Bpr => s + bi,
            _ => Mean + bu + bi + s,
        };
    }

    /// <summary>Whether the model predicts ratings (and is trained on their squared error), not only a ranking score.</summary>
    public bool PredictsRatings => Kind != RatingModelKind.Bpr;

    /// <summary>
    /// The prediction from a ranking score <c>u·v + b_i</c> (just <c>u·v</c> for <c>dot</c>) and the user bias: what
    /// <see cref="Predict"/> gives, computed from what a recommendation search returns.
    /// </summary>
    public float PredictFromScore(float score, float bu) => Kind switch
    {
        RatingModelKind.Dot => score,
        RatingModelKind.DotBias => (Sigmoid(score + bu) * (Max - Min)) + Min,
        RatingModelKind.Bpr => score,
        _ => Mean + bu + score,
    };

    /// <summary>
    /// Computes the prediction and adds <paramref name="scale"/> times the gradient of the squared error
    /// <c>(pred − y)²</c> to <paramref name="gu"/>, <paramref name="gv"/>, <paramref name="gbu"/> and <paramref name="gbi"/>.
    /// Returns the squared error.
    /// </summary>
    public float Backward(ReadOnlySpan<float> u, ReadOnlySpan<float> v, float bu, float bi, float y, float scale, Span<float> gu, Span<float> gv, ref float gbu, ref float gbi) =>
        Backward(u, v, bu, bi, y, scale, gu, gv, ref gbu, ref gbi, startU: false, startV: false);

    /// <summary>
    /// <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, float, float, float, float, Span{float}, Span{float}, ref float, ref float)"/>
    /// that starts the user's gradients (<paramref name="gu"/> and <paramref name="gbu"/>) instead of adding to them when
    /// <paramref name="startU"/>, and the item's when <paramref name="startV"/>: a batch's first use of a row
    /// (see <see cref="PairGradient.Accumulate(ReadOnlySpan{float}, ReadOnlySpan{float}, float, Span{float}, Span{float}, bool, bool)"/>).
    /// </summary>
    public float Backward(ReadOnlySpan<float> u, ReadOnlySpan<float> v, float bu, float bi, float y, float scale, Span<float> gu, Span<float> gv, ref float gbu, ref float gbi, bool startU, bool startV)
    {
        if (!PredictsRatings)
        {
            throw new InvalidOperationException("bpr is trained on pairs (BprLoss), not on the squared error of ratings.");
        }

        float s = PairGradient.Dot(u, v);
        float pred;
        float dPredDs;
        switch (Kind)
        {
            case RatingModelKind.Dot:
                pred = s;
                dPredDs = 1f;
                break;
            case RatingModelKind.DotBias:
                float sig = Sigmoid(s + bu + bi);
                pred = (sig * (Max - Min)) + Min;
                dPredDs = (Max - Min) * sig * (1f - sig);
                break;
            default:
                pred = Mean + bu + bi + s;
                dPredDs = 1f;
                break;
        }

        float err = pred - y;
        float d = 2f * err * dPredDs * scale;

        // gu += d * v ; gv += d * u
        PairGradient.Accumulate(u, v, d, gu, gv, startU, startV);
        if (HasBiases)
        {
            gbu = (startU ? 0f : gbu) + d;
            gbi = (startV ? 0f : gbi) + d;
        }

        return err * err;
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
