using System.Globalization;
using ParameterServer.Core.Data;

namespace ParameterServer.Core.Models;

/// <summary>
/// Entity embeddings of categorical columns with a dense head: the input is the concatenation of one embedding
/// row per categorical column (in schema order) and the standardized numeric columns; an <see cref="MlpHead"/>
/// maps it to one output z, and the model's output is <c>offset + z</c> for regression and
/// <c>sigmoid(offset + z)</c> for a binary task. The offset (the training target's mean, or the log-odds of its
/// base rate) lets the head start from the best constant prediction instead of learning it first.
/// </summary>
public sealed class TabularModel
{
    private readonly int[] _columnOffsets;

    /// <summary>Creates the model of <paramref name="schema"/> with the given hidden layers (one or two) and offset.</summary>
    public TabularModel(TabularSchema schema, IReadOnlyList<int> hidden, float offset)
    {
        ArgumentNullException.ThrowIfNull(schema);
        Schema = schema;
        Offset = offset;
        _columnOffsets = new int[schema.Categorical.Count];
        int at = 0;
        for (int c = 0; c < _columnOffsets.Length; c++)
        {
            _columnOffsets[c] = at;
            at += schema.Categorical[c].Dim;
        }

        NumericOffset = at;
        Head = new MlpHead(schema.InputWidth, hidden);
    }

    /// <summary>The columns.</summary>
    public TabularSchema Schema { get; }

    /// <summary>The dense head.</summary>
    public MlpHead Head { get; }

    /// <summary>Regression or binary.</summary>
    public TabularTask Task => Schema.Task;

    /// <summary>Added to the head's output: the target mean (regression) or the base rate's log-odds (binary).</summary>
    public float Offset { get; }

    /// <summary>Width of the input vector.</summary>
    public int InputWidth => Head.Inputs;

    /// <summary>Where the numeric columns start in the input.</summary>
    public int NumericOffset { get; }

    /// <summary>Floats of scratch one sample needs (<see cref="Predict"/>, <see cref="Backward"/>).</summary>
    public int ScratchLength => 2 * Head.ActivationCount;

    /// <summary>The hidden layer sizes most a model may have.</summary>
    public const int MaxHiddenLayers = 2;

    /// <summary>Where categorical column <paramref name="column"/>'s embedding starts in the input.</summary>
    public int ColumnOffset(int column) => _columnOffsets[column];

    /// <summary>Parses <c>64</c> or <c>64,32</c>: one or two hidden layers of positive sizes.</summary>
    public static IReadOnlyList<int> ParseHidden(string? spec)
    {
        var sizes = new List<int>();
        foreach (string part in (spec ?? "").Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int size) || size < 1)
            {
                throw new ArgumentException($"--hidden '{spec}': '{part.Trim()}' is not a positive layer size; write 64 or 64,32.");
            }

            sizes.Add(size);
        }

        if (sizes.Count > MaxHiddenLayers)
        {
            throw new ArgumentException($"--hidden '{spec}' has {sizes.Count} layers; a tabular head has 1 or {MaxHiddenLayers} hidden layers.");
        }

        return sizes;
    }

    /// <summary>The model's output for <paramref name="input"/>: the prediction (regression) or the probability of 1 (binary).</summary>
    public float Predict(ReadOnlySpan<float> input, ReadOnlySpan<float> head, Span<float> scratch)
    {
        float z = Offset + Head.Forward(input, head, scratch);
        return Task == TabularTask.Binary ? Sigmoid(z) : z;
    }

    /// <summary>
    /// One sample's forward and backward pass. Returns its loss: the squared error <c>(pred − y)²</c> (regression)
    /// or the log loss (binary). Adds to <paramref name="headGrad"/> the gradient by the head's parameters and
    /// writes to <paramref name="inputGrad"/> the gradient by the input, both of <c>½ (pred − y)²</c> (regression)
    /// or of the log loss (binary): in both cases the output's derivative is <c>pred − y</c>.
    /// </summary>
    public float Backward(ReadOnlySpan<float> input, float y, ReadOnlySpan<float> head, Span<float> headGrad, Span<float> inputGrad, Span<float> scratch)
    {
        int a = Head.ActivationCount;
        if (scratch.Length < 2 * a)
        {
            throw new ArgumentException($"Scratch of {scratch.Length} floats; the model needs {2 * a}.", nameof(scratch));
        }

        var activations = scratch[..a];
        float z = Offset + Head.Forward(input, head, activations);
        float loss, dz;
        if (Task == TabularTask.Binary)
        {
            // log(1 + e^z) − y·z, computed without overflow; its derivative is sigmoid(z) − y.
            loss = MathF.Max(z, 0f) - (y * z) + MathF.Log(1f + MathF.Exp(-MathF.Abs(z)));
            dz = Sigmoid(z) - y;
        }
        else
        {
            dz = z - y;
            loss = dz * dz;
        }

        Head.Backward(input, dz, head, activations, headGrad, inputGrad, scratch.Slice(a, a));
        return loss;
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
