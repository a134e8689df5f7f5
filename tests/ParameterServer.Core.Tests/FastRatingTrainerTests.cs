using System.Reflection;
using ParameterServer.Core.Baseline;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Tests;

/// <summary>The fused, prefetching, Hogwild COST baseline against the plain in-memory reference.</summary>
public class FastRatingTrainerTests
{
    public static TheoryData<OptimizerKind, RatingModelKind, int, float> Cases()
    {
        var cases = new TheoryData<OptimizerKind, RatingModelKind, int, float>();
        foreach (var opt in Enum.GetValues<OptimizerKind>())
        {
            foreach (var model in Enum.GetValues<RatingModelKind>().Where(m => new RatingModel(m, 1f, 5f, 3f).PredictsRatings))
            {
                // Dim 6 runs only the scalar tail; 64 only whole vectors; 13 both.
                foreach (int dim in new[] { 6, 13, 64 })
                {
                    foreach (float wd in new[] { 0f, 0.05f })
                    {
                        cases.Add(opt, model, dim, wd);
                    }
                }
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneThreadIsTheReferenceAlgorithm(OptimizerKind kind, RatingModelKind modelKind, int dim, float wd)
    {
        // Same rows, gradients and optimizer as InMemoryRatingTrainer; only FMA rounding and summation order differ.
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 30, Items: 20, Count: 400, Seed: 3)).Data;
        var model = new RatingModel(modelKind, 0.5f, 5f, 3.5f);
        var opt = new OptimizerSettings(kind, kind == OptimizerKind.Adam ? 0.01f : 0.02f, WeightDecay: wd, Epsilon: kind == OptimizerKind.Adagrad ? 1e-10f : 1e-8f);
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 9);
        var reference = new InMemoryRatingTrainer(model, 30, 20, dim, opt, init);
        using var fast = new FastRatingTrainer(model, 30, 20, dim, opt, init);
        int[] order = [.. Enumerable.Range(0, data.Count)];
        new Random(5).Shuffle(order);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            double expected = reference.TrainEpoch(data, order);
            Assert.Equal(expected, fast.TrainEpoch(data, order), expected * 1e-4);
        }

        double rmse = reference.Rmse(data);
        Assert.Equal(rmse, fast.Rmse(data), rmse * 1e-4);

