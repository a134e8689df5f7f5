using ParameterServer.Core.Baseline;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Tests;

/// <summary>The in-memory baseline of <c>embed bench train</c> and the power-law synthetic data it runs on.</summary>
public class BenchReferenceTests
{
    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adagrad)]
    [InlineData(OptimizerKind.Adam)]
    public void ReferenceEqualsShardStorePushesOfOneSampleAtATime(OptimizerKind kind)
    {
        // The baseline must be the same algorithm as the parameter server at batch size 1: the same model gradients
        // applied by the same optimizer, row by row.
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 30, Items: 20, Count: 400, Seed: 3)).Data;
        var model = new RatingModel(RatingModelKind.Mf, 0.5f, 5f, 3.5f);
        var opt = new OptimizerSettings(kind, 0.02f);
        const int dim = 6;
        var init = new RowInitializer(InitializerKind.Normal, 0.1f, 9);
        var reference = new InMemoryRatingTrainer(model, 30, 20, dim, opt, init);
        int[] order = [.. Enumerable.Range(0, data.Count)];
        reference.TrainEpoch(data, order);

        var users = new ShardStore(dim, init, opt);
        var items = new ShardStore(dim, init with { Seed = 10 }, opt);
        var userBias = new ShardStore(1, new RowInitializer(InitializerKind.Zeros, 0, 0), opt);
        var itemBias = new ShardStore(1, new RowInitializer(InitializerKind.Zeros, 0, 0), opt);
        var u = new float[dim];
        var v = new float[dim];
        var b = new float[2];
        for (int s = 0; s < data.Count; s++)
        {
            long[] uid = [data.Users[s]], iid = [data.Items[s]];
            users.Pull(uid, u);
            items.Pull(iid, v);
            userBias.Pull(uid, b.AsSpan(0, 1));
            itemBias.Pull(iid, b.AsSpan(1, 1));
            var gu = new float[dim];
            var gv = new float[dim];
            float gbu = 0, gbi = 0;
            model.Backward(u, v, b[0], b[1], data.Values[s], 0.5f, gu, gv, ref gbu, ref gbi);
            users.Push(uid, gu);
            items.Push(iid, gv);
            userBias.Push(uid, [gbu]);
            itemBias.Push(iid, [gbi]);
        }

        double rmse = 0;
        for (int s = 0; s < data.Count; s++)
        {
            users.Pull([data.Users[s]], u);
            items.Pull([data.Items[s]], v);
            userBias.Pull([data.Users[s]], b.AsSpan(0, 1));
            itemBias.Pull([data.Items[s]], b.AsSpan(1, 1));
            float p = Math.Clamp(model.Predict(u, v, b[0], b[1]), model.Min, model.Max);
            rmse += (p - data.Values[s]) * (double)(p - data.Values[s]);
        }

        Assert.Equal(Math.Sqrt(rmse / data.Count), reference.Rmse(data), 5);
    }

    [Fact]
    public void PowerLawPopularityFollowsTheZipfShareAndUniformStaysUniform()
    {
        var zipf = SyntheticRatings.Generate(new SyntheticSettings(Users: 100, Items: 1000, Count: 200_000, Seed: 4, Popularity: 1f)).Data;
        var counts = zipf.Items.GroupBy(i => i).Select(g => g.Count()).OrderDescending().ToArray();
        double harmonic = Enumerable.Range(1, 1000).Sum(r => 1.0 / r);
        // The most popular item's share is 1/H(1000) ≈ 13.4 %; the 10th's a tenth of that.
        Assert.InRange(counts[0] / 200_000.0, 0.95 / harmonic, 1.05 / harmonic);
        Assert.InRange(counts[9] / 200_000.0, 0.085 / harmonic, 0.115 / harmonic);
        Assert.Equal(zipf.Items, SyntheticRatings.Generate(new SyntheticSettings(Users: 100, Items: 1000, Count: 200_000, Seed: 4, Popularity: 1f)).Data.Items);

        var uniform = SyntheticRatings.Generate(new SyntheticSettings(Users: 100, Items: 1000, Count: 200_000, Seed: 4)).Data;
        var top = uniform.Items.GroupBy(i => i).Max(g => g.Count());
        Assert.InRange(top, 200, 300);
    }
}
