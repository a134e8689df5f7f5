using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Baseline;

/// <summary>
/// The COST baseline: the algorithm of <see cref="InMemoryRatingTrainer"/> (same model, loss <c>(pred − y)²</c>,
/// gradients, optimizer, initial rows and per-row Adam step counts), made as fast as one machine allows, so the
/// parameter server is compared against the best single-machine loop rather than a slow one.
/// <para>
/// Fused kernel: per sample, one Vector256 FMA pass computes <c>s = u·v</c>; the model gives <c>pred</c> and
/// <c>d = (pred − y)·dPred/ds</c>; then ONE pass over both rows reads the old <c>u_j</c>, <c>v_j</c>, forms
/// <c>gu_j = d·v_j + wd·u_j</c> and <c>gv_j = d·u_j + wd·v_j</c> from the old values, applies the optimizer to both
/// rows and their state and writes them back. The biases get the same rule with gradient <c>d</c>. The model and the
/// optimizer are generic struct parameters, so each of the nine combinations is its own loop without a switch.
/// </para>
/// <para>
/// Layout: each row is one record <c>[w | state slot 1 | state slot 2 | bias, bias state…, step]</c>, every block
/// starting at a multiple of 8 floats, the record padded to a multiple of 64 bytes and 64-byte aligned, so a sample
/// touches only the cache lines of its two records. Each epoch first packs the samples 16 bytes each
/// <c>(user, item, rating)</c>, checking the ids there, so a shuffled sample costs one cache miss instead of one per
/// column. Tables and packed samples live in native memory, on Linux advised into 2 MiB pages: random rows over
/// tens of megabytes would otherwise miss the TLB on nearly every sample. Dispose the trainer to free it.
/// </para>
/// <para>
/// Prefetch: the order is shuffled, so every sample misses twice: on its packed sample, and on its two records.
/// The loop prefetches the packed sample <see cref="SamplePrefetchDistance"/> samples ahead and every cache line of
/// both records <see cref="RowPrefetchDistance"/> samples ahead.
/// </para>
/// <para>
/// Hogwild: the threaded epoch gives each thread a contiguous slice of the order and lets them update the shared rows
/// without locks (lock-free asynchronous SGD, as in Hogwild!); a race may lose or mix an update of a row two threads
/// touch at once, and Adam steps may be miscounted by as much. Ids must lie in 0..max (synthetic data sets number
/// users and items from 1). Not thread-safe: one call at a time.
/// </para>
/// </summary>
public sealed unsafe partial class FastRatingTrainer : IDisposable
{
    /// <summary>
    /// How many samples ahead every cache line of a sample's two records is prefetched. Measured (10 M ratings,
    /// 100 k × 50 k ids, dim 64, 2-core EPYC VM): 4 is too short, 8 to 16 are alike, 8 keeps the fewest lines in flight.
    /// </summary>
    public const int RowPrefetchDistance = 8;

    /// <summary>
    /// How many samples ahead a sample's packed ids and rating are prefetched: further than the records, whose
    /// addresses are read from them <see cref="RowPrefetchDistance"/> samples ahead. 16 to 64 measured alike.
    /// </summary>
    public const int SamplePrefetchDistance = 32;

    /// <summary>Longest row accepted.</summary>
    public const int MaxDim = 1 << 20;

    private const int LineFloats = 64 / sizeof(float);
    private const int Lanes = 8; // Vector256<float>.Count
    private const int SampleInts = 4; // packed sample: user, item, rating bits, padding to 16 bytes

    // Beyond this many steps the Adam bias corrections are computed rather than looked up.
    private const int MaxCorrectionTable = 1 << 18;

    // Blocks at least this large are aligned to it and advised into transparent huge pages.
    private const int HugePage = 2 << 20;
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE

    private readonly RatingModel _model;
    private readonly OptimizerSettings _optimizer;
    private readonly Layout _layout;
    private readonly int _maxUser;
    private readonly int _maxItem;

    // Native blocks, so that they can be 2 MiB aligned and advised into huge pages; the pointers below are theirs.
    private readonly NativeBlock _userMemory;
    private readonly NativeBlock _itemMemory;
    private readonly NativeBlock _correctionMemory;
    private readonly float* _users;
    private readonly float* _items;

