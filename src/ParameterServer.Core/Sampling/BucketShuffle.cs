using System.Buffers;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Sampling;

/// <summary>
/// A uniformly random permutation of a large array, reproducible from a 64-bit seed, in cache-friendly passes
/// (the Rao–Sandelius method): every element is sent to one of B buckets drawn at random (a sequential scatter into
/// B streams), then each bucket, small enough to stay in cache, is shuffled by Fisher–Yates. Uniform like one
/// Fisher–Yates pass over the whole array, whose swaps each touch a random place of it: over tens of millions of
/// samples that is a cache miss per element (seconds per epoch), where this pays a few sequential passes.
/// Random numbers come from a SplitMix64 stream (<see cref="Mix64.Mix"/> of a counter), bounded without bias
/// (Lemire's multiply-and-reject).
/// </summary>
public static class BucketShuffle
{
    /// <summary>Arrays up to this long are shuffled by Fisher–Yates directly (they fit in cache already).</summary>
    public const int DirectLimit = 1 << 16;

    /// <summary>Elements per bucket aimed at: 16,384 ints are 64 KiB, which stay in L2 while they are shuffled.</summary>
    private const int BucketTarget = 1 << 14;

    /// <summary>Permutes <paramref name="values"/> uniformly at random; the same seed gives the same permutation.</summary>
    public static void Shuffle(Span<int> values, ulong seed)
    {
        int bits = 0;
        while (bits < 12 && ((long)values.Length >> bits) > BucketTarget)
        {
            bits++;
        }

        Shuffle(values, seed, values.Length <= DirectLimit ? 0 : bits);
    }

    /// <summary>
    /// <see cref="Shuffle(Span{int}, ulong)"/> with 2^<paramref name="bucketBits"/> buckets (0: one Fisher–Yates pass);
    /// for tests, which check the bucketed path on arrays small enough to count every permutation.
    /// </summary>
    internal static void Shuffle(Span<int> values, ulong seed, int bucketBits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucketBits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bucketBits, 16);
        var random = new Stream(seed);
        int n = values.Length;
        if (bucketBits == 0 || n < 2)
        {
            FisherYates(values, ref random);
            return;
        }

        int buckets = 1 << bucketBits;
        ushort[] bucketOf = ArrayPool<ushort>.Shared.Rent(n);
        int[] scattered = ArrayPool<int>.Shared.Rent(n);
        var starts = new int[buckets + 1];
        try
        {
            for (int i = 0; i < n; i++)
            {
                int b = (int)(random.Next() >> (64 - bucketBits));
                bucketOf[i] = (ushort)b;
                starts[b + 1]++;
            }

            for (int b = 0; b < buckets; b++)
            {
                starts[b + 1] += starts[b];
            }

            var next = starts.AsSpan(0, buckets).ToArray();
            for (int i = 0; i < n; i++)
            {
                scattered[next[bucketOf[i]]++] = values[i];
            }

            for (int b = 0; b < buckets; b++)
            {
                FisherYates(scattered.AsSpan(starts[b], starts[b + 1] - starts[b]), ref random);
            }

            scattered.AsSpan(0, n).CopyTo(values);
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(bucketOf);
            ArrayPool<int>.Shared.Return(scattered);
        }
    }

    private static void FisherYates(Span<int> values, ref Stream random)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = random.Below(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>SplitMix64: the finalizer of a counter stepped by the golden ratio.</summary>
    private struct Stream(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next() => Mix64.Next(ref _state);

        /// <summary>Uniform in [0, <paramref name="bound"/>): the high half of a 64×64-bit product, rejecting the few low halves that would bias it.</summary>
        public int Below(int bound)
        {
            ulong high = Math.BigMul(Next(), (ulong)bound, out ulong low);
            if (low < (ulong)bound)
            {
                ulong threshold = (0UL - (ulong)bound) % (ulong)bound;
                while (low < threshold)
                {
                    high = Math.BigMul(Next(), (ulong)bound, out low);
                }
            }

            return (int)high;
        }
    }
}
