using ParameterServer.Client.Training;

namespace ParameterServer.Client.Tests;

/// <summary>A batch's distinct rows (an open-addressing set cleared by stamp) against a dictionary, batch after batch.</summary>
public sealed class DistinctRowsTests
{
    [Fact]
    public void Positions_counts_and_ids_match_a_dictionary_over_many_batches()
    {
        var rng = new Random(5);
        var rows = new DistinctRows(256, 3);
        for (int batch = 0; batch < 200; batch++)
        {
            rows.Clear();
            var reference = new Dictionary<long, int>();
            var uses = new List<int>();
            // Few distinct ids in some batches (many repeats), up to the capacity in others; negative and huge ids too.
            int distinct = 1 + rng.Next(256);
            long[] pool = [.. Enumerable.Range(0, distinct).Select(_ => rng.NextInt64(long.MinValue, long.MaxValue) >> rng.Next(64))];
            pool = [.. pool.Distinct()];
            for (int k = 0; k < 256; k++)
            {
                long id = pool[rng.Next(pool.Length)];
                if (!reference.TryGetValue(id, out int at))
                {
                    at = reference[id] = reference.Count;
                    uses.Add(0);
                }

                uses[at]++;
                Assert.Equal(at, rows.Add(id));
            }

            Assert.Equal(reference.Count, rows.Count);
            foreach (var (id, at) in reference)
            {
                Assert.Equal(id, rows.Ids[at]);
                Assert.Equal(uses[at], rows.Counts[at]);
            }
        }
    }

    [Fact]
    public void More_distinct_rows_than_the_batch_holds_is_refused()
    {
        var rows = new DistinctRows(4, 1);
        for (long id = 0; id < 4; id++)
        {
            rows.Add(id);
        }

        Assert.Throws<InvalidOperationException>(() => rows.Add(99));
        Assert.Equal(0, rows.Add(0)); // a known row still answers its position
    }
}
