using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Tests;

/// <summary>The dense-layer kernels against plain double loops, at widths that take every path (32-wide blocks, 8-wide blocks, scalar tails).</summary>
public sealed class DenseLayerTests
{
    public static TheoryData<int, int> Sizes()
    {
        var data = new TheoryData<int, int>();
        foreach (int fi in new[] { 1, 3, 68 })
        {
            foreach (int fo in new[] { 1, 7, 8, 13, 32, 33, 64, 70 })
            {
                data.Add(fi, fo);
            }
        }

        return data;
    }

    private static float[] Random(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((2 * rng.NextDouble()) - 1))];

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_adds_each_input_times_its_weight_row(int fi, int fo)
    {
        var rng = new Random((fi * 100) + fo);
        float[] x = Random(rng, fi), w = Random(rng, fi * fo), h = Random(rng, fo);
        x[0] = 0f; // a zero input's row is skipped: the result must not change
        var expected = new double[fo];
        for (int c = 0; c < fo; c++)
        {
            expected[c] = h[c];
            for (int j = 0; j < fi; j++)
            {
                expected[c] += (double)x[j] * w[(j * fo) + c];
            }
        }

        DenseLayer.Forward(x, w, h);
        for (int c = 0; c < fo; c++)
        {
            Assert.Equal(expected[c], h[c], 1e-4);
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Backward_adds_the_outer_product_and_gives_each_rows_dot_with_delta(int fi, int fo)
    {
        foreach (bool relu in new[] { false, true })
        {
            var rng = new Random((fi * 100) + fo + (relu ? 7 : 0));
            float[] input = Random(rng, fi), delta = Random(rng, fo), w = Random(rng, fi * fo), gw = Random(rng, fi * fo);
            float[] before = [.. gw];
            var below = new float[fi];
            DenseLayer.Backward(input, delta, w, gw, below, relu);
            for (int j = 0; j < fi; j++)
            {
                bool off = relu && input[j] <= 0f;
                double dot = 0;
                for (int c = 0; c < fo; c++)
                {
                    dot += (double)w[(j * fo) + c] * delta[c];
                    double g = before[(j * fo) + c] + (off ? 0 : (double)input[j] * delta[c]);
                    Assert.Equal(g, gw[(j * fo) + c], 1e-5);
                }

                Assert.Equal(off ? 0 : dot, below[j], 1e-4);
            }
        }
    }

    [Fact]
    public void Weights_too_short_for_the_shapes_are_refused()
    {
        Assert.Throws<ArgumentException>(() => DenseLayer.Forward(new float[3], new float[11], new float[4]));
        Assert.Throws<ArgumentException>(() => DenseLayer.Backward(new float[3], new float[4], new float[12], new float[12], new float[2], relu: false));
    }
}
