using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Tests;

public class ShardStoreTests
{
    private static readonly RowInitializer Normal = new(InitializerKind.Normal, 0.1f, 42);

    private static float[] PullAll(ShardStore store, long[] ids)
    {
        var dst = new float[ids.Length * store.Dim];
        store.Pull(ids, dst);
        return dst;
    }

    private static float[] Gradients(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();

    public static TheoryData<OptimizerKind> Kinds => new(OptimizerKind.Sgd, OptimizerKind.Adagrad, OptimizerKind.Adam);

    // Rows of one value (biases) take the store's one-value loops for pulls and for SGD and Adagrad pushes.
    public static TheoryData<OptimizerKind, int> KindsAndDims
    {
        get
        {
            var data = new TheoryData<OptimizerKind, int>();
            foreach (var kind in Enum.GetValues<OptimizerKind>())
            {
                data.Add(kind, 1);
                data.Add(kind, 5);
            }

            return data;
        }
    }

    private static OptimizerSettings Settings(OptimizerKind kind) =>
        new(kind, LearningRate: 0.05f, WeightDecay: 0.01f, Epsilon: kind == OptimizerKind.Adagrad ? 1e-10f : 1e-8f);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SlotHintsFromAPullSkipLookupsAndWrongOrStaleHintsStillUpdateTheRightRows(OptimizerKind kind)
    {
        var rng = new Random(3);
        long[] ids = [.. Enumerable.Range(0, 300).Select(i => (long)(i * 7919) - 1000)];
        var plain = new ShardStore(4, Normal, Settings(kind));
        var hinted = new ShardStore(4, Normal, Settings(kind));
        var slots = new int[ids.Length];
        PullAll(plain, ids);
        hinted.Pull(ids, new float[ids.Length * 4], slots);
        for (int round = 0; round < 4; round++)
        {
            var g = Gradients(rng, ids.Length * 4);
            int[] hints = round switch
            {
                0 => slots,                                                        // the pull's own slots
                1 => [.. slots.Select(s => (s * 31) % ids.Length)],                // wrong rows
                2 => [.. slots.Select((s, i) => i % 2 == 0 ? -5 : int.MaxValue)], // out of range
                _ => slots,
            };
            int generation = round == 3 ? hinted.Generation + 1 : hinted.Generation; // 3: a stale generation
            plain.Push(ids, g);
            hinted.Push(ids, g, hints, generation);
        }

        Assert.Equal(PullAll(plain, ids), PullAll(hinted, ids));
        Assert.Equal(plain.TotalSteps, hinted.TotalSteps);
        Assert.Throws<ArgumentException>(() => hinted.Push([ids[0], ids[0]], new float[8], [slots[0], slots[0]], hinted.Generation));
    }

    [Theory]
    [MemberData(nameof(KindsAndDims))]
    public void PositionedPullAndPushReadAndWriteTheRowsAtTheirPositionsAsThePlainOnesDo(OptimizerKind kind, int dim)
    {
        // A worker's batch interleaves the rows of every shard: this shard's rows sit at scattered positions of a
        // larger buffer, some positions belong to other shards (filled with NaN here: never read).
        var rng = new Random(8);
        long[] ids = [.. Enumerable.Range(0, 200).Select(i => (long)(i * 104729) - 77)];
        int[] positions = [.. Enumerable.Range(0, 500).OrderBy(_ => rng.Next()).Take(ids.Length)];
        var plain = new ShardStore(dim, Normal, Settings(kind));
        var positioned = new ShardStore(dim, Normal, Settings(kind));
        var slots = new int[ids.Length];
        for (int round = 0; round < 3; round++)
        {
            var buffer = new float[500 * dim];
            Array.Fill(buffer, float.NaN);
            positioned.Pull(ids, positions, buffer, slots);
            float[] expected = PullAll(plain, ids);
            for (int i = 0; i < ids.Length; i++)
            {
                Assert.Equal(expected.AsSpan(i * dim, dim).ToArray(), buffer.AsSpan(positions[i] * dim, dim).ToArray());
            }

            float[] g = Gradients(rng, ids.Length * dim);
            for (int i = 0; i < ids.Length; i++)
            {
                g.AsSpan(i * dim, dim).CopyTo(buffer.AsSpan(positions[i] * dim, dim));
            }

            plain.Push(ids, g);
            positioned.Push(ids, positions, buffer, round == 1 ? [] : slots, positioned.Generation); // round 1: no hints
        }

        Assert.Equal(PullAll(plain, ids), PullAll(positioned, ids));
        Assert.Equal(plain.TotalSteps, positioned.TotalSteps);
    }

    [Fact]
    public void PositionedPushWithABadPositionOrANonFiniteRowIsRefusedWholeAndNoRowChanges()
    {
        var store = new ShardStore(3, Normal, Settings(OptimizerKind.Adagrad));
        long[] ids = [5, 6, 7];
        int[] positions = [4, 0, 2];
        var slots = new int[3];
        store.Pull(ids, positions, new float[5 * 3], slots);
        float[] before = PullAll(store, ids);
        var gradients = new float[5 * 3];
        Array.Fill(gradients, 0.25f);

        var e = Assert.Throws<ArgumentException>(() => store.Push(ids, [4, 0, 5], gradients, slots, store.Generation, "shard 2"));
        Assert.Contains("row id 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("shard 2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => store.Push(ids, [4, 0], gradients, slots, store.Generation));

        gradients[(2 * 3) + 1] = float.PositiveInfinity; // row id 7's gradient (position 2), component 1
        e = Assert.Throws<ArgumentException>(() => store.Push(ids, positions, gradients, slots, store.Generation, "shard 2"));
        Assert.Contains("row id 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("Infinity", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, PullAll(store, ids));
        Assert.Equal(0, store.TotalSteps);

        // A non-finite value at a position no id reads is none of this shard's business.
        gradients[(2 * 3) + 1] = 0.25f;
        gradients[(3 * 3) + 2] = float.NaN;
        store.Push(ids, positions, gradients, slots, store.Generation);
        Assert.Equal(3, store.TotalSteps);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Pull(ids, [0, 1, 9], new float[5 * 3], slots));
    }

    [Fact]
    public void RestoreAndClearChangeTheGenerationOfSlots()
    {
        var store = new ShardStore(2, Normal, Settings(OptimizerKind.Sgd));
        PullAll(store, [1, 2, 3]);
        int g0 = store.Generation;
        var snapshot = store.TakeSnapshot();
        store.Restore(snapshot);
        Assert.NotEqual(g0, store.Generation);
        int g1 = store.Generation;
        store.Clear();
        Assert.NotEqual(g1, store.Generation);
    }

    [Fact]
    public void WriteSetsValuesNormsAndFreshStateThenScanPagesThroughEveryRow()
    {
        var store = new ShardStore(3, Normal, Settings(OptimizerKind.Adagrad));
        store.Push([7, 8], [1, 1, 1, 2, 2, 2]);
        store.Write([8, 9], [3, 4, 0, -1, 0, 0]);
        store.SetLabel(9, "nine");
        Assert.Equal(3, store.Count);
        Assert.Equal(new float[] { 3, 4, 0, -1, 0, 0 }, PullAll(store, [8, 9]));
        Assert.Equal(5f, store.Norms[store.Find(8)]);
        Assert.Equal(0, store.StepsAt(store.Find(8)));
        Assert.Equal(1, store.StepsAt(store.Find(7)));

        var ids = new long[2];
        var values = new float[6];
        var labels = new string?[2];
        var steps = new long[2];
        Assert.Equal(2, store.Scan(0, ids, values, labels, steps));
        Assert.Equal(new long[] { 7, 8 }, ids);
        Assert.Equal(new long[] { 1, 0 }, steps);
        Assert.Equal(1, store.Scan(2, ids, values, labels, steps));
        Assert.Equal((9L, "nine"), (ids[0], labels[0]));
        Assert.Equal(new float[] { -1, 0, 0 }, values[..3]);
        Assert.Equal(0, store.Scan(3, ids, values, labels, steps));
    }

    [Theory]
    [InlineData("length")]
    [InlineData("non_finite")]
    [InlineData("duplicate")]
    public void BadWriteIsRefusedWholeAndCreatesNoRow(string reason)
    {
        var store = new ShardStore(2, Normal, Settings(OptimizerKind.Sgd));
        store.Write([1], [5, 5]);
        (long[] ids, float[] values) = reason switch
        {
            "length" => (new long[] { 1, 2 }, new float[] { 1, 2, 3 }),
            "non_finite" => (new long[] { 1, 2 }, new float[] { 1, 2, float.PositiveInfinity, 0 }),
            _ => (new long[] { 2, 1, 2 }, new float[6]),
        };
        var e = Assert.Throws<ArgumentException>(() => store.Write(ids, values, "t/0"));
        Assert.Equal(reason, e.Data[ShardStore.RefusalReasonKey]);
        Assert.StartsWith("Write to t/0 refused", e.Message);
        Assert.Equal(1, store.Count);
        Assert.Equal(new float[] { 5, 5 }, PullAll(store, [1]));
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(124_173)]
    [InlineData(200_000)]
    public void ResidentRowsCostAtMostATenthAboveTheirValuesAndStateFloor(int rows)
    {
        // Floor: dim 64 values + 64 Adagrad accumulators = 512 bytes. On top: id, step count, norm, index entry and
        // the arenas' growth slack.
        var store = new ShardStore(64, Normal, Settings(OptimizerKind.Adagrad));
        var ids = Enumerable.Range(0, rows).Select(i => (long)i * 7919).ToArray();
        store.Pull(ids, new float[rows * 64]);
        Assert.Equal(rows, store.Count);
        double perRow = (double)store.Bytes / rows;
        Assert.True(perRow <= 1.1 * 512, $"{perRow:F1} bytes per row at {rows} rows");
    }

    [Fact]
    public void RowsAcrossManyChunksKeepTheirValuesAsTheStoreGrows()
    {
        // Rows pulled early are read back unchanged after the store has grown by many chunks, and a range of rows is
        // handed out only within one chunk.
        var store = new ShardStore(3, Normal, Settings(OptimizerKind.Adagrad));
        long[] first = Enumerable.Range(0, 300).Select(i => (long)i * 31).ToArray();
        float[] before = PullAll(store, first);
        store.Pull(Enumerable.Range(1_000, 5_000).Select(i => (long)i * 31).ToArray(), new float[5_000 * 3]);
        Assert.Equal(before, PullAll(store, first));
        Assert.Equal(before, store.CopyValues().AsSpan(0, 300 * 3).ToArray());
        Assert.Equal(store.CopyValues().AsSpan(256 * 3, 64 * 3).ToArray(), store.Rows(256, 64).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Rows(250, 10).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Rows(store.Count - 1, 2).ToArray());
    }

    [Fact]
    public void RowsAreLazyAndDeterministicBySeed()
    {
        long[] ids = [5, -9, long.MaxValue, 0, 123456789];
        var a = new ShardStore(13, Normal, new OptimizerSettings());
        var b = new ShardStore(13, Normal, new OptimizerSettings(OptimizerKind.Sgd));
        var c = new ShardStore(13, Normal with { Seed = 43 }, new OptimizerSettings());
        Assert.Equal(-1, a.Find(5));
        float[] pa = PullAll(a, ids);
        Assert.Equal(ids.Length, a.Count);
        Assert.Equal(pa, PullAll(b, Enumerable.Reverse(ids).ToArray()).Chunk(13).Reverse().SelectMany(x => x).ToArray());
        Assert.Equal(pa, PullAll(a, ids));
        Assert.Equal(ids.Length, a.Count);
        float[] pc = PullAll(c, ids);
        for (int r = 0; r < ids.Length; r++)
        {
            Assert.NotEqual(pa.AsSpan(r * 13, 13).ToArray(), pc.AsSpan(r * 13, 13).ToArray());
        }

        // Different ids get different rows.
        Assert.NotEqual(pa.AsSpan(0, 13).ToArray(), pa.AsSpan(13, 13).ToArray());
    }

    [Theory]
    [InlineData(InitializerKind.Normal, 0.1f)]
    [InlineData(InitializerKind.Normal, 2f)]
    [InlineData(InitializerKind.Uniform, 0.5f)]
    public void InitializerHasTheDocumentedMoments(InitializerKind kind, float scale)
    {
        var store = new ShardStore(7, new RowInitializer(kind, scale, 1), new OptimizerSettings());
        long[] ids = Enumerable.Range(0, 20_000).Select(i => (long)i * 31).ToArray();
        float[] values = PullAll(store, ids);
        double mean = values.Average(x => (double)x);
        double std = Math.Sqrt(values.Average(x => ((double)x - mean) * ((double)x - mean)));
        double expectedStd = kind == InitializerKind.Normal ? scale : scale / Math.Sqrt(3);
        Assert.InRange(mean, -0.02 * scale, 0.02 * scale);
        Assert.InRange(std, 0.98 * expectedStd, 1.02 * expectedStd);
        if (kind == InitializerKind.Uniform)
        {
            Assert.All(values, x => Assert.InRange(x, -scale, scale));
        }
    }

    [Fact]
    public void ZerosInitializerGivesZeros()
    {
        var store = new ShardStore(9, new RowInitializer(InitializerKind.Zeros, 1f, 3), new OptimizerSettings());
        Assert.All(PullAll(store, [1, 2, 3, -4]), x => Assert.Equal(0f, x));
        Assert.Equal(InitializerKind.Zeros, RowInitializer.ParseKind("zero"));
        Assert.Contains("normal, uniform, zeros", Assert.Throws<ArgumentException>(() => RowInitializer.ParseKind("he")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, 11)]
    [InlineData(OptimizerKind.Adagrad, 11)]
    [InlineData(OptimizerKind.Adam, 11)]
    [InlineData(OptimizerKind.Sgd, 1)]
    [InlineData(OptimizerKind.Adagrad, 1)]
    [InlineData(OptimizerKind.Adam, 1)]
    public void PushMatchesScalarReferenceWithLazyPerRowSteps(OptimizerKind kind, int dim)
    {
        var settings = Settings(kind);
        var store = new ShardStore(dim, Normal, settings);
        var reference = new ReferenceTable(dim, Normal, settings);
        var rng = new Random(5);
        long[] universe = [1, 2, 3, 4, 5, 6, 7, 8, -100, long.MinValue];
        for (int push = 0; push < 12; push++)
        {
            // Row 1 is in every push, row 2 in every other, the rest at random: their step counts differ.
            var ids = new List<long> { 1 };
            if (push % 2 == 0)
            {
                ids.Add(2);
            }

            ids.AddRange(universe.Skip(2).Where(_ => rng.NextDouble() < 0.3));
            float[] g = Gradients(rng, ids.Count * dim);
            store.Push(ids.ToArray(), g);
            reference.Push(ids, g);
        }

        Assert.Equal(12, store.StepsAt(store.Find(1)));
        Assert.Equal(6, store.StepsAt(store.Find(2)));
        foreach (long id in universe)
        {
            float[] row = PullAll(store, [id]);
            ScalarReference.AssertClose(reference.Row(id), row, 1e-5, $"{kind} row {id}");
            Assert.Equal(reference.Steps(id), store.StepsAt(store.Find(id)));
            Assert.Equal(id, store.IdAt(store.Find(id)));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NonFinitePushIsRefusedAndNoRowChanges(OptimizerKind kind)
    {
        var store = new ShardStore(4, Normal, Settings(kind));
        long[] ids = [10, 20, 30];
        store.Push(ids, Gradients(new Random(1), 12));
        float[] before = PullAll(store, ids);
        long steps = store.TotalSteps;
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            float[] g = Gradients(new Random(2), 12);
            g[9] = bad; // row id 30, component 1
            var ex = Assert.Throws<ArgumentException>(() => store.Push(ids, g, "shard 3"));
            Assert.Contains("30", ex.Message, StringComparison.Ordinal);
            Assert.Contains("NaN", ex.Message, StringComparison.Ordinal);
            Assert.Contains("shard 3", ex.Message, StringComparison.Ordinal);
            Assert.Equal(before, PullAll(store, ids));
            Assert.Equal(steps, store.TotalSteps);
        }
    }

    [Fact]
    public void WrongLengthAndDuplicatePushesAreRefusedAndNoRowChanges()
    {
        var store = new ShardStore(4, Normal, Settings(OptimizerKind.Adam));
        long[] ids = [10, 20, 30];
        store.Push(ids, Gradients(new Random(1), 12));
        float[] before = PullAll(store, ids);
        Assert.Throws<ArgumentException>(() => store.Push(ids, new float[11]));
        Assert.Throws<ArgumentException>(() => store.Push(ids, new float[13]));
        Assert.Equal(before, PullAll(store, ids));

        var ex = Assert.Throws<ArgumentException>(() => store.Push([10, 20, 10], Gradients(new Random(3), 12)));
        Assert.Contains("10", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => store.Push([40, 30, 40], Gradients(new Random(3), 12)));
        Assert.Contains("40", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, PullAll(store, ids));
        Assert.All(ids, id => Assert.Equal(1, store.StepsAt(store.Find(id))));

        // The store still works, and step counts were not disturbed by the refused pushes.
        var reference = new ReferenceTable(4, Normal, Settings(OptimizerKind.Adam));
        reference.Push(ids, Gradients(new Random(1), 12));
        float[] g = Gradients(new Random(4), 12);
        store.Push(ids, g);
        reference.Push(ids, g);
        for (int r = 0; r < ids.Length; r++)
        {
            ScalarReference.AssertClose(reference.Row(ids[r]), PullAll(store, [ids[r]]), 1e-5, $"row {ids[r]}");
        }

        Assert.Throws<ArgumentException>(() => store.Pull(ids, new float[11]));
    }

    [Fact]
    public void GrowthPastInitialCapacityKeepsRowsIntact()
    {
        var store = new ShardStore(5, Normal, Settings(OptimizerKind.Adagrad), initialCapacity: 16);
        var fresh = new ShardStore(5, Normal, Settings(OptimizerKind.Adagrad), initialCapacity: 20_000);
        long[] ids = Enumerable.Range(0, 10_000).Select(i => ((long)i * 7919) - 5_000_000).ToArray();
        float[] g = Gradients(new Random(9), 5);
        for (int i = 0; i < ids.Length; i++)
        {
            store.Push([ids[i]], g);
            store.SetLabel(ids[i], "r" + i);
            fresh.Push([ids[i]], g);
        }

        Assert.Equal(10_000, store.Count);
        Assert.Equal(PullAll(fresh, ids), PullAll(store, ids));
        for (int i = 0; i < ids.Length; i++)
        {
            int slot = store.Find(ids[i]);
            Assert.Equal(i, slot);
            Assert.Equal(ids[i], store.IdAt(slot));
            Assert.Equal("r" + i, store.LabelAt(slot));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SnapshotRestoreRoundTripsValuesStateAndLabels(OptimizerKind kind)
    {
        var settings = Settings(kind);
        var store = new ShardStore(6, Normal, settings);
        long[] ids = [1, 2, 3, 4];
        var rng = new Random(11);
        store.Push(ids, Gradients(rng, 24));
        store.Push([1, 3], Gradients(rng, 12));
        store.SetLabel(2, "two");
        var snap = store.TakeSnapshot();
        float[] at = PullAll(store, ids);
        float[] g = Gradients(rng, 24);
        store.Push(ids, g);
        float[] after = PullAll(store, ids);

        // Mutate further, restore, and replay: identical results.
        store.Push(ids, Gradients(rng, 24));
        store.SetLabel(2, "changed");
        store.Restore(snap);
        Assert.Equal(4, store.Count);
        Assert.Equal(snap.TotalSteps, store.TotalSteps);
        Assert.Equal(at, PullAll(store, ids));
        Assert.Equal("two", store.LabelAt(store.Find(2)));
        Assert.Null(store.LabelAt(store.Find(1)));
        store.Push(ids, g);
        Assert.Equal(after, PullAll(store, ids));

        // Restore into a fresh store too.
        var other = new ShardStore(6, Normal with { Seed = 1 }, settings);
        other.Restore(snap);
        Assert.Equal(at, PullAll(other, ids));
        Assert.Throws<ArgumentException>(() => new ShardStore(7, Normal, settings).Restore(snap));
    }

    [Fact]
    public void LabelsAndClear()
    {
        var store = new ShardStore(2, Normal, new OptimizerSettings());
        Assert.Null(store.LabelAt(store.GetOrCreate(5)));
        store.SetLabel(7, "seven");
        store.SetLabel(5, null);
        Assert.Equal("seven", store.LabelAt(store.Find(7)));
        Assert.Null(store.LabelAt(store.Find(5)));
        store.Clear();
        Assert.Equal(0, store.Count);
        Assert.Equal(-1, store.Find(7));
        Assert.Null(store.LabelAt(store.GetOrCreate(7)));
    }

    [Fact]
    public void PullWithRepeatedAndDisplacedIdsGivesTheSlotsOfOneLookupAfterAnother()
    {
        // A pull resolves the ids found at their home entry first and leaves displaced and new ids to a second pass;
        // the slots it hands out (new rows included, each created once even when repeated) must be those of
        // GetOrCreate called for each id in order.
        const int dim = 3;
        var settings = Settings(OptimizerKind.Sgd);
        var batched = new ShardStore(dim, Normal, settings, initialCapacity: 4_000);
        var single = new ShardStore(dim, Normal, settings, initialCapacity: 4_000);
        var rng = new Random(41);
        long[] resident = Enumerable.Range(0, 2_500).Select(_ => rng.NextInt64()).Distinct().ToArray();
        batched.Pull(resident, new float[resident.Length * dim]);
        foreach (long id in resident)
        {
            single.GetOrCreate(id);
        }

        long[] fresh = Enumerable.Range(0, 400).Select(_ => rng.NextInt64()).ToArray();
        long[] batch = resident.Take(1_000).Concat(fresh).Concat(fresh.Take(150)).Concat(resident.Take(50)).OrderBy(_ => rng.Next()).ToArray();
        var slots = new int[batch.Length];
        var pulled = new float[batch.Length * dim];
        batched.Pull(batch, pulled, slots);
        for (int i = 0; i < batch.Length; i++)
        {
            int expected = single.GetOrCreate(batch[i]);
            Assert.Equal(expected, slots[i]);
            Assert.Equal(single.Row(expected).ToArray(), pulled.AsSpan(i * dim, dim).ToArray());
        }

        Assert.Equal(single.Count, batched.Count);
    }

    [Fact]
    public void BatchedLookupsMatchOneRowAtATimeAcrossIndexGrowthWithinABatch()
    {
        // Pull and Push resolve a whole batch (warming the index first); a batch of mostly new rows grows the index
        // and the arenas several times mid-batch, which must not change any slot, value or step.
        const int dim = 7;
        var settings = Settings(OptimizerKind.Adagrad);
        var batched = new ShardStore(dim, Normal, settings, initialCapacity: 16);
        var single = new ShardStore(dim, Normal, settings, initialCapacity: 16);
        var reference = new ReferenceTable(dim, Normal, settings);
        var rng = new Random(23);
        long[] old = Enumerable.Range(0, 300).Select(_ => rng.NextInt64()).Distinct().ToArray();
        batched.Pull(old, new float[old.Length * dim]);
        foreach (long id in old)
        {
            single.GetOrCreate(id);
        }

        long[] batch = old.Concat(Enumerable.Range(0, 5_000).Select(_ => rng.NextInt64())).Distinct().OrderBy(_ => rng.Next()).ToArray();
        float[] pulled = PullAll(batched, batch);
        var expected = new float[batch.Length * dim];
        for (int i = 0; i < batch.Length; i++)
        {
            int slot = single.GetOrCreate(batch[i]);
            Assert.Equal(slot, batched.Find(batch[i]));
            single.Row(slot).CopyTo(expected.AsSpan(i * dim, dim));
        }

        Assert.Equal(expected, pulled);

        long[] fresh = batch.Take(100).Concat(Enumerable.Range(0, 3_000).Select(_ => rng.NextInt64())).Distinct().ToArray();
        float[] g = Gradients(rng, fresh.Length * dim);
        batched.Push(fresh, g);
        reference.Push(fresh, g);
        foreach (long id in fresh)
        {
            int slot = batched.Find(id);
            Assert.Equal(id, batched.IdAt(slot));
            Assert.Equal(1, batched.StepsAt(slot));
            ScalarReference.AssertClose(reference.Row(id), batched.Row(slot), 1e-5, $"row {id}");
        }
    }

    [Fact]
    public void RowIndexMatchesDictionary()
    {
        var index = new RowIndex(4);
        var reference = new Dictionary<long, int>();
        var ids = new List<long>(); // the arena of ids the index reads keys from
        var rng = new Random(17);
        long[] special = [0, -1, 1, long.MinValue, long.MaxValue, long.MinValue + 1, long.MaxValue - 1];
        for (int n = 0; n < 50_000; n++)
        {
            long id = n < special.Length ? special[n] : rng.Next(4) switch
            {
                0 => rng.NextInt64(long.MinValue, long.MaxValue),
                1 => rng.Next(-2000, 2000),
                2 => rng.Next(0, 1000) * 1024L,
                _ => special[rng.Next(special.Length)],
            };
            if (rng.Next(3) == 0)
            {
                Assert.Equal(reference.TryGetValue(id, out int s) ? s : -1, index.Find(id, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids)));
                continue;
            }

            int slot = index.GetOrAdd(id, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids), out bool added);
            Assert.Equal(!reference.ContainsKey(id), added);
            if (added)
            {
                reference[id] = reference.Count;
                ids.Add(id);
            }

            Assert.Equal(reference[id], slot);
            Assert.Equal(reference.Count, index.Count);
        }

        foreach (var (id, s) in reference)
        {
            Assert.Equal(s, index.Find(id, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids)));
        }

        // 4 bytes per table entry, at most 3/4 full: between 5.3 and 10.7 bytes per row.
        Assert.InRange((double)index.Bytes / index.Count, 4 * 4 / 3.0, 8 * 4 / 3.0);
        index.Clear();
        ids.Clear();
        Assert.Equal(0, index.Count);
        Assert.Equal(-1, index.Find(long.MinValue, []));
        Assert.Equal(0, index.GetOrAdd(long.MaxValue, [], out bool again));
        Assert.True(again);
    }
}
