using System.Runtime.CompilerServices;

namespace ParameterServer.Core.Hashing;

/// <summary>
/// The fixed 64-bit mixing function that routes row ids to shards (the SplitMix64 finalizer).
/// It never changes between releases, processes or machines: a row's shard depends on its id and
/// the shard count only. <c>GetHashCode</c> is never used for routing because it is randomized per process. The
/// same finalizer over a counter stepped by <see cref="Golden"/> is the SplitMix64 stream (<see cref="Next"/>) that
/// draws new rows and shuffles epochs.
/// </summary>
public static class Mix64
{
    /// <summary>Effectively computes the SplitMix64 finalizer of <paramref name="x"/>.</summary>
    /// <remarks>Inlined on purpose: every row lookup and shard routing hashes an id, and the JIT's size heuristics
    /// left this call in place (2 % of an embedded training step's CPU as a separate frame).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }

    /// <summary>The golden-ratio step of a SplitMix64 stream.</summary>
    public const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>The next value of the SplitMix64 stream at <paramref name="state"/>: effectively <c>mix64(state += golden)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Next(ref ulong state) => Mix(state += Golden);

    /// <summary>The shard that owns row <paramref name="id"/>: <c>mix64(id) % shardCount</c>.</summary>
    /// <remarks>
    /// A power-of-two count (the usual 1, 2, 4, 8, ...) takes the low bits instead of a 64-bit division, the same
    /// number: every pull and push routes each of its ids here, and the division was most of a step's routing.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ShardOf(long id, int shardCount)
    {
        if (shardCount <= 0)
        {
            ThrowBadCount(shardCount);
        }

        ulong mixed = Mix((ulong)id), count = (ulong)shardCount;
        return (int)((count & (count - 1)) == 0 ? mixed & (count - 1) : mixed % count);
    }

    private static void ThrowBadCount(int shardCount) =>
        throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "The shard count must be positive.");
}