        var users = Field(reference, "_users");
        var items = Field(reference, "_items");
        var row = new float[dim];
        foreach (int id in new[] { 0, 1, 7, 30 })
        {
            fast.CopyUser(id, row);
            AssertClose(users.AsSpan(id * dim, dim), row, $"user {id}");
            fast.CopyItem(Math.Min(id, 20), row);
            AssertClose(items.AsSpan(Math.Min(id, 20) * dim, dim), row, $"item {id}");
            Assert.Equal(Field(reference, "_userBias")[id], fast.UserBias(id), 1e-4f);
            Assert.Equal(Field(reference, "_itemBias")[Math.Min(id, 20)], fast.ItemBias(Math.Min(id, 20)), 1e-4f);
        }
    }

    [Fact]
    public void HogwildOnTwoThreadsConvergesLikeOneThread()
    {
        var (train, valid) = SyntheticRatings.Generate(new SyntheticSettings(Users: 2000, Items: 1000, Count: 200_000, Seed: 11, Popularity: 1f)).Data.Split(0.05, 11);
        var (mean, min, max) = train.Summary();
        var model = new RatingModel(RatingModelKind.Mf, min, max, mean);
        var opt = new OptimizerSettings(OptimizerKind.Sgd, 0.01f);
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 11);
        int[] order = [.. Enumerable.Range(0, train.Count)];
        new Random(11).Shuffle(order);
        using var one = new FastRatingTrainer(model, 2000, 1000, 16, opt, init);
        using var two = new FastRatingTrainer(model, 2000, 1000, 16, opt, init);
        double start = two.Rmse(valid);
        double oneLoss = 0, twoLoss = 0;
        for (int epoch = 0; epoch < 2; epoch++)
        {
            oneLoss = one.TrainEpoch(train, order, 1);
            twoLoss = two.TrainEpoch(train, order, 2);
        }

        double oneRmse = one.Rmse(valid), twoRmse = two.Rmse(valid);
        Assert.True(twoRmse < start - 0.1, $"Hogwild did not learn: RMSE {start} -> {twoRmse}.");
        Assert.InRange(twoRmse, oneRmse - 0.01, oneRmse + 0.01);
        Assert.InRange(twoLoss, oneLoss * 0.95, oneLoss * 1.05);
    }

    [Fact]
    public void HogwildSlicesCoverTheOrderExactlyOnce()
    {
        // A learning rate so small that the rows barely move: the summed error then depends only on which samples ran.
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 50, Items: 40, Count: 1001, Seed: 2)).Data;
        var model = new RatingModel(RatingModelKind.Mf, 1f, 5f, 3f);
        var opt = new OptimizerSettings(OptimizerKind.Sgd, 1e-9f);
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 1);
        int[] order = [.. Enumerable.Range(0, data.Count)];
        using var single = new FastRatingTrainer(model, 50, 40, 8, opt, init);
        double one = single.TrainEpoch(data, order);
        foreach (int threads in new[] { 2, 3, 7 })
        {
            using var hogwild = new FastRatingTrainer(model, 50, 40, 8, opt, init);
            Assert.Equal(one, hogwild.TrainEpoch(data, order, threads), one * 1e-6);
        }
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, 6, 64)]
    [InlineData(OptimizerKind.Sgd, 64, 320)] // 64 values + bias
    [InlineData(OptimizerKind.Adagrad, 64, 576)] // + 64 accumulators + bias accumulator
    [InlineData(OptimizerKind.Adam, 64, 832)] // 2 × 64 moments, 2 bias moments, the step count
    public void RecordsAreWholeCacheLines(OptimizerKind kind, int dim, int bytes)
    {
        var model = new RatingModel(RatingModelKind.Mf, 1f, 5f, 3f);
        using var fast = new FastRatingTrainer(model, 3, 3, dim, new OptimizerSettings(kind, 0.1f), new RowInitializer(InitializerKind.Normal, 0.1f, 1));
        Assert.Equal(bytes, fast.RecordBytes);
    }

    [Fact]
    public void LargeTablesInHugePagesKeepTheirRows()
    {
        // Over 2 MiB: aligned to 2 MiB and advised into huge pages; rows must read back as the initializer wrote them.
        var model = new RatingModel(RatingModelKind.Mf, 1f, 5f, 3f);
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 4);
        using var fast = new FastRatingTrainer(model, 40_000, 10, 16, new OptimizerSettings(OptimizerKind.Adam, 0.1f), init);
        var expected = new float[16];
        var row = new float[16];
        foreach (int u in new[] { 0, 12_345, 40_000 })
        {
            init.Fill(u, expected);
            fast.CopyUser(u, row);
            Assert.Equal(expected, row);
            Assert.Equal(0f, fast.UserBias(u));
        }

        fast.Dispose();
        fast.Dispose();
        Assert.Throws<ObjectDisposedException>(() => fast.CopyUser(0, row));
    }

    [Fact]
    public void RefusesBadArgumentsAndIds()
    {
        var model = new RatingModel(RatingModelKind.Mf, 1f, 5f, 3f);
        var opt = new OptimizerSettings(OptimizerKind.Sgd, 0.1f);
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 1);
        Assert.ThrowsAny<ArgumentException>(() => new FastRatingTrainer(model, 3, 3, 0, opt, init));
        Assert.ThrowsAny<ArgumentException>(() => new FastRatingTrainer(model, 3, 3, -1, opt, init));
        Assert.ThrowsAny<ArgumentException>(() => new FastRatingTrainer(model, -1, 3, 4, opt, init));
        Assert.ThrowsAny<ArgumentException>(() => new FastRatingTrainer(model, 3, -1, 4, opt, init));
        Assert.ThrowsAny<ArgumentException>(() => new FastRatingTrainer(model, 3, 3, 4, opt with { LearningRate = 0 }, init));

        Assert.ThrowsAny<ArgumentException>(() => new FastRatingTrainer(model, 3, 3, FastRatingTrainer.MaxDim + 1, opt, init));

        using var fast = new FastRatingTrainer(model, 3, 3, 4, opt, init);
        var data = new Ratings([1, 2, 4], [1, 2, 3], [3f, 4f, 5f]);
        Assert.ThrowsAny<ArgumentException>(() => fast.TrainEpoch(data, [0, 1, 2], 0));
        Assert.ThrowsAny<ArgumentException>(() => fast.TrainEpoch(data, [0, 1, 2], -3));
        Assert.ThrowsAny<ArgumentException>(() => fast.TrainEpoch(data, [0, 1, 2]));
        Assert.ThrowsAny<ArgumentException>(() => fast.TrainEpoch(data, [0, 1, 3]));
        Assert.ThrowsAny<ArgumentException>(() => fast.TrainEpoch(data, [0, 1, 2], 2));
        Assert.ThrowsAny<ArgumentException>(() => fast.Rmse(data));
        Assert.ThrowsAny<ArgumentException>(() => fast.CopyUser(4, new float[4]));
    }

    private static float[] Field(InMemoryRatingTrainer reference, string name) =>
        // The reference exposes no rows; its arrays are read for this comparison only.
        (float[])(typeof(InMemoryRatingTrainer).GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(reference)
            ?? throw new InvalidOperationException($"InMemoryRatingTrainer has no field {name}."));

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        for (int j = 0; j < expected.Length; j++)
        {
            Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-4 + (1e-4 * Math.Abs(expected[j])), $"{what}[{j}]: expected {expected[j]}, got {actual[j]}.");
        }
    }
}
