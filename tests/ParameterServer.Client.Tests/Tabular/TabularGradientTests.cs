using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Storage;

namespace ParameterServer.Client.Tests.Tabular;

/// <summary>
/// The SIMD forward and backward passes of the tabular model against central finite differences of a plain
/// double-precision reference (<see cref="TabularReference"/>): per sample through <see cref="TabularModel"/>, and per
/// minibatch through the trainer's step, with its distinct-row sums and the head's batch mean.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TabularGradientTests(ClusterFixture fixture)
{
    private const double Tolerance = 1e-3;

    // Two categorical columns (dims 3 and 2) and two numeric columns: an input of 7.
    private static TabularSchema Schema(TabularTask task) => new()
    {
        Categorical = [new("a", 3), new("b", 2)],
        Numeric = ["x1", "x2"],
        Target = "y",
        Task = task,
    };

    public static TheoryData<TabularTask, int[]> Cases() => new()
    {
        { TabularTask.Regression, [5] },
        { TabularTask.Regression, [6, 4] },
        { TabularTask.Binary, [5] },
        { TabularTask.Binary, [6, 4] },

        // Widths that take the Vector256 paths: blocks of 32 and of 8 outputs, and a scalar tail.
        { TabularTask.Regression, [40] },
        { TabularTask.Binary, [37, 9] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void One_samples_gradients_by_embeddings_numerics_and_every_layer_match_finite_differences(TabularTask task, int[] hidden)
    {
        bool binary = task == TabularTask.Binary;
        var model = new TabularModel(Schema(task), hidden, binary ? -0.3f : 2.5f);
        var reference = new TabularReference(model.InputWidth, hidden, binary, model.Offset);
        Assert.Equal(reference.ParameterCount, model.Head.ParameterCount);

        // Draw until every hidden unit is well away from ReLU's kink (the finite differences step 1e-6) and every
        // hidden layer has at least two active units (else no gradient reaches the input).
        var rng = new Random(11 + hidden.Length + (binary ? 100 : 0));
        double[] input, p;
        do
        {
            input = Uniform(rng, model.InputWidth, 1.5);
            p = Uniform(rng, model.Head.ParameterCount, 0.8);
        }
        while (reference.Margin(input, p) < 1e-3 || reference.FewestActive(input, p) < 2);

        // A binary label on the wrong side of the prediction keeps |p − y| above ½, so no gradient vanishes.
        double y = binary ? (reference.Predict(input, p) > 0.5 ? 0 : 1) : 3.7;
        var headGrad = new float[p.Length];
        var inputGrad = new float[input.Length];
        float loss = model.Backward(ToFloat(input), (float)y, ToFloat(p), headGrad, inputGrad, new float[model.ScratchLength]);

        double pred = reference.Predict(input, p);
        double expectedLoss = binary ? reference.Loss(input, p, y) : (pred - y) * (pred - y);
        Assert.Equal(expectedLoss, loss, 1e-4 * Math.Max(1, expectedLoss));
        Assert.Equal(pred, model.Predict(ToFloat(input), ToFloat(p), new float[model.ScratchLength]), 1e-4 * Math.Max(1, Math.Abs(pred)));

        var numericByInput = Enumerable.Range(0, input.Length).Select(i => TabularReference.Numeric(input, i, () => reference.Loss(input, p, y))).ToArray();
        var numericByHead = Enumerable.Range(0, p.Length).Select(i => TabularReference.Numeric(p, i, () => reference.Loss(input, p, y))).ToArray();

        // Embedding inputs (columns a and b), numeric inputs, and each layer's weights and biases, checked apart so one
        // part's large gradients cannot hide another's error.
        var parts = new List<(string What, int From, int Count, bool Head)>
        {
            ("embedding a", model.ColumnOffset(0), 3, false),
            ("embedding b", model.ColumnOffset(1), 2, false),
            ("numeric inputs", model.NumericOffset, 2, false),
        };
        for (int l = 0; l < model.Head.Layers; l++)
        {
            parts.Add(($"layer {l + 1} weights", model.Head.WeightOffset(l), model.Head.FanIn(l) * model.Head.FanOut(l), true));
            parts.Add(($"layer {l + 1} biases", model.Head.BiasOffset(l), model.Head.FanOut(l), true));
        }

        foreach (var (what, from, count, head) in parts)
        {
            var analytic = (head ? headGrad : inputGrad).Skip(from).Take(count).Select(v => (double)v).ToArray();
            var numeric = (head ? numericByHead : numericByInput).Skip(from).Take(count).ToArray();
            Assert.True(numeric.Any(v => Math.Abs(v) > 1e-6), $"{what}: no gradient at all, nothing is checked");
            double error = TabularReference.RelativeError(analytic, numeric);
            Assert.True(error < Tolerance, $"{what}: relative error {error:E2}; backward [{string.Join(", ", analytic)}], finite differences [{string.Join(", ", numeric)}]");
        }

        // The unused tail of a narrower layer's bias row gets no gradient.
        for (int l = 0; l < model.Head.Layers; l++)
        {
            for (int c = model.Head.FanOut(l); c < model.Head.BiasStride; c++)
            {
                Assert.Equal(0f, headGrad[model.Head.BiasOffset(l) + c]);
            }
        }
    }

    [Theory]
    [InlineData(TabularTask.Regression)]
    [InlineData(TabularTask.Binary)]
    public async Task A_minibatch_step_sums_each_rows_gradient_over_its_samples_and_averages_the_heads(TabularTask task)
    {
        // 12 samples over 3 and 2 values, so rows repeat within the batch.
        bool binary = task == TabularTask.Binary;
        var schema = Schema(task);
        var rng = new Random(5);
        const int n = 12;
        var a = Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray();
        var b = Enumerable.Range(0, n).Select(i => (long)((i / 2) % 2)).ToArray();
        var numeric = Enumerable.Range(0, 2 * n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
        var targets = Enumerable.Range(0, n).Select(i => binary ? i % 2 : (float)(rng.NextDouble() * 4)).ToArray();
        var data = new TabularData(schema, [a, b], numeric, targets, [new Dictionary<long, string>(), new Dictionary<long, string>()]);

        var options = new TrainingOptions { TablePrefix = ClusterFixture.UniqueName("tabgrad"), Shards = 3, InitScale = 0.5f, Seed = 4 };
        var tabular = new TabularOptions { Hidden = [6, 4] };
        var model = new TabularModel(schema, tabular.Hidden, binary ? 0.2f : 2f);
        var tables = await TabularTables.CreateAsync(fixture.Client, options, tabular, model, new NumericScaling([0, 0], [1, 1]), 0, 4);
        var batch = new TabularBatch(tables, data, n);
        batch.Load([.. Enumerable.Range(0, n)]);
        await batch.PullAsync();
        double loss = batch.Compute();

        // The reference sees the same pulled rows: a table per column, rows keyed by id.
        var rows = batch.Columns.Select(c => Enumerable.Range(0, c.Count).ToDictionary(j => c.Ids[j], j => c.Values.Skip(j * c.Dim).Take(c.Dim).Select(v => (double)v).ToArray())).ToArray();
        double[] head = [.. batch.Head.Select(v => (double)v)];
        var reference = new TabularReference(model.InputWidth, [6, 4], binary, model.Offset);
        double[] Input(int k) => [.. rows[0][a[k]], .. rows[1][b[k]], numeric[2 * k], numeric[(2 * k) + 1]];
        double BatchLoss() => Enumerable.Range(0, n).Sum(k => reference.Loss(Input(k), head, targets[k]));
        Assert.True(Enumerable.Range(0, n).Min(k => reference.Margin(Input(k), head)) > 1e-4, "a hidden unit sits on ReLU's kink; pick another seed");

        double expected = binary ? BatchLoss() : Enumerable.Range(0, n).Sum(k => 2 * reference.Loss(Input(k), head, targets[k]));
        Assert.Equal(expected, loss, 1e-4 * Math.Max(1, expected));

        // Each embedding row: the sum over the samples that use it.
        for (int c = 0; c < 2; c++)
        {
            var distinct = batch.Columns[c];
            Assert.Equal(c == 0 ? 3 : 2, distinct.Count);
            for (int j = 0; j < distinct.Count; j++)
            {
                var row = rows[c][distinct.Ids[j]];
                var numericGrad = Enumerable.Range(0, row.Length).Select(i => TabularReference.Numeric(row, i, BatchLoss)).ToArray();
                var analytic = distinct.Gradients.Skip(j * distinct.Dim).Take(distinct.Dim).Select(v => (double)v).ToArray();
                Assert.True(numericGrad.Any(g => g != 0), $"column {c} row {distinct.Ids[j]} does not change the loss (every unit it feeds is off for its samples); pick another seed");
                double error = TabularReference.RelativeError(analytic, numericGrad);
                Assert.True(error < Tolerance, $"column {c} row {distinct.Ids[j]}: relative error {error:E2}");
            }
        }

        // The head: the batch mean.
        var numericHead = Enumerable.Range(0, head.Length).Select(i => TabularReference.Numeric(head, i, BatchLoss) / n).ToArray();
        double headError = TabularReference.RelativeError([.. batch.HeadGrad.Select(v => (double)v)], numericHead);
        Assert.True(headError < Tolerance, $"head: relative error {headError:E2}");

        // The head started as documented: layer weights within ±√(6 / (fan_in + fan_out)), biases zero.
        for (int l = 0; l < model.Head.Layers; l++)
        {
            double bound = Math.Sqrt(6.0 / (model.Head.FanIn(l) + model.Head.FanOut(l)));
            var weights = batch.Head.AsSpan(model.Head.WeightOffset(l), model.Head.FanIn(l) * model.Head.FanOut(l)).ToArray();
            Assert.All(weights, w => Assert.InRange(Math.Abs(w), 0, bound));
            Assert.True(weights.Max(Math.Abs) > bound / 2, $"layer {l + 1} weights span too little of ±{bound:F3}");
            Assert.Equal(InitializerKind.Uniform, tables.Layers[l].Spec.Initializer);
        }

        Assert.All(batch.Head.AsSpan(model.Head.BiasBase).ToArray(), v => Assert.Equal(0f, v));
    }

    private static double[] Uniform(Random rng, int n, double scale) => [.. Enumerable.Range(0, n).Select(_ => scale * ((2 * rng.NextDouble()) - 1))];

    private static float[] ToFloat(double[] values) => [.. values.Select(v => (float)v)];
}
