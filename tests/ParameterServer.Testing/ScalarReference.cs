using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Testing;

/// <summary>
/// Plain double-precision scalar optimizers that follow the XML docs of the kernels line by line,
/// used as the independent reference for the SIMD kernels and the shard store.
/// </summary>
public static class ScalarReference
{
    /// <summary><c>w[i] -= lr * (g[i] + wd * w[i])</c>.</summary>
    public static void Sgd(double[] w, IReadOnlyList<float> g, double lr, double wd)
    {
        for (int i = 0; i < w.Length; i++)
        {
            double gi = g[i] + (wd * w[i]);
            w[i] -= lr * gi;
        }
    }

    /// <summary><c>g' = g + wd w; h += g'^2; w -= lr g' / (sqrt(h) + eps)</c>.</summary>
    public static void Adagrad(double[] w, double[] h, IReadOnlyList<float> g, double lr, double wd, double eps)
    {
        for (int i = 0; i < w.Length; i++)
        {
            double gi = g[i] + (wd * w[i]);
            h[i] += gi * gi;
            w[i] -= lr * gi / (Math.Sqrt(h[i]) + eps);
        }
    }

    /// <summary>Lazy Adam with bias correction by the row's own 1-based step <paramref name="t"/>.</summary>
    public static void Adam(double[] w, double[] m, double[] v, IReadOnlyList<float> g, long t, double lr, double wd, double b1, double b2, double eps)
    {
        double c1 = 1.0 - Math.Pow(b1, t);
        double c2 = 1.0 - Math.Pow(b2, t);
        for (int i = 0; i < w.Length; i++)
        {
            double gi = g[i] + (wd * w[i]);
            m[i] = (b1 * m[i]) + ((1.0 - b1) * gi);
            v[i] = (b2 * v[i]) + ((1.0 - b2) * gi * gi);
            double mHat = m[i] / c1;
            double vHat = v[i] / c2;
            w[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }

    /// <summary>Dispatches one step by the settings' kind; <paramref name="state"/> is laid out like the store's.</summary>
    public static void Step(OptimizerSettings s, double[] w, double[] state, IReadOnlyList<float> g, long t)
    {
        int d = w.Length;
        switch (s.Kind)
        {
            case OptimizerKind.Sgd:
                Sgd(w, g, s.LearningRate, s.WeightDecay);
                break;
            case OptimizerKind.Adagrad:
                {
                    var h = state[..d];
                    Adagrad(w, h, g, s.LearningRate, s.WeightDecay, s.Epsilon);
                    h.CopyTo(state, 0);
                    break;
                }

            default:
                {
                    var m = state[..d];
                    var v = state[d..(2 * d)];
                    Adam(w, m, v, g, t, s.LearningRate, s.WeightDecay, s.Beta1, s.Beta2, s.Epsilon);
                    m.CopyTo(state, 0);
                    v.CopyTo(state, d);
                    break;
                }
        }
    }

    /// <summary>Asserts <paramref name="actual"/> matches <paramref name="expected"/> within a relative tolerance (floored at 1).</summary>
    public static void AssertClose(IReadOnlyList<double> expected, ReadOnlySpan<float> actual, double rel, string what)
    {
        Assert.Equal(expected.Count, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double tol = rel * Math.Max(1.0, Math.Abs(expected[i]));
            if (!(Math.Abs(actual[i] - expected[i]) <= tol))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol:R}).");
            }
        }
    }
}

/// <summary>A dictionary-backed reference of a shard store: lazy rows, per-row step counts, scalar optimizer.</summary>
public sealed class ReferenceTable(int dim, RowInitializer init, OptimizerSettings opt)
{
    private readonly Dictionary<long, (double[] W, double[] State, long[] Step)> _rows = [];

    public double[] Row(long id) => Get(id).W;

    public long Steps(long id) => Get(id).Step[0];

    public void Push(IReadOnlyList<long> ids, float[] gradients)
    {
        for (int k = 0; k < ids.Count; k++)
        {
            var row = Get(ids[k]);
            long t = ++row.Step[0];
            ScalarReference.Step(opt, row.W, row.State, new ArraySegment<float>(gradients, k * dim, dim), t);
        }
    }

    private (double[] W, double[] State, long[] Step) Get(long id)
    {
        if (!_rows.TryGetValue(id, out var row))
        {
            var f = new float[dim];
            init.Fill(id, f);
            row = (Array.ConvertAll(f, x => (double)x), new double[dim * opt.StateSlots], new long[1]);
            _rows[id] = row;
        }

        return row;
    }
}