    // The samples packed 16 bytes each, so a shuffled sample costs one cache miss instead of one per column; ids are
    // checked while packing. Grown on demand, reused across epochs.
    private NativeBlock? _packMemory;
    private int* _packed;
    private int _packedCapacity;
    private bool _disposed;

    // Adam: (1/(1 − β1^t), 1/(1 − β2^t)) at [2t], [2t + 1] for t below _correctionSteps, as AdamStep computes them;
    // the powers would otherwise cost four MathF.Pow per sample.
    private readonly float* _corrections;
    private readonly int _correctionSteps;
    private readonly bool _correctionsSaturated;

    /// <summary>
    /// Allocates rows for user ids 0..<paramref name="maxUser"/> and item ids 0..<paramref name="maxItem"/>, filled as
    /// <see cref="InMemoryRatingTrainer"/> fills them: users by <paramref name="initializer"/>, items by it with seed
    /// + 1; biases, optimizer state and step counts 0.
    /// </summary>
    public FastRatingTrainer(RatingModel model, int maxUser, int maxItem, int dim, OptimizerSettings optimizer, RowInitializer initializer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        optimizer.Validate();
        if (!model.PredictsRatings)
        {
            throw new ArgumentException($"The in-memory baseline trains rating models (dot, dot-bias, mf), not {RatingModel.NameOf(model.Kind)}.", nameof(model));
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dim, MaxDim);
        ArgumentOutOfRangeException.ThrowIfNegative(maxUser);
        ArgumentOutOfRangeException.ThrowIfNegative(maxItem);
        _model = model;
        _optimizer = optimizer;
        _maxUser = maxUser;
        _maxItem = maxItem;
        _layout = new Layout(dim, optimizer.StateSlots, optimizer.Kind == OptimizerKind.Adam);
        _userMemory = new NativeBlock((maxUser + 1L) * _layout.RecordFloats * sizeof(float));
        _itemMemory = new NativeBlock((maxItem + 1L) * _layout.RecordFloats * sizeof(float));
        _users = (float*)_userMemory.Pointer;
        _items = (float*)_itemMemory.Pointer;
        for (int u = 0; u <= maxUser; u++)
        {
            initializer.Fill(u, new Span<float>(UserRecord(u), dim));
        }

        var items = initializer with { Seed = initializer.Seed + 1 };
        for (int i = 0; i <= maxItem; i++)
        {
            items.Fill(i, new Span<float>(ItemRecord(i), dim));
        }

        if (optimizer.Kind != OptimizerKind.Adam)
        {
            _correctionMemory = new NativeBlock(0);
            _corrections = (float*)_correctionMemory.Pointer;
            return;
        }

        // Tabulate until both corrections round to exactly 1 (they only fall with t), or up to the cap.
        var c = new List<float> { float.NaN, float.NaN };
        for (long t = 1; t < MaxCorrectionTable; t++)
        {
            float c1 = 1f / (1f - MathF.Pow(optimizer.Beta1, t));
            float c2 = 1f / (1f - MathF.Pow(optimizer.Beta2, t));
            c.Add(c1);
            c.Add(c2);
            if (c1 == 1f && c2 == 1f)
            {
                _correctionsSaturated = true;
                break;
            }
        }

        _correctionSteps = c.Count / 2;
        _correctionMemory = new NativeBlock(c.Count * sizeof(float));
        _corrections = (float*)_correctionMemory.Pointer;
        c.CopyTo(new Span<float>(_corrections, c.Count));
    }

    /// <summary>Length of a row.</summary>
    public int Dim => _layout.Dim;

    /// <summary>Highest user id.</summary>
    public int MaxUser => _maxUser;

    /// <summary>Highest item id.</summary>
    public int MaxItem => _maxItem;

    /// <summary>Bytes of one row's record (values, optimizer state, bias, its state, step count), a multiple of 64.</summary>
    public int RecordBytes => _layout.RecordFloats * sizeof(float);

