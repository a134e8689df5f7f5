using System.Numerics.Tensors;
using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Models;

/// <summary>
/// A small dense network with ReLU hidden layers and one linear output, over one flat parameter vector. Layer l
/// maps <see cref="FanIn"/>(l) inputs to <see cref="FanOut"/>(l) outputs; its weights are stored input-major
/// (row j holds the weights from input j to every output, so a row has <see cref="FanOut"/> values), followed, after
/// every layer's weights, by one bias row of <see cref="BiasStride"/> values per layer (the first
/// <see cref="FanOut"/>(l) used). Both passes run on spans with the Vector256 kernels of <see cref="DenseLayer"/>
/// and <see cref="TensorPrimitives"/>, and allocate nothing.
/// </summary>
public sealed class MlpHead
{
    private readonly int[] _weightOffsets;
    private readonly int[] _activationOffsets;
    private readonly int _biasBase;

    /// <summary>Creates the head of <paramref name="inputs"/> inputs and the given hidden layer sizes (at least one).</summary>
    public MlpHead(int inputs, IReadOnlyList<int> hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        if (hidden.Count == 0 || hidden.Any(h => h < 1))
        {
            throw new ArgumentException($"Hidden layers [{string.Join(", ", hidden)}] must be at least one, each of at least one unit.", nameof(hidden));
        }

        Inputs = inputs;
        Hidden = [.. hidden];
        _weightOffsets = new int[Layers];
        _activationOffsets = new int[hidden.Count];
        int offset = 0;
        for (int l = 0; l < Layers; l++)
        {
            _weightOffsets[l] = offset;
            offset += FanIn(l) * FanOut(l);
        }

        _biasBase = offset;
        BiasStride = hidden.Max();
        int a = 0;
        for (int l = 0; l < hidden.Count; l++)
        {
            _activationOffsets[l] = a;
            a += hidden[l];
        }

        ActivationCount = a;
    }

    /// <summary>Inputs of the first layer.</summary>
    public int Inputs { get; }

    /// <summary>Units of each hidden layer.</summary>
    public IReadOnlyList<int> Hidden { get; }

    /// <summary>Layers with weights: the hidden ones and the output.</summary>
    public int Layers => Hidden.Count + 1;

    /// <summary>Values of one bias row: the widest layer's outputs.</summary>
    public int BiasStride { get; }

    /// <summary>Hidden units in all (the activations one sample keeps for its backward pass).</summary>
    public int ActivationCount { get; }

    /// <summary>Length of the flat parameter vector.</summary>
    public int ParameterCount => _biasBase + (Layers * BiasStride);

    /// <summary>Inputs of layer <paramref name="layer"/> (0-based).</summary>
    public int FanIn(int layer) => layer == 0 ? Inputs : Hidden[layer - 1];

    /// <summary>Outputs of layer <paramref name="layer"/>: a hidden layer's units, 1 for the output layer.</summary>
    public int FanOut(int layer) => layer < Hidden.Count ? Hidden[layer] : 1;

    /// <summary>Where layer <paramref name="layer"/>'s weights (<c>FanIn × FanOut</c>, input-major) start.</summary>
    public int WeightOffset(int layer) => _weightOffsets[layer];

    /// <summary>Where the bias rows start (<see cref="Layers"/> rows of <see cref="BiasStride"/>).</summary>
    public int BiasBase => _biasBase;

    /// <summary>Where layer <paramref name="layer"/>'s bias starts.</summary>
    public int BiasOffset(int layer) => _biasBase + (layer * BiasStride);

    /// <summary>The output for input <paramref name="x"/>; the hidden activations (after ReLU) land in <paramref name="activations"/>.</summary>
    public float Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> p, Span<float> activations)
    {
        Check(x, p, activations);
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < Hidden.Count; l++)
        {
            int fi = FanIn(l), fo = Hidden[l];
            var h = activations.Slice(_activationOffsets[l], fo);
            p.Slice(BiasOffset(l), fo).CopyTo(h);
            DenseLayer.Forward(input[..fi], p.Slice(_weightOffsets[l], fi * fo), h);
            TensorPrimitives.Max(h, 0f, h);
            input = h;
        }

        int last = Hidden.Count;
        return TensorPrimitives.Dot(input, p.Slice(_weightOffsets[last], FanIn(last))) + p[BiasOffset(last)];
    }

    /// <summary>
    /// Back-propagates <paramref name="dOut"/> (the loss's derivative by the output) through the sample whose
    /// <see cref="Forward"/> left <paramref name="activations"/>: adds the parameters' gradient to
    /// <paramref name="grad"/> and writes the input's gradient to <paramref name="dx"/>. <paramref name="deltas"/>
    /// is scratch of <see cref="ActivationCount"/> values.
    /// </summary>
    public void Backward(ReadOnlySpan<float> x, float dOut, ReadOnlySpan<float> p, ReadOnlySpan<float> activations, Span<float> grad, Span<float> dx, Span<float> deltas)
    {
        Check(x, p, activations);
        if (grad.Length < ParameterCount || dx.Length < Inputs || deltas.Length < ActivationCount)
        {
            throw new ArgumentException($"Gradient {grad.Length}, input gradient {dx.Length} or scratch {deltas.Length} shorter than {ParameterCount}, {Inputs}, {ActivationCount}.");
        }

        int last = Hidden.Count;
        int lastIn = FanIn(last);
        var wOut = p.Slice(_weightOffsets[last], lastIn);
        var lastInput = activations.Slice(_activationOffsets[last - 1], lastIn);
        var gOut = grad.Slice(_weightOffsets[last], lastIn);
        TensorPrimitives.MultiplyAdd(lastInput, dOut, gOut, gOut);
        grad[BiasOffset(last)] += dOut;

        // δ of the last hidden layer: dOut · w_out where the unit was active.
        var delta = deltas.Slice(_activationOffsets[last - 1], lastIn);
        TensorPrimitives.Multiply(wOut, dOut, delta);
        for (int j = 0; j < lastIn; j++)
        {
            if (lastInput[j] <= 0f)
            {
                delta[j] = 0f;
            }
        }

        for (int l = last - 1; l >= 0; l--)
        {
            int fi = FanIn(l), fo = Hidden[l];
            var d = deltas.Slice(_activationOffsets[l], fo);
            var gb = grad.Slice(BiasOffset(l), fo);
            TensorPrimitives.Add(gb, d, gb);

            // Below the first layer the input is the data (any sign); above it a ReLU output, whose unit passes
            // the gradient only where it was active.
            DenseLayer.Backward(
                l == 0 ? x[..fi] : activations.Slice(_activationOffsets[l - 1], fi),
                d,
                p.Slice(_weightOffsets[l], fi * fo),
                grad.Slice(_weightOffsets[l], fi * fo),
                l == 0 ? dx[..fi] : deltas.Slice(_activationOffsets[l - 1], fi),
                relu: l > 0);
        }
    }

    private void Check(ReadOnlySpan<float> x, ReadOnlySpan<float> p, ReadOnlySpan<float> activations)
    {
        if (x.Length < Inputs || p.Length < ParameterCount || activations.Length < ActivationCount)
        {
            throw new ArgumentException($"Input {x.Length}, parameters {p.Length} or activations {activations.Length} shorter than {Inputs}, {ParameterCount}, {ActivationCount}.");
        }
    }
}
