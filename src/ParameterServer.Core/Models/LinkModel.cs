using System.Numerics.Tensors;

namespace ParameterServer.Core.Models;

/// <summary>How a link model scores a pair of embeddings.</summary>
public enum LinkScore
{
    /// <summary><c>s = e·l</c>.</summary>
    Dot = 0,

    /// <summary><c>s = e·l / (|e| |l|)</c>, in [−1, 1]; 0 when either vector is zero.</summary>
    Cosine = 1,
}

/// <summary>The loss of a link model.</summary>
public enum LinkLoss
{
    /// <summary>Logistic loss on labels 0/1: <c>log(1 + exp(s)) − y·s</c>.</summary>
    Logistic = 0,

    /// <summary>Squared error against labels ±1: <c>½ (s − y)²</c> (the Wikipedia-books recipe with cosine).</summary>
    Mse = 1,
}

/// <summary>
/// Forward and backward passes of a link-embedding model for one (entity, link) sample, positive or negative, with
/// SIMD dot products (<see cref="TensorPrimitives"/>). NaN in the rows propagates to the score and gradients; the
/// server refuses such gradients whole.
/// </summary>
/// <param name="Score">Dot or cosine.</param>
/// <param name="Loss">Logistic (0/1) or squared error (±1).</param>
public readonly record struct LinkModel(LinkScore Score, LinkLoss Loss)
{
    /// <summary>Parses "dot" or "cosine".</summary>
    public static LinkScore ParseScore(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "dot" => LinkScore.Dot,
        "cosine" or "cos" => LinkScore.Cosine,
        _ => throw new ArgumentException($"Unknown score '{name}'. Valid scores: dot, cosine."),
    };

    /// <summary>Parses "logistic" or "mse".</summary>
    public static LinkLoss ParseLoss(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "logistic" or "log" => LinkLoss.Logistic,
        "mse" => LinkLoss.Mse,
        _ => throw new ArgumentException($"Unknown loss '{name}'. Valid losses: logistic (labels 0/1), mse (labels ±1)."),
    };

    /// <summary>The score of entity vector <paramref name="e"/> and link vector <paramref name="l"/>.</summary>
    public float Forward(ReadOnlySpan<float> e, ReadOnlySpan<float> l)
    {
        float dot = TensorPrimitives.Dot(e, l);
        if (Score == LinkScore.Dot)
        {
            return dot;
        }

        float ne = TensorPrimitives.Norm(e), nl = TensorPrimitives.Norm(l);
        return ne > 0 && nl > 0 ? dot / (ne * nl) : 0f;
    }

    /// <summary>
    /// Adds <c>scale · ∂loss/∂e</c> to <paramref name="ge"/> and <c>scale · ∂loss/∂l</c> to <paramref name="gl"/> for a
    /// positive (<paramref name="positive"/>) or negative sample, and returns the sample's loss.
    /// For cosine, effectively <c>∂s/∂e = l/(|e||l|) − s·e/|e|²</c> (zero when either norm is zero).
    /// </summary>
    public float Backward(ReadOnlySpan<float> e, ReadOnlySpan<float> l, bool positive, float scale, Span<float> ge, Span<float> gl)
    {
        float dot = TensorPrimitives.Dot(e, l);
        float ne = 1f, nl = 1f, s = dot;
        if (Score == LinkScore.Cosine)
        {
            ne = TensorPrimitives.Norm(e);
            nl = TensorPrimitives.Norm(l);
            if (!(ne > 0 && nl > 0))
            {
                return LossOf(0f, positive);
            }

            s = dot / (ne * nl);
        }

        float dLds = DLossDScore(s, positive) * scale;
        if (Score == LinkScore.Dot)
        {
            // ge += dLds · l ; gl += dLds · e
            TensorPrimitives.MultiplyAdd(l, dLds, ge, ge);
            TensorPrimitives.MultiplyAdd(e, dLds, gl, gl);
        }
        else
        {
            // ge += dLds · (l/(|e||l|) − s·e/|e|²) ; gl += dLds · (e/(|e||l|) − s·l/|l|²)
            float a = dLds / (ne * nl);
            TensorPrimitives.MultiplyAdd(l, a, ge, ge);
            TensorPrimitives.MultiplyAdd(e, -dLds * s / (ne * ne), ge, ge);
            TensorPrimitives.MultiplyAdd(e, a, gl, gl);
            TensorPrimitives.MultiplyAdd(l, -dLds * s / (nl * nl), gl, gl);
        }

        return LossOf(s, positive);
    }

    /// <summary>The loss of score <paramref name="s"/> for a positive or negative sample.</summary>
    public float LossOf(float s, bool positive)
    {
        if (Loss == LinkLoss.Mse)
        {
            float err = s - (positive ? 1f : -1f);
            return 0.5f * err * err;
        }

        // log(1 + exp(s)) − y·s, computed without overflow.
        float softplus = s > 0 ? s + MathF.Log(1f + MathF.Exp(-s)) : MathF.Log(1f + MathF.Exp(s));
        return positive ? softplus - s : softplus;
    }

    private float DLossDScore(float s, bool positive) => Loss == LinkLoss.Mse
        ? s - (positive ? 1f : -1f)
        : Sigmoid(s) - (positive ? 1f : 0f);

    private static float Sigmoid(float x) => x >= 0 ? 1f / (1f + MathF.Exp(-x)) : MathF.Exp(x) / (1f + MathF.Exp(x));
}
