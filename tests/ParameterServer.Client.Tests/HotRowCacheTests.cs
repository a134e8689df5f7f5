using ParameterServer.Abstractions;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Client.Tests;

[Collection(ClusterCollection.Name)]
public sealed class HotRowCacheTests(ClusterFixture fixture)
{
    /// <summary>An SGD table with lr 1, zero rows and no decay: a row's value is minus the sum of every gradient the server applied to it.</summary>
    private Task<TableClient> SumTableAsync(string name, int dim) => fixture.Client.CreateTableAsync(new TableSpec
    {
        Name = ClusterFixture.UniqueName(name),
        Dim = dim,
        Shards = 3,
        Initializer = InitializerKind.Zeros,
        InitScale = 0,
        Optimizer = OptimizerKind.Sgd,
        LearningRate = 1f,
        WeightDecay = 0,
    });

    [Fact]
    public async Task Every_gradient_pushed_through_the_cache_reaches_the_server_exactly_once()
    {
        const int dim = 3, steps = 40;
        var table = await SumTableAsync("cache-sum", dim);
        var cache = new HotRowCache(table, [1, 2, 3, 4, 5], staleness: 4);
        var expected = new double[20 * dim];
        var gate = new object();

        // Two loops share the cache, as the worker loops of a process do; each step pulls, then pushes gradients of distinct ids.
        async Task Loop(int seed)
        {
            var random = new Random(seed);
            for (int s = 0; s < steps; s++)
            {
                long[] ids = [.. Enumerable.Range(1, 19).OrderBy(_ => random.Next()).Take(8).Select(i => (long)i)];
                await cache.PullAsync(ids, new float[ids.Length * dim]);
                float[] grads = [.. Enumerable.Range(0, ids.Length * dim).Select(_ => (float)Math.Round(random.NextDouble() - 0.5, 3))];
                lock (gate)
                {
                    for (int k = 0; k < ids.Length; k++)
                    {
                        for (int d = 0; d < dim; d++)
                        {
                            expected[(ids[k] * dim) + d] -= grads[(k * dim) + d];
                        }
                    }
                }

                await cache.PushAsync(ids, grads);
            }
        }

        await Task.WhenAll(Task.Run(() => Loop(1)), Task.Run(() => Loop(2)));
        await cache.FlushAsync();
        await cache.FlushAsync(); // nothing left: a second flush pushes nothing more

        long[] all = [.. Enumerable.Range(1, 19).Select(i => (long)i)];
        var values = new float[all.Length * dim];
        await table.PullAsync(all, values);
        for (int k = 0; k < all.Length; k++)
        {
            for (int d = 0; d < dim; d++)
            {
                Assert.Equal(expected[(all[k] * dim) + d], values[(k * dim) + d], 1e-3);
            }
        }

        Assert.True(cache.Hits > 0, "some hot rows were served from the cache");
        Assert.True(cache.Absorbed >= cache.WrittenBack && cache.WrittenBack > 0);
    }

    [Fact]
    public async Task A_hot_row_is_never_served_more_than_the_staleness_bound_steps_old()
    {
        // Every step pushes gradient −1 to a hot and a cold row (each push awaited): after t steps the true value is t.
        const int staleness = 5;
        var table = await SumTableAsync("cache-stale", 1);
        var cache = new HotRowCache(table, [7], staleness);
        long[] ids = [7, 8];
        var served = new float[2];
        int fromCache = 0;
        for (int t = 0; t < 60; t++)
        {
            long before = cache.Hits;
            await cache.PullAsync(ids, served);
            fromCache += (int)(cache.Hits - before);
            Assert.Equal(t, served[1]); // the cold row is always current
            Assert.InRange(served[0], t - staleness, t); // the hot row lags by at most S steps, never ahead
            await cache.PushAsync(ids, new float[] { -1, -1 });
        }

        await cache.FlushAsync();
        await table.PullAsync(ids, served);
        Assert.Equal([60f, 60f], served);
        // Served from the cache for all but the refreshing step of each write-back period.
        Assert.InRange(fromCache, 60 - (60 / staleness) - 2, 60 - (60 / staleness));
    }

    [Fact]
    public async Task A_cache_refreshed_every_step_trains_exactly_as_no_cache()
    {
        // One synchronous loop is deterministic; staleness 1 writes back every step and serves nothing from the cache,
        // so the server sees the same gradients in the same steps as without a cache.
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 120, Items: 80, Count: 6_000, LatentDim: 4, Noise: 0.3f, Clusters: 4, Seed: 5)).Data;
        var (train, valid) = data.Split(0.2, 5);
        TrainingOptions Options(int cacheRows) => new()
        {
            Model = RatingModelKind.Mf,
            Dim = 4,
            Epochs = 3,
            BatchSize = 256,
            Optimizer = OptimizerKind.Adam,
            LearningRate = 0.01f,
            WeightDecay = 0.05f,
            Workers = 1,
            Staleness = 0,
            Seed = 5,
            Shards = 3,
            TablePrefix = ClusterFixture.UniqueName("cache-off"),
            CacheRows = cacheRows,
            CacheStaleness = 1,
        };

        var off = await new RatingTrainer(fixture.Client, Options(0)).TrainAsync(train, valid);
        var on = await new RatingTrainer(fixture.Client, Options(40)).TrainAsync(train, valid);
        Assert.Null(off.CacheHitRate);
        Assert.Equal(0, off.CacheRows);
        Assert.Equal(0, on.CacheHitRate);
        Assert.Equal(off.Epochs.Select(e => (e.TrainLoss, e.ValidationRmse)), on.Epochs.Select(e => (e.TrainLoss, e.ValidationRmse)));
        Assert.Equal(off.RowsPulled, on.RowsPulled);
        Assert.Equal(off.RowsPushed, on.RowsPushed);
    }

    [Fact]
    public void The_hot_rows_are_the_most_frequent_ids_ties_by_smaller_id() =>
        Assert.Equal([3L, 1L, 2L], HotRowCache.MostFrequent([5, 3, 1, 3, 2, 1, 3, 2, 9], 3));
}
