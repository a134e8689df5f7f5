using ParameterServer.Abstractions;
using ParameterServer.Client.Query;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Client.Tests;

[Collection(ClusterCollection.Name)]
public sealed class FoldInTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Validation_reads_rows_and_creates_none_for_users_and_items_seen_only_there()
    {
        var train = SyntheticRatings.Generate(new SyntheticSettings(Users: 30, Items: 40, Count: 1_000, LatentDim: 4, Noise: 0.3f, Clusters: 4, Seed: 9)).Data;
        var valid = new Ratings([1, 999, 998], [999, 1, 997], [4f, 3f, 2f]); // item 999, users 999 and 998, item 997: validation only
        string prefix = ClusterFixture.UniqueName("no-rows");
        var options = new TrainingOptions { Model = RatingModelKind.Mf, Dim = 4, Epochs = 2, BatchSize = 256, Workers = 1, Seed = 9, TablePrefix = prefix, Shards = 2, RecordHistory = false };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);
        Assert.True(double.IsFinite(report.ValidationRmse));
        Assert.Equal(train.Items.Distinct().Count(), (await fixture.Client.DescribeAsync($"{prefix}.items")).Rows);
        Assert.Equal(train.Users.Distinct().Count(), (await fixture.Client.DescribeAsync($"{prefix}.users")).Rows);
        Assert.Equal(train.Items.Distinct().Count(), (await fixture.Client.DescribeAsync($"{prefix}.item_bias")).Rows);
        await fixture.Client.DropPrefixAsync(prefix);
    }

    [Fact]
    public async Task Recommendations_leave_out_what_the_user_rated_in_training_or_was_folded_in_with()
    {
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 60, Items: 80, Count: 3_000, LatentDim: 4, Noise: 0.3f, Clusters: 4, Seed: 5)).Data;
        const long heldOut = 1, trained = 2;
        var rest = data.Select([.. Enumerable.Range(0, data.Count).Where(i => data.Users[i] != heldOut)]);
        string prefix = ClusterFixture.UniqueName("history");
        var options = new TrainingOptions { Model = RatingModelKind.Mf, Dim = 4, Epochs = 2, BatchSize = 256, Workers = 1, Seed = 5, TablePrefix = prefix, Shards = 2 };
        await new RatingTrainer(fixture.Client, options).TrainAsync(rest, data.Select([0]));

        // The silo remembers each user's training items; recommending every item leaves exactly those out.
        long[] rated = [.. Enumerable.Range(0, rest.Count).Where(i => rest.Users[i] == trained).Select(i => rest.Items[i]).Distinct().Order()];
        Assert.Equal(rated, await fixture.Client.HistoryAsync(prefix, trained));
        var recommended = await Recommender.RecommendAsync(fixture.Client, prefix, trained, 1000, []);
        Assert.Equal(rated.Length, recommended.Excluded);
        Assert.Empty(recommended.Hits.Select(h => h.Id).Intersect(rated));
        int itemRows = (int)(await fixture.Client.DescribeAsync($"{prefix}.items")).Rows;
        Assert.Equal(itemRows - rated.Length, recommended.Hits.Length);

        // Each item's training count went beside the item table, and recommendations can filter on it.
        var countTable = await fixture.Client.OpenTableAsync(TrainingCounts.TableOf($"{prefix}.items"));
        long[] items = [.. rest.Items.Distinct().Order()];
        float[] stored = new float[items.Length];
        await countTable.PeekAsync(items, stored);
        Assert.Equal(items.Select(i => (float)rest.Items.Count(x => x == i)), stored);
        var frequent = await Recommender.RecommendAsync(fixture.Client, prefix, trained, 1000, [], minCount: 40);
        Assert.All(frequent.Hits, h => Assert.True(rest.Items.Count(x => x == h.Id) >= 40, $"item {h.Id} has fewer than 40 ratings"));
        Assert.True(frequent.Hits.Length < recommended.Hits.Length);

        // A user folded in: the items given are theirs from then on, and are not recommended back.
        long[] given = [.. Enumerable.Range(0, data.Count).Where(i => data.Users[i] == heldOut).Select(i => data.Items[i]).Distinct().Take(5)];
        await UserFoldIn.FoldInAsync(fixture.Client, prefix, heldOut, given, [.. given.Select(_ => 5f)]);
        Assert.Equal(given.Order(), await fixture.Client.HistoryAsync(prefix, heldOut));
        var forHeldOut = await Recommender.RecommendAsync(fixture.Client, prefix, heldOut, 1000, []);
        Assert.Empty(forHeldOut.Hits.Select(h => h.Id).Intersect(given));
        var model = (await RatingTables.OpenAsync(fixture.Client, prefix)).Model;
        Assert.All(forHeldOut.Predicted.Zip(forHeldOut.Unclipped), p => Assert.Equal(Math.Clamp(p.Second, model.Min, model.Max), p.First, 5));

        // Dropping the job forgets its histories with its tables.
        await fixture.Client.DropPrefixAsync(prefix);
        Assert.Empty(await fixture.Client.HistoryAsync(prefix, trained));
    }

    [Fact]
    public async Task A_user_held_out_of_training_and_folded_in_predicts_their_other_ratings_better_than_the_mean()
    {
        // Planted data; user 1 (about 150 ratings) is left out of training entirely. Pairs are drawn at random, so an item
        // may come twice: the user keeps the first.
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 400, Items: 300, Count: 60_000, LatentDim: 8, Noise: 0.5f, Clusters: 8, Seed: 11)).Data;
        const long user = 1;
        int[] mine = [.. Enumerable.Range(0, data.Count).Where(i => data.Users[i] == user).DistinctBy(i => data.Items[i])];
        Assert.True(mine.Length >= 50, $"user {user} has {mine.Length} ratings");
        var rest = data.Select([.. Enumerable.Range(0, data.Count).Where(i => data.Users[i] != user)]);
        var (train, valid) = rest.Split(0.1, 11);
        const string prefix = "foldin-mf";
        var options = new TrainingOptions
        {
            Model = RatingModelKind.Mf,
            Dim = 8,
            Epochs = 12,
            BatchSize = 512,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.01f,
            WeightDecay = 0.05f,
            Workers = 2,
            Seed = 11,
            TablePrefix = prefix,
            Shards = 4,
        };
        await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);
        var tables = await RatingTables.OpenAsync(fixture.Client, prefix);
        var query = new QueryClient(fixture.Client);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => query.RowAsync(tables.Users.Spec.Name, user));

        // Fold in from the first 80 % of the user's ratings (already in random order).
        int cut = (int)(mine.Length * 0.8);
        long[] items = [.. mine[..cut].Select(i => data.Items[i])];
        float[] ratings = [.. mine[..cut].Select(i => data.Values[i])];
        var itemsBefore = await PeekAsync(tables.Items.Spec.Name, items);
        var result = await UserFoldIn.FoldInAsync(fixture.Client, prefix, user, items, ratings);
        Assert.False(result.Replaced);
        Assert.Equal(cut, result.Ratings);

        // The default L2 weight matches the weight decay: decay × the expected steps (of B an epoch) holding one of n ratings.
        long b = ((train.Count / 2) + 511) / 512 + ((train.Count - (train.Count / 2)) + 511) / 512;
        Assert.Equal(0.05 * b * (1 - Math.Pow(1 - (1.0 / b), cut)), result.Lambda, 1e-4);

        // Items are frozen: not a value changed.
        Assert.Equal(itemsBefore, await PeekAsync(tables.Items.Spec.Name, items));

        // The stored rows are the ridge solution of the normal equations, solved apart in double.
        var v = new float[items.Length * 8];
        var bi = new float[items.Length];
        await tables.Items.PullAsync(items, v);
        await tables.ItemBias!.PullAsync(items, bi);
        var rows = Enumerable.Range(0, items.Length).Select(k => v.Skip(k * 8).Take(8).Select(x => (double)x).Append(1.0).ToArray()).ToList();
        var y = Enumerable.Range(0, items.Length).Select(k => (double)ratings[k] - tables.Model.Mean - bi[k]).ToList();
        double[] w = DenseReference.Ridge(rows, y, result.Lambda);
        var (stored, _) = await query.RowAsync(tables.Users.Spec.Name, user);
        var (storedBias, _) = await query.RowAsync(tables.UserBias!.Spec.Name, user);
        for (int j = 0; j < 8; j++)
        {
            Assert.Equal(w[j], stored[j], 1e-5);
        }

        Assert.Equal(w[8], storedBias[0], 1e-5);

        // The test: on the other 20 %, the folded-in user beats the global mean by far, and nears the noise (0.5).
        var held = data.Select(mine[cut..]);
        double rmse = await RatingTrainer.EvaluateAsync(tables, held);
        double meanRmse = Math.Sqrt(held.Values.Average(r => (r - tables.Model.Mean) * (r - tables.Model.Mean)));
        Assert.True(rmse < 0.5 * meanRmse && rmse < 1.3 * 0.5, $"fold-in RMSE {rmse:F4}, global mean {meanRmse:F4}, noise 0.5");

        // Recommend answers for the new user, leaving out what they rated.
        var rec = await Recommender.RecommendAsync(fixture.Client, prefix, user, 10, items);
        Assert.Equal(10, rec.Hits.Length);
        Assert.DoesNotContain(rec.Hits, h => items.Contains(h.Id));

        await Refusals_change_no_row(prefix, tables, items, ratings);
    }

    private async Task Refusals_change_no_row(string prefix, RatingTables tables, long[] items, float[] ratings)
    {
        const long fresh = 100_000;
        async Task Refused<T>(long[] it, float[] r, string expected, FoldInOptions? o = null)
            where T : Exception
        {
            var e = await Assert.ThrowsAsync<T>(() => UserFoldIn.FoldInAsync(fixture.Client, prefix, fresh, it, r, o));
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            Assert.False((await PeekFoundAsync(tables.Users.Spec.Name, fresh)) || (await PeekFoundAsync(tables.UserBias!.Spec.Name, fresh)), $"a row of user {fresh} after: {e.Message}");
        }

        await Refused<KeyNotFoundException>([items[0], 999_999], [4f, 3f], $"movie 999999 is not in table {prefix}.items");
        await Refused<ArgumentException>([items[0], items[1]], [4f, tables.Model.Max + 1], "outside the model's range");
        await Refused<ArgumentException>([], [], "No ratings");
        await Refused<ArgumentException>([items[0], items[1], items[0]], [4f, 3f, 2f], $"Movie {items[0]} is rated twice (entries 1 and 3)");
        await Refused<ArgumentException>([items[0]], [4f], "--steps 0", new FoldInOptions { Steps = 0 });

        // A movie that has a row only because of its title (embed train --items) was never trained.
        await fixture.Client.SetLabelsAsync(tables.Items, new Dictionary<long, string> { [5_000] = "Never Rated (2001)" });
        await Refused<KeyNotFoundException>([items[0], 5_000], [4f, 3f], $"movie 5000 has a row in table {prefix}.items (a title) but no trained bias");
        var skipped = await UserFoldIn.FoldInAsync(fixture.Client, prefix, fresh + 1, [items[0], items[1], 5_000], [4f, 3f, 2f], new FoldInOptions { SkipUnknown = true });
        Assert.Equal([5_000L], skipped.Skipped);
        Assert.Equal(2, skipped.Ratings);

        // A trained user is refused without --overwrite, and the row stays as it was; with it, it is replaced.
        const long trained = 2;
        var before = await PeekAsync(tables.Users.Spec.Name, [trained]);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => UserFoldIn.FoldInAsync(fixture.Client, prefix, trained, items, ratings));
        Assert.Contains($"User {trained} already has a row in table {prefix}.users", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, await PeekAsync(tables.Users.Spec.Name, [trained]));
        var replaced = await UserFoldIn.FoldInAsync(fixture.Client, prefix, trained, items, ratings, new FoldInOptions { Overwrite = true });
        Assert.True(replaced.Replaced);
        Assert.Equal(replaced.Vector, await PeekAsync(tables.Users.Spec.Name, [trained]));
    }

    [Fact]
    public async Task Dot_bias_fold_in_recovers_a_planted_user_through_the_sigmoid()
    {
        // Tables of a dot-bias model with planted item rows (no training): ratings of a known user, without noise.
        const string prefix = "foldin-dotbias";
        const int dim = 4, n = 40;
        var model = new RatingModel(RatingModelKind.DotBias, 0.5f, 5f, 3.5f);
        var tables = await RatingTables.CreateAsync(fixture.Client, new TrainingOptions { Model = RatingModelKind.DotBias, Dim = dim, TablePrefix = prefix, Shards = 3, WeightDecay = 0.1f }, model);
        var rng = new Random(9);
        long[] items = [.. Enumerable.Range(0, n).Select(i => 10L + (7 * i))];
        float[] v = [.. Enumerable.Range(0, n * dim).Select(_ => (float)((rng.NextDouble() * 2) - 1))];
        float[] bi = [.. Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * 0.6))];
        await tables.Items.WriteAsync(items, v);
        await tables.ItemBias!.WriteAsync(items, bi);
        float[] u = [0.7f, -0.4f, 0.2f, 0.5f];
        const float bu = -0.3f;
        float[] ratings = [.. Enumerable.Range(0, n).Select(k => model.Predict(u, v.AsSpan(k * dim, dim), bu, bi[k]))];

        var result = await UserFoldIn.FoldInAsync(fixture.Client, prefix, 77, items, ratings, new FoldInOptions { L2 = 1e-9, Steps = 50 });

        var stored = await PeekAsync(tables.Users.Spec.Name, [77]);
        for (int j = 0; j < dim; j++)
        {
            Assert.Equal(u[j], stored[j], 1e-3);
        }

        Assert.Equal(bu, (await PeekAsync(tables.UserBias!.Spec.Name, [77]))[0], 1e-3);
        Assert.True(result.TrainRmse < 1e-3, $"train RMSE {result.TrainRmse}");
        Assert.InRange(result.Iterations, 2, 50);
    }

    private async Task<float[]> PeekAsync(string table, long[] ids) =>
        (await fixture.Grains.GetGrain<IQueryGrain>(0).Peek(table, ids)).Rows.Values.ToArray();

    private async Task<bool> PeekFoundAsync(string table, long id) =>
        (await fixture.Grains.GetGrain<IQueryGrain>(0).Peek(table, [id])).Found[0];
}
