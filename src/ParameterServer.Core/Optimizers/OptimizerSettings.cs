using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Optimizers;

/// <summary>
/// Hyper-parameters of a table's optimizer, with documented defaults, a validator and the row step that applies them.
/// </summary>
/// <param name="Kind">Which optimizer. Default Adam.</param>
/// <param name="LearningRate">Step size; must be in (0, 10]. Default 0.001.</param>
/// <param name="WeightDecay">L2 weight decay added to the gradient of touched rows; in [0, 10]. Default 0.</param>
/// <param name="Beta1">Adam's first-moment decay, in [0, 1). Default 0.9.</param>
/// <param name="Beta2">Adam's second-moment decay, in [0, 1). Default 0.999.</param>
/// <param name="Epsilon">Added to the denominator of Adagrad and Adam; positive. Default 1e-8 (Adam), 1e-10 suits Adagrad.</param>
public sealed record OptimizerSettings(
    OptimizerKind Kind = OptimizerKind.Adam,
    float LearningRate = 0.001f,
    float WeightDecay = 0f,
    float Beta1 = 0.9f,
    float Beta2 = 0.999f,
    float Epsilon = 1e-8f)
{
    /// <summary>The largest learning rate accepted; anything above is surely a typo.</summary>
    public const float MaxLearningRate = 10f;

    /// <summary>
    /// Largest denominator epsilon of Adagrad and Adam. Above 1 it stops being a guard against division by zero and
    /// silently scales every step down instead.
    /// </summary>
    public const float MaxEpsilon = 1f;

    /// <summary>The names accepted by <see cref="ParseKind"/>.</summary>
    public static readonly IReadOnlyList<string> KindNames = ["sgd", "adagrad", "adam"];

    /// <summary>Number of state floats kept per value: 0 (SGD), 1 (Adagrad), 2 (Adam).</summary>
    public int StateSlots => SlotsOf(Kind);

    /// <summary>Number of state floats kept per value by <paramref name="kind"/>.</summary>
    public static int SlotsOf(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => 0,
        OptimizerKind.Adagrad => 1,
        OptimizerKind.Adam => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer."),
    };

    /// <summary>
    /// The denominator epsilon a table of <paramref name="kind"/> gets unless told otherwise: 1e-10 for Adagrad, whose
    /// accumulated squares stay small for rarely seen rows (a larger epsilon would damp exactly their steps), 1e-8
    /// (Adam's customary value) otherwise.
    /// </summary>
    public static float DefaultEpsilon(OptimizerKind kind) => kind == OptimizerKind.Adagrad ? 1e-10f : 1e-8f;

    /// <summary>Parses an optimizer name; an unknown name gets an error that lists the valid ones.</summary>
    public static OptimizerKind ParseKind(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "sgd" => OptimizerKind.Sgd,
        "adagrad" => OptimizerKind.Adagrad,
        "adam" => OptimizerKind.Adam,
        _ => throw new ArgumentException($"Unknown optimizer '{name}'. Valid optimizers: {string.Join(", ", KindNames)}."),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
        {
            throw new ArgumentException($"Unknown optimizer kind {(int)Kind}. Valid optimizers: {string.Join(", ", KindNames)}.");
        }

        if (!(LearningRate > 0f && LearningRate <= MaxLearningRate))
        {
            throw new ArgumentException($"Learning rate {LearningRate} is out of range: it must be in (0, {MaxLearningRate}].");
        }

        if (!(WeightDecay >= 0f && WeightDecay <= 10f))
        {
            throw new ArgumentException($"Weight decay {WeightDecay} is out of range: it must be in [0, 10].");
        }

        if (!(Beta1 >= 0f && Beta1 < 1f) || !(Beta2 >= 0f && Beta2 < 1f))
        {
            throw new ArgumentException($"Adam betas ({Beta1}, {Beta2}) are out of range: each must be in [0, 1).");
        }

        if (!(Epsilon > 0f && Epsilon <= MaxEpsilon))
        {
            throw new ArgumentException($"Epsilon {Epsilon} is out of range: it must be in (0, {MaxEpsilon}].");
        }
    }

    /// <summary>
    /// Applies one step of this optimizer to one row. <paramref name="state"/> holds <see cref="StateSlots"/>
    /// consecutive blocks of <c>w.Length</c> floats; <paramref name="step"/> is the row's 1-based step number.
    /// </summary>
    public void Apply(Span<float> w, Span<float> state, ReadOnlySpan<float> g, long step)
    {
        int d = w.Length;
        switch (Kind)
        {
            case OptimizerKind.Sgd:
                SgdStep.Apply(w, g, LearningRate, WeightDecay);
                break;
            case OptimizerKind.Adagrad:
                AdagradStep.Apply(w, state[..d], g, LearningRate, WeightDecay, Epsilon);
                break;
            case OptimizerKind.Adam:
                AdamStep.Apply(w, state[..d], state.Slice(d, d), g, step, LearningRate, WeightDecay, Beta1, Beta2, Epsilon);
                break;
            default:
                throw new InvalidOperationException($"Unknown optimizer {Kind}.");
        }
    }
}
