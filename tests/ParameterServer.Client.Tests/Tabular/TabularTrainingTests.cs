using ParameterServer.Client.Query;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using StableHash = ParameterServer.Core.Hashing.StableHash;

namespace ParameterServer.Client.Tests.Tabular;

[Collection(ClusterCollection.Name)]
public sealed class TabularTrainingTests(ClusterFixture fixture)
{
    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A data set of the given columns, labelled with the values' texts as the reader would.</summary>
    private static TabularData Data(TabularSchema schema, string[][] values, float[] numeric, float[] targets) => new(
        schema,
        [.. values.Select(column => column.Select(StableHash.Of).ToArray())],
        numeric,
        targets,
        [.. values.Select(column => (IReadOnlyDictionary<long, string>)column.Distinct().ToDictionary(StableHash.Of, v => v))]);

    [Fact]
    public async Task Seed_001_neighbour_order_by_euclidean_distance_equals_effect_order()
    {
        // 8 categories with planted effects −3.5, −2.5, ..., 3.5 (shuffled over the names); y = effect + N(0, 0.2²).
        var rng = new Random(1);
        float[] effects = [.. Enumerable.Range(0, 8).Select(i => i - 3.5f)];
        rng.Shuffle(effects);
        string[] names = [.. Enumerable.Range(0, 8).Select(i => $"c{i}")];
        const int n = 4000;
        var cat = new string[n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = rng.Next(8);
            cat[i] = names[c];
            y[i] = effects[c] + (float)(0.2 * Normal(rng));
        }

        var schema = new TabularSchema { Categorical = [new("cat", 2)], Target = "y", Task = TabularTask.Regression };
        var (train, valid) = Data(schema, [cat], [], y).Split(0.2, 1);
        string prefix = ClusterFixture.UniqueName("seed001-tab");
        var options = new TrainingOptions
        {
            Epochs = 15,
            BatchSize = 64,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.01f,
            WeightDecay = 0,
            InitScale = 0.01f,
            Workers = 1,
            Staleness = 0,
            Patience = 15,
            Seed = 1,
            TablePrefix = prefix,
        };
        var report = await new TabularTrainer(fixture.Client, options, new TabularOptions { Hidden = [8] }).TrainAsync(train, valid);
        Assert.InRange(report.ValidationRmse, 0, 0.4);

        // Neighbours of the lowest-effect category by Euclidean distance, through the query grain and the labels.
        var byEffect = Enumerable.Range(0, 8).OrderBy(c => effects[c]).Select(c => names[c]).ToArray();
        var neighbours = await new QueryClient(fixture.Client).NearestAsync($"{prefix}.cat", QueryTarget.ByLabel(byEffect[0]), 8, SimilarityMetric.Euclidean);
        Assert.Equal(byEffect, neighbours.Hits.Select(h => h.Label));
        Assert.Equal(StableHash.Of(byEffect[0]), neighbours.Hits[0].Id);
    }

