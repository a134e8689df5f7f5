using ParameterServer.Core.Data;

namespace ParameterServer.Client.Training;

/// <summary>
/// The hot-row caches of a rating job (<see cref="TrainingOptions.CacheRows"/> most frequent users and items of the
/// training set, each bias table with its vector table's hot ids), shared by every worker loop; none when off.
/// </summary>
internal sealed record RatingCaches(HotRowCache? Users, HotRowCache? Items, HotRowCache? UserBias, HotRowCache? ItemBias)
{
    /// <summary>Every cache (empty when off).</summary>
    public IReadOnlyList<HotRowCache> All { get; } = [.. new[] { Users, Items, UserBias, ItemBias }.OfType<HotRowCache>()];

    /// <summary>The caches of <paramref name="o"/> for <paramref name="tables"/>, hot ids from <paramref name="train"/>.</summary>
    public static RatingCaches Create(RatingTables tables, Ratings train, TrainingOptions o)
    {
        if (o.CacheRows == 0)
        {
            return new RatingCaches(null, null, null, null);
        }

        long[] users = HotRowCache.MostFrequent(train.Users, o.CacheRows);
        long[] items = HotRowCache.MostFrequent(train.Items, o.CacheRows);
        HotRowCache? Cache(TableClient? t, long[] hot) => t is null ? null : new HotRowCache(t, hot, o.CacheStaleness);
        return new RatingCaches(Cache(tables.Users, users), Cache(tables.Items, items), Cache(tables.UserBias, users), Cache(tables.ItemBias, items));
    }

    /// <summary>Pulls through <paramref name="cache"/> when there is one, else straight from <paramref name="table"/>.</summary>
    public static Task PullAsync(TableClient table, HotRowCache? cache, ReadOnlyMemory<long> ids, Memory<float> values) =>
        cache is null ? table.PullAsync(ids, values) : cache.PullAsync(ids, values);

    /// <summary>Pushes through <paramref name="cache"/> when there is one, else straight to <paramref name="table"/>.</summary>
    public static Task PushAsync(TableClient table, HotRowCache? cache, ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients) =>
        cache is null ? table.PushAsync(ids, gradients) : cache.PushAsync(ids, gradients);
}