    /// <summary>Copies user <paramref name="u"/>'s row into the first <see cref="Dim"/> floats of <paramref name="dest"/>.</summary>
    public void CopyUser(int u, Span<float> dest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)u, (uint)_maxUser, nameof(u));
        new ReadOnlySpan<float>(UserRecord(u), Dim).CopyTo(dest);
        GC.KeepAlive(this);
    }

    /// <summary>Copies item <paramref name="i"/>'s row into the first <see cref="Dim"/> floats of <paramref name="dest"/>.</summary>
    public void CopyItem(int i, Span<float> dest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)i, (uint)_maxItem, nameof(i));
        new ReadOnlySpan<float>(ItemRecord(i), Dim).CopyTo(dest);
        GC.KeepAlive(this);
    }

    /// <summary>User <paramref name="u"/>'s bias (0 under the <c>dot</c> model).</summary>
    public float UserBias(int u)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)u, (uint)_maxUser, nameof(u));
        float b = UserRecord(u)[_layout.BiasAt];
        GC.KeepAlive(this);
        return b;
    }

    /// <summary>Item <paramref name="i"/>'s bias (0 under the <c>dot</c> model).</summary>
    public float ItemBias(int i)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)i, (uint)_maxItem, nameof(i));
        float b = ItemRecord(i)[_layout.BiasAt];
        GC.KeepAlive(this);
        return b;
    }

    /// <summary>
    /// One pass in one thread over the samples <paramref name="order"/> of <paramref name="data"/>; returns the summed
    /// squared error <c>Σ (pred − y)²</c>, each prediction taken before its sample's update.
    /// </summary>
    public double TrainEpoch(Ratings data, ReadOnlySpan<int> order)
    {
        ArgumentNullException.ThrowIfNull(data);
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsurePacked(data.Count);
        Pack(data, 0, data.Count);
        double sum = Dispatch(data.Count, order);
        GC.KeepAlive(this);
        return sum;
    }

    /// <summary>
    /// One Hogwild pass: <paramref name="threads"/> threads each train a contiguous slice of <paramref name="order"/>
    /// on the shared rows without locks. Returns the summed squared error of all threads. One thread is
    /// <see cref="TrainEpoch(Ratings, ReadOnlySpan{int})"/>.
    /// </summary>
    public double TrainEpoch(Ratings data, int[] order, int threads)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (threads == 1)
        {
            return TrainEpoch(data, order);
        }

        EnsurePacked(data.Count);
        var sums = new double[threads];
        ExceptionDispatchInfo? failure = null;
        using var packed = new Barrier(threads);
        void Worker(int t)
        {
            // Each thread packs its share of the samples, then trains its slice of the order once all are packed.
            try
            {
                Pack(data, (int)((long)data.Count * t / threads), (int)((long)data.Count * (t + 1) / threads));
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }

            packed.SignalAndWait();
            if (failure != null)
            {
                return;
            }

            int from = (int)((long)order.Length * t / threads), to = (int)((long)order.Length * (t + 1) / threads);
            try
            {
                sums[t] = Dispatch(data.Count, order.AsSpan(from, to - from));
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }

        // Dedicated threads rather than the pool: every slice must really run at once, from the first sample.
        var workers = new Thread[threads - 1];
        for (int t = 1; t < threads; t++)
        {
            int slice = t;
            workers[t - 1] = new Thread(() => Worker(slice)) { IsBackground = true, Name = $"hogwild {slice}" };
            workers[t - 1].Start();
        }

        Worker(0);
        foreach (var w in workers)
        {
            w.Join();
        }

        GC.KeepAlive(this);
        failure?.Throw();
        return sums.Sum();
    }

    /// <summary>
    /// <c>sqrt(Σ (clip(pred) − y)² / n)</c> of the current rows on <paramref name="data"/>, predictions clipped to
    /// [Min, Max]; NaN when empty.
    /// </summary>
    public double Rmse(Ratings data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int dim = Dim, biasAt = _layout.BiasAt;
        double sum = 0;
        for (int s = 0; s < data.Count; s++)
        {
            long u = data.Users[s], i = data.Items[s];
            CheckIds(u, i);
            float* pu = UserRecord(u), qi = ItemRecord(i);
            float p = Math.Clamp(_model.Predict(new ReadOnlySpan<float>(pu, dim), new ReadOnlySpan<float>(qi, dim), pu[biasAt], qi[biasAt]), _model.Min, _model.Max);
            sum += (p - data.Values[s]) * (double)(p - data.Values[s]);
        }

        GC.KeepAlive(this);
        return data.Count == 0 ? double.NaN : Math.Sqrt(sum / data.Count);
    }

    /// <summary>Frees the tables and the packed samples.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _userMemory.Dispose();
        _itemMemory.Dispose();
        _correctionMemory.Dispose();
        _packMemory?.Dispose();
        _packMemory = null;
        _packed = null;
        _packedCapacity = 0;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    private float* UserRecord(long u) => _users + (u * _layout.RecordFloats);

    private float* ItemRecord(long i) => _items + (i * _layout.RecordFloats);

    private void CheckIds(long u, long i)
    {
        if ((ulong)u > (ulong)_maxUser || (ulong)i > (ulong)_maxItem)
        {
            ThrowId(u, i);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowId(long u, long i) =>
        throw new ArgumentException($"Sample (user {u}, item {i}) is outside the trainer's ids (users 0..{_maxUser}, items 0..{_maxItem}).");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOrder(int s, int count) =>
        throw new ArgumentException($"Sample index {s} in the order is outside the data's {count} samples.");

    /// <summary>
    /// Allocates the buffer an epoch of <paramref name="samples"/> samples packs into and touches every page of it, so
    /// that a timed epoch does not pay the buffer's first page faults (about 160 MB for 10 M samples).
    /// </summary>
    public void Prepare(int samples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(samples);
        EnsurePacked(samples);
        long bytes = (long)samples * SampleInts * sizeof(int);
        byte* at = (byte*)_packed;
        for (long b = 0; b < bytes; b += 4096)
        {
            at[b] = 0;
        }
    }

    /// <summary>Grows the packed sample buffer to <paramref name="count"/> samples.</summary>
    private void EnsurePacked(int count)
    {
        if (count > _packedCapacity)
        {
            // The old block goes before the new one comes; should the allocation fail, nothing points at freed memory.
            _packMemory?.Dispose();
            _packMemory = null;
            _packed = null;
            _packedCapacity = 0;
            _packMemory = new NativeBlock((long)count * SampleInts * sizeof(int), zero: false);
            _packed = (int*)_packMemory.Pointer;
            _packedCapacity = count;
        }
    }

    /// <summary>
    /// Copies samples <paramref name="from"/>..<paramref name="to"/> of <paramref name="data"/> into the packed
    /// buffer as (user, item, rating bits, 0), checking the ids once here rather than in the training loop.
    /// </summary>
    private void Pack(Ratings data, int from, int to)
    {
        ulong maxUser = (ulong)_maxUser, maxItem = (ulong)_maxItem;
        int* packed = _packed;
        fixed (long* users = data.Users)
        fixed (long* items = data.Items)
        fixed (float* values = data.Values)
        {
            for (int s = from; s < to; s++)
            {
                long u = users[s], i = items[s];
                if ((ulong)u > maxUser || (ulong)i > maxItem)
                {
                    ThrowId(u, i);
                }

                int* p = packed + ((nint)s * SampleInts);
                p[0] = (int)u;
                p[1] = (int)i;
                p[2] = BitConverter.SingleToInt32Bits(values[s]);
                p[3] = 0;
            }
        }
    }

    private double Dispatch(int count, ReadOnlySpan<int> order)
    {
        var o = _optimizer;
        var l = _layout;
        return o.Kind switch
        {
            OptimizerKind.Sgd => ByModel(new SgdRule(l, o.LearningRate, o.WeightDecay), count, order),
            OptimizerKind.Adagrad => ByModel(new AdagradRule(l, o.LearningRate, o.WeightDecay, o.Epsilon), count, order),
            _ => ByModel(new AdamRule(l, o, _corrections, _correctionSteps, _correctionsSaturated), count, order),
        };
    }

    private double ByModel<TRule>(TRule rule, int count, ReadOnlySpan<int> order)
        where TRule : struct, IRule
    {
        var frame = new Frame(_users, _items, _packed, count, _layout);
        fixed (int* ord = order)
        {
            return _model.Kind switch
            {
                RatingModelKind.Dot => Run(rule, default(DotHead), frame, ord, order.Length),
                RatingModelKind.DotBias => Run(rule, new DotBiasHead(_model.Min, _model.Max), frame, ord, order.Length),
                _ => Run(rule, new MfHead(_model.Mean), frame, ord, order.Length),
            };
        }
    }

    /// <summary>
    /// The training loop over <paramref name="ord"/>[0..<paramref name="n"/>): static, over raw pointers, so that the
    /// JIT keeps everything in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called once per epoch: straight to optimized code
    private static double Run<TRule, THead>(TRule rule, THead head, Frame frame, int* ord, int n)
        where TRule : struct, IRule
        where THead : struct, IHead
    {
        float* userBase = frame.Users, itemBase = frame.Items;
        int* packed = frame.Packed;
        int count = frame.Count, rec = frame.RecordFloats, dim = frame.Dim, biasAt = frame.BiasAt;
        double sum = 0;

        // Entries of the order are checked as they enter the prefetch window, before anything reads through them.
        for (int k = 0; k < Math.Min(n, SamplePrefetchDistance); k++)
        {
            if ((uint)ord[k] >= (uint)count)
            {
                ThrowOrder(ord[k], count);
            }
        }

        for (int k = 0; k < n; k++)
        {
            if (k + SamplePrefetchDistance < n)
            {
                int f = ord[k + SamplePrefetchDistance];
                if ((uint)f >= (uint)count)
                {
                    ThrowOrder(f, count);
                }

                if (Sse.IsSupported)
                {
                    Sse.Prefetch0(packed + ((nint)f * SampleInts));
                }
            }

            if (Sse.IsSupported && k + RowPrefetchDistance < n)
            {
                int* r = packed + ((nint)ord[k + RowPrefetchDistance] * SampleInts);
                float* pu = userBase + ((nint)r[0] * rec), qi = itemBase + ((nint)r[1] * rec);
                for (int c = 0; c < rec; c += LineFloats)
                {
                    Sse.Prefetch0(pu + c);
                    Sse.Prefetch0(qi + c);
                }
            }

            int* sample = packed + ((nint)ord[k] * SampleInts);
            float* p = userBase + ((nint)sample[0] * rec), q = itemBase + ((nint)sample[1] * rec);
            float pred = head.Predict(Dot(p, q, dim), p[biasAt], q[biasAt], out float dPredDs);
            float err = pred - BitConverter.Int32BitsToSingle(sample[2]);

            // The reference's 2·err·dPred/ds·scale with scale ½: the gradient of ½(pred − y)².
            rule.Update(p, q, err * dPredDs, THead.HasBiases);
            sum += err * err;
        }

        return sum;
    }

    /// <summary><c>Σ a_j·b_j</c>: four FMA accumulators to hide the FMA latency, then a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* a, float* b, int dim)
    {
        int j = 0;
        float s = 0f;
        if (Vector256.IsHardwareAccelerated && dim >= Lanes)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (; j <= dim - (4 * Lanes); j += 4 * Lanes)
            {
                s0 = MulAdd(Vector256.Load(a + j), Vector256.Load(b + j), s0);
                s1 = MulAdd(Vector256.Load(a + j + Lanes), Vector256.Load(b + j + Lanes), s1);
                s2 = MulAdd(Vector256.Load(a + j + (2 * Lanes)), Vector256.Load(b + j + (2 * Lanes)), s2);
                s3 = MulAdd(Vector256.Load(a + j + (3 * Lanes)), Vector256.Load(b + j + (3 * Lanes)), s3);
            }

            for (; j <= dim - Lanes; j += Lanes)
            {
                s0 = MulAdd(Vector256.Load(a + j), Vector256.Load(b + j), s0);
            }

            s = Vector256.Sum((s0 + s1) + (s2 + s3));
        }

        for (; j < dim; j++)
        {
            s += a[j] * b[j];
        }

        return s;
    }

    /// <summary><c>a·b + c</c>, fused where the CPU has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    /// <summary>
    /// Native memory (zeroed unless the caller overwrites it all anyway), 64-byte aligned, or 2 MiB aligned and advised into transparent huge pages (Linux) when at
    /// least that large; the advice comes before the first touch, so the zeroing faults in huge pages directly.
    /// </summary>
    private sealed class NativeBlock : SafeHandle
    {
        private readonly long _bytes;

        public NativeBlock(long bytes, bool zero = true)
            : base(0, ownsHandle: true)
        {
            bool huge = bytes >= HugePage;
            long size = Math.Max(huge ? (bytes + HugePage - 1) / HugePage * HugePage : bytes, LineFloats * sizeof(float));
            void* p = NativeMemory.AlignedAlloc((nuint)size, huge ? (nuint)HugePage : 64);
            SetHandle((nint)p);
            _bytes = size;
            GC.AddMemoryPressure(size);
            if (huge && OperatingSystem.IsLinux())
            {
                try
                {
                    // Advice only: where it fails the block still works, in small pages.
                    _ = Madvise((nint)p, (nuint)size, MadviseHugePage);
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
                {
                }
            }

            if (zero)
            {
                NativeMemory.Clear(p, (nuint)size);
            }
        }

        public void* Pointer => (void*)handle;

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            NativeMemory.AlignedFree((void*)handle);
            GC.RemoveMemoryPressure(_bytes);
            return true;
        }
    }

    /// <summary>What the training loop needs, passed by value so that it lives in registers.</summary>
    private readonly struct Frame(float* users, float* items, int* packed, int count, Layout layout)
    {
        public float* Users { get; } = users;

        public float* Items { get; } = items;

        public int* Packed { get; } = packed;

        public int Count { get; } = count;

        public int RecordFloats { get; } = layout.RecordFloats;

        public int Dim { get; } = layout.Dim;

        public int BiasAt { get; } = layout.BiasAt;
    }

    /// <summary>Where a record keeps what: each block starts at a multiple of 8 floats, the record at 64 bytes.</summary>
    private readonly struct Layout
    {
        public Layout(int dim, int slots, bool steps)
        {
            Dim = dim;
            Stride = (dim + Lanes - 1) / Lanes * Lanes;
            BiasAt = (slots + 1) * Stride;
            int end = BiasAt + 1 + slots;
            StepAt = (end + 1) & ~1; // 8-byte aligned long
            end = steps ? StepAt + 2 : end;
            RecordFloats = (end + LineFloats - 1) / LineFloats * LineFloats;
        }

        /// <summary>Row length.</summary>
        public int Dim { get; }

        /// <summary>Offset of state slot k's block: (k + 1)·Stride.</summary>
        public int Stride { get; }

        /// <summary>Offset of the bias; its state slots follow it.</summary>
        public int BiasAt { get; }

        /// <summary>Offset of the row's step count (a long; Adam only).</summary>
        public int StepAt { get; }

        /// <summary>Floats per record, a multiple of 16.</summary>
        public int RecordFloats { get; }
    }

    /// <summary>The rating model's prediction from <c>s = u·v</c> and the biases, and <c>dPred/ds</c>.</summary>
    private interface IHead
    {
        static abstract bool HasBiases { get; }

        float Predict(float s, float bu, float bi, out float dPredDs);
    }

    /// <summary><c>u·v</c>.</summary>
    private readonly struct DotHead : IHead
    {
        public static bool HasBiases => false;

        public float Predict(float s, float bu, float bi, out float dPredDs)
        {
            dPredDs = 1f;
            return s;
        }
    }

    /// <summary><c>sigmoid(u·v + b_u + b_i)·(max − min) + min</c>.</summary>
    private readonly struct DotBiasHead(float min, float max) : IHead
    {
        private readonly float _min = min;
        private readonly float _range = max - min;

        public static bool HasBiases => true;

        public float Predict(float s, float bu, float bi, out float dPredDs)
        {
            float sig = 1f / (1f + MathF.Exp(-(s + bu + bi)));
            dPredDs = _range * sig * (1f - sig);
            return (sig * _range) + _min;
        }
    }

    /// <summary><c>mean + b_u + b_i + u·v</c>.</summary>
    private readonly struct MfHead(float mean) : IHead
    {
        private readonly float _mean = mean;

        public static bool HasBiases => true;

        public float Predict(float s, float bu, float bi, out float dPredDs)
        {
            dPredDs = 1f;
            return _mean + bu + bi + s;
        }
    }

    /// <summary>The optimizer, fused over a sample's two records.</summary>
    private interface IRule
    {
        /// <summary>
        /// With <paramref name="d"/> the loss's derivative by <c>s = u·v</c>: updates row u by
        /// <c>gu = d·v + wd·u</c> and row v by <c>gv = d·u + wd·v</c>, both from the old values, and when
        /// <paramref name="biases"/> each bias by <c>d + wd·b</c>.
        /// </summary>
        void Update(float* u, float* v, float d, bool biases);
    }

    /// <summary><c>w −= lr·g</c>.</summary>
    private readonly struct SgdRule(Layout layout, float lr, float wd) : IRule
    {
        private readonly int _dim = layout.Dim;
        private readonly int _biasAt = layout.BiasAt;
        private readonly float _lr = lr;
        private readonly float _wd = wd;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Update(float* u, float* v, float d, bool biases)
        {
            int j = 0, dim = _dim;
            float lr = _lr, wd = _wd;
            if (Vector256.IsHardwareAccelerated)
            {
                var vd = Vector256.Create(d);
                var vwd = Vector256.Create(wd);
                var vnlr = Vector256.Create(-lr);
                for (; j <= dim - Lanes; j += Lanes)
                {
                    var uj = Vector256.Load(u + j);
                    var vj = Vector256.Load(v + j);
                    var gu = MulAdd(vwd, uj, vd * vj);
                    var gv = MulAdd(vwd, vj, vd * uj);
                    MulAdd(vnlr, gu, uj).Store(u + j);
                    MulAdd(vnlr, gv, vj).Store(v + j);
                }
            }

            for (; j < dim; j++)
            {
                float uj = u[j], vj = v[j];
                u[j] = uj - (lr * ((d * vj) + (wd * uj)));
                v[j] = vj - (lr * ((d * uj) + (wd * vj)));
            }

            if (biases)
            {
                float* bu = u + _biasAt, bi = v + _biasAt;
                *bu -= lr * (d + (wd * *bu));
                *bi -= lr * (d + (wd * *bi));
            }
        }
    }

    /// <summary><c>h += g²; w −= lr·g / (sqrt(h) + eps)</c>.</summary>
    private readonly struct AdagradRule(Layout layout, float lr, float wd, float eps) : IRule
    {
        private readonly int _dim = layout.Dim;
        private readonly int _h = layout.Stride;
        private readonly int _biasAt = layout.BiasAt;
        private readonly float _lr = lr;
        private readonly float _wd = wd;
        private readonly float _eps = eps;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Update(float* u, float* v, float d, bool biases)
        {
            int j = 0, dim = _dim, h = _h;
            float lr = _lr, wd = _wd, eps = _eps;
            if (Vector256.IsHardwareAccelerated)
            {
                var vd = Vector256.Create(d);
                var vwd = Vector256.Create(wd);
                var vlr = Vector256.Create(lr);
                var veps = Vector256.Create(eps);
                for (; j <= dim - Lanes; j += Lanes)
                {
                    var uj = Vector256.Load(u + j);
                    var vj = Vector256.Load(v + j);
                    var gu = MulAdd(vwd, uj, vd * vj);
                    var gv = MulAdd(vwd, vj, vd * uj);
                    var hu = MulAdd(gu, gu, Vector256.Load(u + h + j));
                    var hv = MulAdd(gv, gv, Vector256.Load(v + h + j));
                    hu.Store(u + h + j);
                    hv.Store(v + h + j);
                    (uj - (vlr * gu / (Vector256.Sqrt(hu) + veps))).Store(u + j);
                    (vj - (vlr * gv / (Vector256.Sqrt(hv) + veps))).Store(v + j);
                }
            }

            for (; j < dim; j++)
            {
                float uj = u[j], vj = v[j];
                Step(u + j, u + h + j, (d * vj) + (wd * uj), lr, eps);
                Step(v + j, v + h + j, (d * uj) + (wd * vj), lr, eps);
            }

            if (biases)
            {
                float* bu = u + _biasAt, bi = v + _biasAt;
                Step(bu, bu + 1, d + (wd * *bu), lr, eps);
                Step(bi, bi + 1, d + (wd * *bi), lr, eps);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Step(float* w, float* h, float g, float lr, float eps)
        {
            float hn = *h + (g * g);
            *h = hn;
            *w -= lr * g / (MathF.Sqrt(hn) + eps);
        }
    }

    /// <summary>
    /// <c>m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; w −= lr·(m·c1) / (sqrt(v·c2) + eps)</c> with
    /// <c>c1 = 1/(1 − β1^t)</c>, <c>c2 = 1/(1 − β2^t)</c> and t the row's own 1-based step count.
    /// </summary>
    private readonly struct AdamRule(Layout layout, OptimizerSettings o, float* corrections, int correctionSteps, bool saturated) : IRule
    {
        private readonly int _dim = layout.Dim;
        private readonly int _stride = layout.Stride;
        private readonly int _biasAt = layout.BiasAt;
        private readonly int _stepAt = layout.StepAt;
        private readonly float _lr = o.LearningRate;
        private readonly float _wd = o.WeightDecay;
        private readonly float _b1 = o.Beta1;
        private readonly float _b2 = o.Beta2;
        private readonly float _eps = o.Epsilon;
        private readonly float* _corrections = corrections;
        private readonly long _correctionSteps = correctionSteps;
        private readonly bool _saturated = saturated;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Update(float* u, float* v, float d, bool biases)
        {
            int j = 0, dim = _dim, m = _stride, s = 2 * _stride;
            float wd = _wd, b1 = _b1, b2 = _b2, ob1 = 1f - b1, ob2 = 1f - b2, eps = _eps;
            long tu = ++*(long*)(u + _stepAt), ti = ++*(long*)(v + _stepAt);
            var (c1u, c2u) = Corrections(tu);
            var (c1i, c2i) = Corrections(ti);
            float lc1u = _lr * c1u, lc1i = _lr * c1i;
            if (Vector256.IsHardwareAccelerated)
            {
                var vd = Vector256.Create(d);
                var vwd = Vector256.Create(wd);
                var vb1 = Vector256.Create(b1);
                var vb2 = Vector256.Create(b2);
                var vob1 = Vector256.Create(ob1);
                var vob2 = Vector256.Create(ob2);
                var veps = Vector256.Create(eps);
                var vlc1u = Vector256.Create(lc1u);
                var vlc1i = Vector256.Create(lc1i);
                var vc2u = Vector256.Create(c2u);
                var vc2i = Vector256.Create(c2i);
                for (; j <= dim - Lanes; j += Lanes)
                {
                    var uj = Vector256.Load(u + j);
                    var vj = Vector256.Load(v + j);
                    var gu = MulAdd(vwd, uj, vd * vj);
                    var gv = MulAdd(vwd, vj, vd * uj);
                    var mu = MulAdd(vb1, Vector256.Load(u + m + j), vob1 * gu);
                    var mv = MulAdd(vb1, Vector256.Load(v + m + j), vob1 * gv);
                    var su = MulAdd(vb2, Vector256.Load(u + s + j), vob2 * gu * gu);
                    var sv = MulAdd(vb2, Vector256.Load(v + s + j), vob2 * gv * gv);
                    mu.Store(u + m + j);
                    mv.Store(v + m + j);
                    su.Store(u + s + j);
                    sv.Store(v + s + j);
                    (uj - (vlc1u * mu / (Vector256.Sqrt(su * vc2u) + veps))).Store(u + j);
                    (vj - (vlc1i * mv / (Vector256.Sqrt(sv * vc2i) + veps))).Store(v + j);
                }
            }

            for (; j < dim; j++)
            {
                float uj = u[j], vj = v[j];
                Step(u + j, u + m + j, u + s + j, (d * vj) + (wd * uj), lc1u, c2u);
                Step(v + j, v + m + j, v + s + j, (d * uj) + (wd * vj), lc1i, c2i);
            }

            if (biases)
            {
                float* bu = u + _biasAt, bi = v + _biasAt;
                Step(bu, bu + 1, bu + 2, d + (wd * *bu), lc1u, c2u);
                Step(bi, bi + 1, bi + 2, d + (wd * *bi), lc1i, c2i);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private (float C1, float C2) Corrections(long t)
        {
            if (t < _correctionSteps)
            {
                return (_corrections[2 * t], _corrections[(2 * t) + 1]);
            }

            return _saturated ? (1f, 1f) : (1f / (1f - MathF.Pow(_b1, t)), 1f / (1f - MathF.Pow(_b2, t)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Step(float* w, float* m, float* s, float g, float lc1, float c2)
        {
            float mn = (_b1 * *m) + ((1f - _b1) * g);
            float sn = (_b2 * *s) + ((1f - _b2) * g * g);
            *m = mn;
            *s = sn;
            *w -= lc1 * mn / (MathF.Sqrt(sn * c2) + _eps);
        }
    }
}