    [Fact]
    public async Task Binary_task_learns_well_below_the_base_rate_with_accuracy_above_080()
    {
        // logit = 5·a_effect + 3·b_effect + 3·(x − 10) / 2 with x ~ N(10, 2²): the Bayes accuracy is about 0.88.
        var rng = new Random(3);
        double[] effA = [.. Enumerable.Range(0, 10).Select(_ => (2 * rng.NextDouble()) - 1)];
        double[] effB = [.. Enumerable.Range(0, 4).Select(_ => (2 * rng.NextDouble()) - 1)];
        const int n = 20_000;
        var a = new string[n];
        var b = new string[n];
        var x = new float[n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            int ia = rng.Next(10), ib = rng.Next(4);
            double xi = 10 + (2 * Normal(rng));
            double z = (5 * effA[ia]) + (3 * effB[ib]) + (3 * (xi - 10) / 2);
            a[i] = $"a{ia}";
            b[i] = $"b{ib}";
            x[i] = (float)xi;
            y[i] = rng.NextDouble() < 1 / (1 + Math.Exp(-z)) ? 1 : 0;
        }

        var schema = new TabularSchema { Categorical = [new("a", 4), new("b", 2)], Numeric = ["x"], Target = "label", Task = TabularTask.Binary };
        var (train, valid) = Data(schema, [a, b], x, y).Split(0.2, 3);
        string prefix = ClusterFixture.UniqueName("binary-tab");
        var options = new TrainingOptions { Epochs = 8, BatchSize = 256, LearningRate = 0.01f, WeightDecay = 0, InitScale = 0.01f, Seed = 3, TablePrefix = prefix };
        var report = await new TabularTrainer(fixture.Client, options, new TabularOptions { Hidden = [16, 8] }).TrainAsync(train, valid);

        // Independent figures from the tables (which hold the best epoch): the base rate's log loss, and the
        // model's log loss, accuracy and pairwise AUC on the validation rows.
        double rate = train.Targets.Average(v => (double)v);
        double baseLogLoss = -valid.Targets.Average(v => v > 0.5f ? Math.Log(rate) : Math.Log(1 - rate));
        var tables = await TabularTables.OpenAsync(fixture.Client, prefix);
        var opened = tables.Model.Schema;
        Assert.Equal(schema.Categorical, opened.Categorical);
        Assert.Equal(schema.Numeric, opened.Numeric);
        Assert.Equal((schema.Target, schema.Task), (opened.Target, opened.Task));
        Assert.Equal(train.NumericMoments().Mean, tables.Scaling.Mean);
        Assert.Equal(train.NumericMoments().Std, tables.Scaling.Std);
        var p = await TabularTrainer.PredictAsync(tables, valid);
        double logLoss = -Enumerable.Range(0, p.Length).Average(k => valid.Targets[k] > 0.5f ? Math.Log(p[k]) : Math.Log(1 - p[k]));
        double accuracy = Enumerable.Range(0, p.Length).Average(k => (p[k] >= 0.5f) == (valid.Targets[k] > 0.5f) ? 1.0 : 0.0);
        var positives = Enumerable.Range(0, p.Length).Where(k => valid.Targets[k] > 0.5f).Select(k => p[k]).ToArray();
        var negatives = Enumerable.Range(0, p.Length).Where(k => valid.Targets[k] <= 0.5f).Select(k => p[k]).ToArray();
        double auc = positives.Sum(pp => negatives.Sum(nn => pp > nn ? 1.0 : pp == nn ? 0.5 : 0.0)) / ((double)positives.Length * negatives.Length);

        Assert.Equal("binary", report.Task);
        Assert.True(logLoss < 0.6 * baseLogLoss, $"validation log loss {logLoss:F4} against the base rate's {baseLogLoss:F4}");
        Assert.True(accuracy > 0.8, $"validation accuracy {accuracy:F4}");
        Assert.True(auc > 0.9, $"validation AUC {auc:F4}");
        Assert.Equal(logLoss, report.ValidationLogLoss!.Value, 1e-5);
        Assert.Equal(accuracy, report.ValidationAccuracy!.Value, 1e-9);
        Assert.Equal(auc, report.ValidationAuc!.Value, 1e-9);
        Assert.Equal(report.Epochs.Min(e => e.ValidationLogLoss), report.ValidationLogLoss);

        // Every column is a table keyed by the value's text and labelled with it; the head is a few rows.
        var names = await fixture.Client.ListTablesAsync();
        Assert.Equal(
            [$"{prefix}.a", $"{prefix}.b", $"{prefix}.head.1", $"{prefix}.head.2", $"{prefix}.head.3", $"{prefix}.head.bias"],
            names.Where(t => t.StartsWith(prefix + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var (id, _) = await new QueryClient(fixture.Client).ResolveLabelAsync($"{prefix}.a", "a7");
        Assert.Equal(StableHash.Of("a7"), id);
        Assert.Equal(16, (await fixture.Client.DescribeAsync($"{prefix}.head.2")).Rows);
    }
}
