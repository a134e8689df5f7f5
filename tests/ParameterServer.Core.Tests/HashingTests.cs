using ParameterServer.Core.Hashing;
using ParameterServer.Core.Metrics;

namespace ParameterServer.Core.Tests;

public class HashingTests
{
    private const int Ids = 200_000;

    private static double ChiSquare(int shards, Func<int, long> id)
    {
        var counts = new long[shards];
        for (int n = 0; n < Ids; n++)
        {
            int s = Mix64.ShardOf(id(n), shards);
            Assert.InRange(s, 0, shards - 1);
            counts[s]++;
        }

        double expected = (double)Ids / shards;
        return counts.Sum(c => (c - expected) * (c - expected) / expected);
    }

    private static double Bound(int shards) => (shards - 1) + (6 * Math.Sqrt(2.0 * Math.Max(1, shards - 1)));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(64)]
    public void SequentialIdsSpreadEvenly(int shards) => Assert.InRange(ChiSquare(shards, n => n), 0, Bound(shards));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(64)]
    public void MultiplesOf1024SpreadEvenly(int shards) => Assert.InRange(ChiSquare(shards, n => n * 1024L), 0, Bound(shards));

    [Theory]
    [InlineData(3)]
    [InlineData(16)]
    public void NegativeAndHighBitIdsSpreadEvenly(int shards) => Assert.InRange(ChiSquare(shards, n => long.MinValue + (n * 4096L)), 0, Bound(shards));

    [Fact]
    public void ShardOfIsDeterministicAndInRange()
    {
        long[] ids = [0, 1, -1, 42, long.MinValue, long.MaxValue, 1L << 40, -123456789];
        foreach (int shards in new[] { 1, 2, 4, 5, 8, 64, 1000, 1 << 30, int.MaxValue })
        {
            foreach (long id in ids)
            {
                int s = Mix64.ShardOf(id, shards);
                Assert.InRange(s, 0, shards - 1);
                Assert.Equal(s, Mix64.ShardOf(id, shards));
                Assert.Equal((int)(Mix64.Mix((ulong)id) % (ulong)shards), s);
            }
        }
    }

    [Fact]
    public void MixMatchesSplitMix64Finalizer()
    {
        // Known SplitMix64 output: the first value of a generator seeded with 0 is mix(0x9E3779B97F4A7C15).
        Assert.Equal(0xE220A8397B1DCDAFUL, Mix64.Mix(0x9E3779B97F4A7C15UL));
        Assert.Equal(0UL, Mix64.Mix(0));

        // The stream step: a generator seeded with 0 gives that value first and has stepped by the golden ratio.
        ulong state = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, Mix64.Next(ref state));
        Assert.Equal(Mix64.Golden, state);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void NonPositiveShardCountThrows(int shards) => Assert.Throws<ArgumentOutOfRangeException>(() => Mix64.ShardOf(7, shards));

    [Fact]
    public void StableHashIsDeterministicAndDistinguishesStrings()
    {
        string[] words = ["", "a", "b", "ab", "ba", "Toy Story (1995)", "toy story (1995)", "héllo", "日本語", new string('x', 300), new string('x', 301)];
        var seen = new HashSet<long>();
        foreach (string w in words)
        {
            long h = StableHash.Of(w);
            Assert.Equal(h, StableHash.Of(new string(w.AsSpan())));
            Assert.True(seen.Add(h), $"collision for '{w}'");
        }

        for (int i = 0; i < 20_000; i++)
        {
            Assert.True(seen.Add(StableHash.Of("word" + i)), $"collision for word{i}");
        }

        Assert.Throws<ArgumentNullException>(() => StableHash.Of(null!));
    }

    [Fact]
    public void StableHashMatchesFnv1aThenMix()
    {
        // Independent FNV-1a over UTF-8, then the SplitMix64 finalizer.
        foreach (string s in new[] { "", "movie", "Amélie (2001)", new string('z', 1000) })
        {
            ulong h = 0xCBF29CE484222325UL;
            foreach (byte b in System.Text.Encoding.UTF8.GetBytes(s))
            {
                h = (h ^ b) * 0x100000001B3UL;
            }

            Assert.Equal((long)Mix64.Mix(h), StableHash.Of(s));
        }
    }

    [Fact]
    public void RmseAccumulatorComputesAndMerges()
    {
        var empty = default(RmseAccumulator);
        Assert.Equal(0, empty.Count);
        Assert.True(double.IsNaN(empty.Mse));
        Assert.True(double.IsNaN(empty.Rmse));

        var a = default(RmseAccumulator);
        a.Add(1.0);
        a.Add(4.0);
        var b = default(RmseAccumulator);
        b.Add(9.0);
        b.Add(2.0);
        Assert.Equal(2, a.Count);
        Assert.Equal(2.5, a.Mse, 12);
        Assert.Equal(Math.Sqrt(2.5), a.Rmse, 12);
        a.Add(b);
        Assert.Equal(4, a.Count);
        Assert.Equal(4.0, a.Mse, 12);
        Assert.Equal(2.0, a.Rmse, 12);
        Assert.Equal(2, b.Count);
    }
}

public class RepeatFinderTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(17)]
    [InlineData(5000)]
    public void FindsTheFirstRepeatLikeAHashSet(int n)
    {
        var rng = new Random(n);
        for (int trial = 0; trial < 20; trial++)
        {
            long[] ids = [.. Enumerable.Range(0, n).Select(_ => trial % 2 == 0 ? rng.NextInt64() : rng.NextInt64(0, Math.Max(1, n * 3)))];
            var seen = new HashSet<long>();
            int expected = -1;
            for (int i = 0; i < ids.Length && expected < 0; i++)
            {
                if (!seen.Add(ids[i]))
                {
                    expected = i;
                }
            }

            Assert.Equal(expected, ParameterServer.Core.Hashing.RepeatFinder.FirstRepeat(ids));
        }
    }

    [Fact]
    public void ExtremeIdsAndZeroAreOrdinaryIds()
    {
        Assert.Equal(-1, ParameterServer.Core.Hashing.RepeatFinder.FirstRepeat([0, long.MinValue, long.MaxValue, -1]));
        Assert.Equal(3, ParameterServer.Core.Hashing.RepeatFinder.FirstRepeat([0, long.MinValue, long.MaxValue, 0]));
        Assert.Equal(2, ParameterServer.Core.Hashing.RepeatFinder.FirstRepeat([long.MinValue, 5, long.MinValue]));
    }
}
