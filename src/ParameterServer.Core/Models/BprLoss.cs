using System.Numerics.Tensors;

namespace ParameterServer.Core.Models;

/// <summary>
/// Bayesian personalized ranking (Rendle et al., 2009) for one (user, positive item, negative item) triple: with
/// scores <c>x_i = u·v_i + b_i</c> and <c>x = x_pos − x_neg</c>, the loss is <c>−ln σ(x)</c>, low when the user's item
/// outranks the sampled one. Its gradient is <c>−σ(−x)</c> times ∂x: <c>∂u = v_pos − v_neg</c>, <c>∂v_pos = u</c>,
/// <c>∂v_neg = −u</c>, <c>∂b_pos = 1</c>, <c>∂b_neg = −1</c>.
/// </summary>
public static class BprLoss
{
    /// <summary>
    /// Adds <paramref name="scale"/> times the gradient of the loss to <paramref name="gu"/>, <paramref name="gPos"/>,
    /// <paramref name="gNeg"/>, <paramref name="gbPos"/> and <paramref name="gbNeg"/>, and returns the loss
    /// <c>−ln σ(x)</c> (computed as <c>ln(1 + e^−x)</c>, stable for large |x|). NaN in the inputs propagates.
    /// </summary>
    public static float Backward(
        ReadOnlySpan<float> u, ReadOnlySpan<float> pos, ReadOnlySpan<float> neg, float bPos, float bNeg, float scale,
        Span<float> gu, Span<float> gPos, Span<float> gNeg, ref float gbPos, ref float gbNeg)
    {
        float x = TensorPrimitives.Dot(u, pos) - TensorPrimitives.Dot(u, neg) + bPos - bNeg;
        // dL/dx = −σ(−x) = −1 / (1 + e^x).
        float d = -scale / (1f + MathF.Exp(x));
        // gu += d (pos − neg); gPos += d u; gNeg −= d u.
        TensorPrimitives.MultiplyAdd(pos, d, gu, gu);
        TensorPrimitives.MultiplyAdd(neg, -d, gu, gu);
        TensorPrimitives.MultiplyAdd(u, d, gPos, gPos);
        TensorPrimitives.MultiplyAdd(u, -d, gNeg, gNeg);
        gbPos += d;
        gbNeg -= d;
        return x >= 0 ? MathF.Log(1f + MathF.Exp(-x)) : -x + MathF.Log(1f + MathF.Exp(x));
    }
}
