using ParameterServer.Core.Data;

namespace ParameterServer.Client.Training;

/// <summary>
/// The rows a rating job reads and updates, one <see cref="IRowClient"/> per table: the hot-row cache of that table
/// when caching is on (<see cref="TrainingOptions.CacheRows"/> most frequent users and items of the training set, each
/// bias table with its vector table's hot ids), else the table itself. Shared by every worker loop.
/// </summary>
internal sealed class RatingRows
{
    private RatingRows(IRowClient users, IRowClient items, IRowClient? userBias, IRowClient? itemBias)
    {
        Users = users;
        Items = items;
        UserBias = userBias;
        ItemBias = itemBias;
        Caches = [.. new[] { users, items, userBias, itemBias }.OfType<HotRowCache>()];
    }

    /// <summary>User vectors.</summary>
    public IRowClient Users { get; }

    /// <summary>Item vectors.</summary>
    public IRowClient Items { get; }

    /// <summary>User biases (models with biases).</summary>
    public IRowClient? UserBias { get; }

    /// <summary>Item biases (models with biases).</summary>
    public IRowClient? ItemBias { get; }

    /// <summary>Every cache in front of a table (empty when caching is off).</summary>
    public IReadOnlyList<HotRowCache> Caches { get; }

    /// <summary>The tables themselves, no cache.</summary>
    public static RatingRows Direct(RatingTables tables) => new(tables.Users, tables.Items, tables.UserBias, tables.ItemBias);

    /// <summary>The rows of <paramref name="tables"/> for the job <paramref name="o"/>, hot ids from <paramref name="train"/>.</summary>
    public static RatingRows Create(RatingTables tables, Ratings train, TrainingOptions o)
    {
        if (o.CacheRows == 0)
        {
            return Direct(tables);
        }

        long[] users = HotRowCache.MostFrequent(train.Users, o.CacheRows);
        long[] items = HotRowCache.MostFrequent(train.Items, o.CacheRows);
        IRowClient? Cached(TableClient? t, long[] hot) => t is null ? null : new HotRowCache(t, hot, o.CacheStaleness);
        return new RatingRows(Cached(tables.Users, users)!, Cached(tables.Items, items)!, Cached(tables.UserBias, users), Cached(tables.ItemBias, items));
    }
}
