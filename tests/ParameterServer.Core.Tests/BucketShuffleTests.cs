using ParameterServer.Core.Sampling;

namespace ParameterServer.Core.Tests;

/// <summary>The bucketed shuffle: a permutation, reproducible from its seed, and uniform (every permutation of a
/// small array counted over many seeds, the bucketed path forced on it).</summary>
public sealed class BucketShuffleTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryPermutationOfFiveIsEquallyLikely(int bucketBits)
    {
        // 120 permutations, 240,000 shuffles: 2,000 expected each. Chi-square with 119 degrees of freedom has mean
        // 119 and standard deviation 15.4; 200 is more than 5 deviations out (a biased shuffle lands far beyond).
        const int shuffles = 240_000;
        var counts = new Dictionary<int, int>();
        Span<int> values = stackalloc int[5];
        for (int s = 0; s < shuffles; s++)
        {
            for (int i = 0; i < 5; i++)
            {
                values[i] = i;
            }

            BucketShuffle.Shuffle(values, (ulong)s * 7919, bucketBits);
            int key = 0;
            foreach (int v in values)
            {
                key = (key * 5) + v;
            }

            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(120, counts.Count);
        double expected = shuffles / 120.0;
        double chi2 = counts.Values.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 200, $"chi-square {chi2:F1} over 119 degrees of freedom");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1_000)]
    [InlineData(BucketShuffle.DirectLimit + 1)]
    [InlineData(1_000_003)]
    public void ItIsAPermutationAndTheSeedFixesIt(int n)
    {
        int[] a = [.. Enumerable.Range(0, n)], b = [.. a], c = [.. a];
        BucketShuffle.Shuffle(a, 42);
        BucketShuffle.Shuffle(b, 42);
        BucketShuffle.Shuffle(c, 43);
        Assert.Equal(a, b);
        Assert.Equal(Enumerable.Range(0, n), a.Order());
        if (n > 100)
        {
            Assert.NotEqual(a, c);
            // Elements leave their neighbourhood: by chance about 201 of them (201 of n places for each) end within
            // 100 places of where they started, whatever n; a shuffle that only mixes locally keeps far more.
            int near = a.Select((v, i) => Math.Abs(v - i) <= 100 ? 1 : 0).Sum();
            Assert.True(near < 450, $"{near} of {n} elements moved at most 100 places");
        }
    }

    [Fact]
    public void AFirstElementLandsEverywhereAlikeOnTheBucketedPath()
    {
        // Where element 0 lands over many seeds, on an array large enough for 16 buckets: uniform over 64 slots of
        // 1/64 of the array each (expected 500 per slot of 32,000 shuffles; chi-square, 63 degrees of freedom).
        const int n = 1 << 12, shuffles = 32_000;
        var slots = new int[64];
        var values = new int[n];
        for (int s = 0; s < shuffles; s++)
        {
            for (int i = 0; i < n; i++)
            {
                values[i] = i;
            }

            BucketShuffle.Shuffle(values, (ulong)s, bucketBits: 4);
            slots[Array.IndexOf(values, 0) * 64 / n]++;
        }

        double expected = shuffles / 64.0;
        double chi2 = slots.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 120, $"chi-square {chi2:F1} over 63 degrees of freedom");
    }
}
