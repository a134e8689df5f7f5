namespace ParameterServer.Client.Tests.Tabular;

/// <summary>
/// The tabular model written out plainly in double precision, from its documented layout rather than from the
/// model's own offsets: layer l's weights are a <c>fanIn × fanOut</c> input-major block, the blocks of all layers
/// one after the other, then one bias row per layer of the widest hidden layer's width; ReLU after every hidden
/// layer; output <c>offset + z</c>. The loss is ½ (pred − y)² (regression) or the log loss of sigmoid(pred) (binary).
/// </summary>
internal sealed class TabularReference(int inputs, int[] hidden, bool binary, double offset)
{
    private int Layers => hidden.Length + 1;

    private int FanIn(int l) => l == 0 ? inputs : hidden[l - 1];

    private int FanOut(int l) => l < hidden.Length ? hidden[l] : 1;

    public int ParameterCount
    {
        get
        {
            int n = 0;
            for (int l = 0; l < Layers; l++)
            {
                n += FanIn(l) * FanOut(l);
            }

            return n + (Layers * hidden.Max());
        }
    }

    /// <summary>The smallest |pre-activation| of any hidden unit: finite differences need it well away from ReLU's kink.</summary>
    public double Margin(double[] input, double[] p)
    {
        double margin = double.PositiveInfinity;
        Forward(input, p, (_, pre) => margin = Math.Min(margin, Math.Abs(pre)));
        return margin;
    }

    /// <summary>The fewest active (positive) units of any hidden layer: with none, no gradient reaches the input.</summary>
    public int FewestActive(double[] input, double[] p)
    {
        var active = new int[hidden.Length];
        Forward(input, p, (layer, pre) => active[layer] += pre > 0 ? 1 : 0);
        return active.Min();
    }

    /// <summary>The model's output: the prediction, or the probability for a binary task.</summary>
    public double Predict(double[] input, double[] p)
    {
        double z = offset + Forward(input, p, null);
        return binary ? 1 / (1 + Math.Exp(-z)) : z;
    }

    public double Loss(double[] input, double[] p, double y)
    {
        double z = offset + Forward(input, p, null);
        return binary ? Math.Log(1 + Math.Exp(z)) - (y * z) : 0.5 * (z - y) * (z - y);
    }

    private double Forward(double[] input, double[] p, Action<int, double>? preActivation)
    {
        int weights = 0;
        int biasBase = ParameterCount - (Layers * hidden.Max());
        double[] a = input;
        for (int l = 0; l < Layers; l++)
        {
            int fi = FanIn(l), fo = FanOut(l);
            var next = new double[fo];
            for (int c = 0; c < fo; c++)
            {
                double s = p[biasBase + (l * hidden.Max()) + c];
                for (int j = 0; j < fi; j++)
                {
                    s += a[j] * p[weights + (j * fo) + c];
                }

                if (l < hidden.Length)
                {
                    preActivation?.Invoke(l, s);
                    s = Math.Max(s, 0);
                }

                next[c] = s;
            }

            weights += fi * fo;
            a = next;
        }

        return a[0];
    }

    /// <summary>Central difference of <paramref name="f"/> by <c>x[i]</c>, in double precision.</summary>
    public static double Numeric(double[] x, int i, Func<double> f, double h = 1e-6)
    {
        double keep = x[i];
        x[i] = keep + h;
        double up = f();
        x[i] = keep - h;
        double down = f();
        x[i] = keep;
        return (up - down) / (2 * h);
    }

    /// <summary>
    /// The largest relative error of <paramref name="analytic"/> against <paramref name="numeric"/>: per component,
    /// |a − n| over |n|, floored at 1e-3 of the largest |n| (components near 0 carry float rounding only).
    /// </summary>
    public static double RelativeError(IReadOnlyList<double> analytic, IReadOnlyList<double> numeric)
    {
        double scale = numeric.Max(Math.Abs);
        double worst = 0;
        for (int i = 0; i < numeric.Count; i++)
        {
            worst = Math.Max(worst, Math.Abs(analytic[i] - numeric[i]) / Math.Max(Math.Abs(numeric[i]), 1e-3 * scale));
        }

        return worst;
    }
}
