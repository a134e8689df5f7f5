using ParameterServer.Core.Hashing;

namespace ParameterServer.Abstractions;

/// <summary>
/// The items each user of a job has interacted with (rated in training, or folded in), kept by the silos so that a
/// recommendation leaves them out without the caller re-reading the ratings. A job's users are spread over
/// <see cref="UserHistory.Buckets"/> grains keyed <c>{prefix}/{bucket}</c>; their state lives in the metadata store, like the
/// table catalog.
/// </summary>
[Alias("ps.IUserHistoryGrain")]
public interface IUserHistoryGrain : IGrainWithStringKey
{
    /// <summary>Adds <paramref name="items"/> (row-aligned with <paramref name="users"/>) to those users' items.</summary>
    [Alias("Add")]
    Task Add(long[] users, long[] items);

    /// <summary>The items of <paramref name="user"/>, ascending; empty when it has none.</summary>
    [Alias("Items")]
    Task<long[]> Items(long user);

    /// <summary>Users held, and items over all of them.</summary>
    [Alias("Count")]
    Task<(int Users, long Items)> Count();

    /// <summary>Forgets every user of this bucket.</summary>
    [Alias("Clear")]
    Task Clear();
}

/// <summary>Where a job's user histories live.</summary>
public static class UserHistory
{
    /// <summary>Grains per job: enough to spread a few million users, few enough to clear them all in one go.</summary>
    public const int Buckets = 64;

    /// <summary>Most items one call adds (a request is bounded in size).</summary>
    public const int MaxItemsPerCall = 1 << 20;

    /// <summary>The bucket of <paramref name="user"/>.</summary>
    public static int BucketOf(long user) => Mix64.ShardOf(user, Buckets);

    /// <summary>The grain key of bucket <paramref name="bucket"/> of the job <paramref name="prefix"/>.</summary>
    public static string Key(string prefix, int bucket) => $"{prefix}/{bucket}";
}
