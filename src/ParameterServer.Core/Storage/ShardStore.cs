using System.Buffers;
using System.Numerics.Tensors;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Core.Storage;

/// <summary>
/// The rows one shard owns: an id -> slot index, the values and the optimizer state of every row in chunks of
/// <see cref="ChunkRows"/> rows, per-row update counts, the L2 norm of every row (for cosine search) and optional
/// labels. Slots are dense: rows live in slots 0..Count−1. Not thread-safe: a grain turn owns it.
/// </summary>
/// <remarks>
/// Values and state grow a chunk at a time and never move: a shard that grows to millions of rows while training
/// copies none of them (growing one contiguous arena by a fraction copied it tens of times over and faulted in
/// fresh pages for every copy, a quarter of a first epoch's CPU). Chunks live on the pinned object heap, so the
/// garbage collector never copies them either. The small per-row arrays (ids, step counts, norms, labels) stay
/// contiguous and grow by a thirty-second.
/// </remarks>
public sealed class ShardStore
{
    /// <summary>Rows per chunk of values and state; a multiple of <see cref="Search.ShardSearch.BlockRows"/>, so a search block never spans two chunks.</summary>
    public const int ChunkRows = 1 << ChunkShift;
    private const int ChunkShift = 8;
    private const int ChunkMask = ChunkRows - 1;
    private const int MinCapacity = 256;
    private readonly RowIndex _index;
    private readonly int _slots;
    private readonly int _stateWidth;
    private long[] _ids;
    private float[][] _valueChunks = [];
    private float[][] _stateChunks = [];
    private int _chunks;
    // Per-row update counts as int (saturating at int.MaxValue): 4 bytes less per row, and a row is very unlikely
    // to see two billion updates; Adam's bias correction has long converged by then.
    private int[] _steps;
    private float[] _norms;
    // Every change of rows (create, push, write, restore) only marks the norms stale instead of computing one per row
    // per change (a second pass over the row); Norms recomputes them all on the next read, which only a cosine search
    // makes, and it scans every row anyway.
    private bool _normsStale;
    private string?[]? _labels;
    private int _capacity;

    /// <summary>Creates an empty store for rows of <paramref name="dim"/> values.</summary>
    public ShardStore(int dim, RowInitializer initializer, OptimizerSettings optimizer, int initialCapacity = MinCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        optimizer.Validate();
        Dim = dim;
        Initializer = initializer;
        Optimizer = optimizer;
        _slots = optimizer.StateSlots;
        _stateWidth = dim * _slots;
        _capacity = Math.Max(MinCapacity, initialCapacity);
        _index = new RowIndex(_capacity);
        _ids = new long[_capacity];
        _steps = new int[_capacity];
        _norms = new float[_capacity];
        AddChunks(_capacity);
    }

    /// <summary>Values per row.</summary>
    public int Dim { get; }

    /// <summary>How new rows start.</summary>
    public RowInitializer Initializer { get; }

    /// <summary>The optimizer that pushes apply.</summary>
    public OptimizerSettings Optimizer { get; }

    /// <summary>Rows resident.</summary>
    public int Count => _index.Count;

    /// <summary>Bytes held by values, optimizer state, ids, step counts and the index.</summary>
    public long Bytes => (((long)_chunks * ChunkRows * (Dim + _stateWidth)) + _norms.Length) * sizeof(float) + (_ids.LongLength * sizeof(long)) + (_steps.LongLength * sizeof(int)) + _index.Bytes;

    /// <summary>
    /// Changes whenever rows may have moved to other slots (a restore, a clear), so that slots handed out by
    /// <see cref="Pull(ReadOnlySpan{long}, Span{float}, Span{int})"/> are only taken back as hints of the same generation.
    /// </summary>
    public int Generation { get; private set; }

    /// <summary>Total optimizer steps applied to rows (one per row per push).</summary>
    public long TotalSteps { get; private set; }

    /// <summary>The values of the row in <paramref name="slot"/>.</summary>
    public ReadOnlySpan<float> Row(int slot) => _valueChunks[slot >> ChunkShift].AsSpan((slot & ChunkMask) * Dim, Dim);

    /// <summary>
    /// The values of the <paramref name="count"/> rows from slot <paramref name="start"/> on (row-major), which must be
    /// resident and lie in one chunk: a range that starts at a multiple of a divisor of <see cref="ChunkRows"/> and is
    /// at most that long always does.
    /// </summary>
    public ReadOnlySpan<float> Rows(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count || (count > 0 && (start >> ChunkShift) != ((start + count - 1) >> ChunkShift)))
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Rows {start}..{start + count - 1} are not resident rows of one chunk of {ChunkRows} ({Count} rows resident).");
        }

        return count == 0 ? [] : _valueChunks[start >> ChunkShift].AsSpan((start & ChunkMask) * Dim, count * Dim);
    }

    /// <summary>A copy of the values of every resident row, slot by slot (<c>Count x Dim</c>, row-major).</summary>
    public float[] CopyValues()
    {
        var values = new float[(long)Count * Dim];
        CopyChunked(_valueChunks, Dim, 0, Count, values);
        return values;
    }

    /// <summary>The id of every resident row, slot by slot.</summary>
    public ReadOnlySpan<long> Ids => _ids.AsSpan(0, Count);

    /// <summary>How many optimizer steps every resident row has had, slot by slot.</summary>
    public ReadOnlySpan<int> Steps => _steps.AsSpan(0, Count);

    /// <summary>The L2 norm of every resident row, slot by slot (recomputed here when pushes changed rows since the last read).</summary>
    public ReadOnlySpan<float> Norms
    {
        get
        {
            if (_normsStale)
            {
                for (int slot = 0; slot < Count; slot++)
                {
                    _norms[slot] = TensorPrimitives.Norm(Row(slot));
                }

                _normsStale = false;
            }

            return _norms.AsSpan(0, Count);
        }
    }

    /// <summary>The id of the row in <paramref name="slot"/>.</summary>
    public long IdAt(int slot) => _ids[slot];

    /// <summary>How many times the row in <paramref name="slot"/> has been updated.</summary>
    public long StepsAt(int slot) => _steps[slot];

    /// <summary>The slot of <paramref name="id"/>, or -1 when the row does not exist yet.</summary>
    public int Find(long id) => _index.Find(id, _ids);

    /// <summary>The slot of <paramref name="id"/>, creating the row with its deterministic initial values if needed.</summary>
    public int GetOrCreate(long id)
    {
        int slot = _index.GetOrAdd(id, _ids, out bool added);
        if (added)
        {
            EnsureCapacity(slot + 1);
            _ids[slot] = id;
            Initializer.Fill(id, MutableRow(slot));
            _normsStale = true;
            StateOf(slot).Clear();
            _steps[slot] = 0;
        }

        return slot;
    }

    /// <summary>Copies the rows of <paramref name="ids"/> into <paramref name="destination"/> (row-major), creating missing rows.</summary>
    public void Pull(ReadOnlySpan<long> ids, Span<float> destination)
    {
        int[] slots = ArrayPool<int>.Shared.Rent(ids.Length);
        try
        {
            Pull(ids, destination, slots.AsSpan(0, ids.Length));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
        }
    }

    /// <summary>
    /// Copies the rows of <paramref name="ids"/> into <paramref name="destination"/> (row-major), creating missing rows,
    /// and writes each row's slot to <paramref name="slots"/>: a push of the same rows may give them back as hints
    /// (with <see cref="Generation"/>) and skip the id lookups.
    /// </summary>
    public void Pull(ReadOnlySpan<long> ids, Span<float> destination, Span<int> slots)
    {
        if (destination.Length != ids.Length * Dim || slots.Length != ids.Length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats and {slots.Length} slots; {ids.Length} rows of dim {Dim} need {ids.Length * Dim} and {ids.Length}.", nameof(destination));
        }

        CopyOut(ids, [], destination, slots);
    }

    /// <summary>
    /// Like <see cref="Pull(ReadOnlySpan{long}, Span{float}, Span{int})"/>, writing row <c>i</c> to row
    /// <c>positions[i]</c> of <paramref name="destination"/> instead of row <c>i</c>: a worker's batch holds the rows of
    /// every shard interleaved, and a shard in the same process copies its rows straight into their places.
    /// </summary>
    public void Pull(ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, Span<float> destination, Span<int> slots)
    {
        if (positions.Length != ids.Length || slots.Length != ids.Length)
        {
            throw new ArgumentException($"{ids.Length} ids need as many positions and slots; got {positions.Length} and {slots.Length}.", nameof(positions));
        }

        int rows = destination.Length / Dim;
        foreach (int position in positions)
        {
            if ((uint)position >= (uint)rows)
            {
                throw new ArgumentOutOfRangeException(nameof(positions), $"Position {position} is outside a destination of {rows} rows of dim {Dim}.");
            }
        }

        CopyOut(ids, positions, destination, slots);
    }

    /// <summary>
    /// Resolves <paramref name="ids"/> (creating missing rows) into <paramref name="slots"/> and copies row <c>i</c> to
    /// row <c>positions[i]</c> of <paramref name="destination"/> (row <c>i</c> when <paramref name="positions"/> is empty),
    /// each row prefetched <see cref="PrefetchAhead"/> rows ahead of its copy.
    /// </summary>
    private void CopyOut(ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, Span<float> destination, Span<int> slots)
    {
        Resolve(ids, slots);
        if (Dim == 1)
        {
            CopyOutScalars(positions, destination, slots);
            return;
        }

        PrefetchRows(slots[..Math.Min(PrefetchAhead, slots.Length)], withState: false);
        for (int i = 0; i < ids.Length; i++)
        {
            if (i + PrefetchAhead < slots.Length)
            {
                PrefetchRow(slots[i + PrefetchAhead], withState: false);
            }

            int row = positions.IsEmpty ? i : positions[i];
            Row(slots[i]).CopyTo(destination.Slice(row * Dim, Dim));
        }
    }

    /// <summary>
    /// <see cref="CopyOut"/> for rows of one value (biases, counts): half of a rating model's rows, where the generic
    /// row copy (a span per row, a copy call, a prefetch loop) cost most of the time. Each value is read straight from
    /// its chunk, its line prefetched <see cref="PrefetchAhead"/> rows ahead.
    /// </summary>
    private void CopyOutScalars(ReadOnlySpan<int> positions, Span<float> destination, ReadOnlySpan<int> slots)
    {
        float[][] chunks = _valueChunks;
        for (int i = 0; i < slots.Length; i++)
        {
            if (i + PrefetchAhead < slots.Length)
            {
                int ahead = slots[i + PrefetchAhead];
                Prefetch.Line(in chunks[ahead >> ChunkShift][ahead & ChunkMask]);
            }

            int slot = slots[i];
            destination[positions.IsEmpty ? i : positions[i]] = chunks[slot >> ChunkShift][slot & ChunkMask];
        }
    }

    /// <summary>
    /// The slot of every id in <paramref name="ids"/>, creating missing rows, written to <paramref name="resolved"/>.
    /// First the index's candidate slot of every id is found with the table's misses overlapped
    /// (<see cref="RowIndex.Candidates"/>), and the id each candidate points at is prefetched; the lookups that follow
    /// then mostly hit the cache. Same result as calling <see cref="GetOrCreate"/> for each id in order.
    /// </summary>
    private void Resolve(ReadOnlySpan<long> ids, Span<int> resolved)
    {
        _index.Candidates(ids, resolved);
        ResolveFrom(ids, resolved, resolved);
    }

    /// <summary>
    /// Like <see cref="Resolve(ReadOnlySpan{long}, Span{int})"/>, taking <paramref name="hints"/> (slots a pull of the same generation handed out)
    /// where they still hold their id: a hint costs one compare instead of an index lookup. A stale, foreign or
    /// out-of-range hint is looked up as usual, so hints can only save time, never change which row is updated.
    /// </summary>
    private void Resolve(ReadOnlySpan<long> ids, ReadOnlySpan<int> hints, int generation, Span<int> resolved)
    {
        if (generation != Generation || hints.Length != ids.Length)
        {
            Resolve(ids, resolved);
            return;
        }

        ResolveFrom(ids, hints, resolved);
    }

    /// <summary>
    /// Each id's slot from a candidate (an index entry's slot or a pull's hint, prefetched first): a candidate that
    /// holds its own id is the row, one compare; any other id is looked up, and created when missing. Candidates stay
    /// valid while rows are added, since a slot keeps its id once handed out. <paramref name="candidates"/> may be
    /// <paramref name="resolved"/> itself (each is read before it is overwritten).
    /// </summary>
    private void ResolveFrom(ReadOnlySpan<long> ids, ReadOnlySpan<int> candidates, Span<int> resolved)
    {
        PrefetchIds(candidates);
        int count = Count;
        long[] stored = _ids;
        int unresolved = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            int slot = candidates[i];
            if ((uint)slot < (uint)count && stored[slot] == ids[i])
            {
                resolved[i] = slot;
                continue;
            }

            // Linear probing moved this id past its home entry (about one in four at the index's load), or it is new.
            // Its lookup is left to a second pass, with the id its next probe compares prefetched now: those misses
            // then overlap too instead of each lookup waiting for its own.
            resolved[i] = -1;
            unresolved++;
            if (slot >= 0)
            {
                _index.PrefetchNextProbe(ids[i], stored.AsSpan(0, count));
            }
        }

        for (int i = 0; unresolved > 0 && i < ids.Length; i++)
        {
            if (resolved[i] < 0)
            {
                // In order: rows created here get the same slots as one GetOrCreate per id would give them.
                resolved[i] = GetOrCreate(ids[i]);
                unresolved--;
            }
        }
    }

    /// <summary>How many rows ahead the copy and optimizer loops prefetch the row they will touch.</summary>
    private const int PrefetchAhead = 12;

    /// <summary>
    /// Prefetches the id of each slot in <paramref name="slots"/> that is a resident row (one line each, for the whole
    /// part at once, so their misses overlap). A prefetch waits for nothing and changes nothing; slots out of range
    /// (−1, a stale hint) are skipped.
    /// </summary>
    private void PrefetchIds(ReadOnlySpan<int> slots)
    {
        int count = Count;
        long[] ids = _ids;
        foreach (int slot in slots)
        {
            if ((uint)slot < (uint)count)
            {
                Prefetch.Line(in ids[slot]);
            }
        }
    }

    /// <summary><see cref="PrefetchRow"/> for each slot of <paramref name="slots"/>.</summary>
    private void PrefetchRows(ReadOnlySpan<int> slots, bool withState)
    {
        foreach (int slot in slots)
        {
            PrefetchRow(slot, withState);
        }
    }

    /// <summary>
    /// Prefetches every cache line of the values of <paramref name="slot"/> (with <paramref name="withState"/>, also of
    /// its optimizer state and step count) when it is a resident row. The copy and optimizer loops call it
    /// <see cref="PrefetchAhead"/> rows ahead, so each row's misses are in flight while the rows before it are worked
    /// on, and no more lines are requested at once than the core can track.
    /// </summary>
    private void PrefetchRow(int slot, bool withState)
    {
        if ((uint)slot >= (uint)Count)
        {
            return;
        }

        Prefetch.Lines(in _valueChunks[slot >> ChunkShift][(slot & ChunkMask) * Dim], Dim);
        if (withState)
        {
            Prefetch.Line(in _steps[slot]); // a push counts the row's step
            if (_stateWidth > 0)
            {
                Prefetch.Lines(in _stateChunks[slot >> ChunkShift][(slot & ChunkMask) * _stateWidth], _stateWidth);
            }
        }
    }

    /// <summary>
    /// Applies one optimizer step to each row of <paramref name="ids"/> with its gradient in <paramref name="gradients"/>
    /// (row-major). The whole push is checked first: a wrong length, a NaN or infinity, or a repeated id refuses it
    /// with an <see cref="ArgumentException"/> that says where, and no stored row changes.
    /// </summary>
    public void Push(ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, string where = "shard") => Push(ids, gradients, [], -1, where);

    /// <summary>
    /// <see cref="Push(ReadOnlySpan{long}, ReadOnlySpan{float}, string)"/> with the slots a pull of these rows handed
    /// out (<paramref name="slotHints"/>, of store generation <paramref name="generation"/>; empty for none): hints that
    /// still hold their row skip its index lookup, any other is looked up as usual.
    /// </summary>
    public void Push(ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slotHints, int generation, string where = "shard")
    {
        CheckRows(ids, gradients, "Push", "gradient", where);
        Apply(ids, [], gradients, slotHints, generation, where);
    }

    /// <summary>
    /// Like <see cref="Push(ReadOnlySpan{long}, ReadOnlySpan{float}, ReadOnlySpan{int}, int, string)"/>, taking row
    /// <c>i</c>'s gradient from row <c>positions[i]</c> of <paramref name="gradients"/>: a shard in the worker's process
    /// reads its rows' gradients where the worker summed them. Checked whole first in the same way (a position outside
    /// the gradients, a NaN or infinity in a row it reads, a repeated id), changing no row when refused.
    /// With <paramref name="checkedWhole"/> the caller vouches that it already refused NaN, infinity and repeated ids
    /// for the whole push (as <c>StepClient</c> does before any shard sees it), and only the positions are checked.
    /// </summary>
    public void Push(ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slotHints, int generation, string where = "shard", bool checkedWhole = false)
    {
        if (positions.Length != ids.Length)
        {
            throw Refused("length", $"Push to {where} refused: {ids.Length} ids with {positions.Length} positions. No row was changed.");
        }

        int rows = gradients.Length / Dim;
        for (int i = 0; i < positions.Length; i++)
        {
            if ((uint)positions[i] >= (uint)rows)
            {
                throw Refused("length", $"Push to {where} refused: row id {ids[i]} (position {i}) has its gradient at row {positions[i]} of {rows}. No row was changed.");
            }
        }

        for (int i = 0; i < positions.Length && !checkedWhole; i++)
        {
            var row = gradients.Slice(positions[i] * Dim, Dim);
            int bad = FiniteCheck.IndexOfNonFinite(row);
            if (bad >= 0)
            {
                throw Refused("non_finite", $"Push to {where} refused: gradient of row id {ids[i]} (position {i}, component {bad}) is {row[bad]}; NaN and infinity are not accepted. No row was changed.");
            }
        }

        Apply(ids, positions, gradients, slotHints, generation, where, distinct: checkedWhole);
    }

    /// <summary>
    /// Applies a checked push; row <c>i</c>'s gradient is row <c>positions[i]</c> (or <c>i</c> when empty) of
    /// <paramref name="gradients"/>. Refuses a repeated id unless the caller vouches for <paramref name="distinct"/> ids.
    /// </summary>
    private void Apply(ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slotHints, int generation, string where, bool distinct = false)
    {
        int[] slots = ArrayPool<int>.Shared.Rent(ids.Length);
        try
        {
            var resolved = slots.AsSpan(0, ids.Length);
            Resolve(ids, slotHints, generation, resolved);
            if (!distinct)
            {
                CheckNoDuplicates(ids, resolved, where);
            }

            if (Dim == 1 && Optimizer.Kind is OptimizerKind.Sgd or OptimizerKind.Adagrad)
            {
                ApplyScalars(positions, gradients, resolved);
            }
            else
            {
                ApplyRows(positions, gradients, resolved);
            }

            _normsStale = true;
            TotalSteps += ids.Length;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
        }
    }

    /// <summary>The optimizer loop of <see cref="Apply"/>: one kernel call per row, each row prefetched <see cref="PrefetchAhead"/> rows ahead.</summary>
    private void ApplyRows(ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slots)
    {
        PrefetchRows(slots[..Math.Min(PrefetchAhead, slots.Length)], withState: true);
        for (int i = 0; i < slots.Length; i++)
        {
            if (i + PrefetchAhead < slots.Length)
            {
                PrefetchRow(slots[i + PrefetchAhead], withState: true);
            }

            int slot = slots[i];
            int row = positions.IsEmpty ? i : positions[i];
            Optimizer.Apply(MutableRow(slot), StateOf(slot), gradients.Slice(row * Dim, Dim), CountStep(slot));
        }
    }

    /// <summary>
    /// The optimizer loop of <see cref="Apply"/> for rows of one value under SGD or Adagrad (a rating model's biases):
    /// each value's step is computed in place by the kernel's own one-value formula (<see cref="SgdStep.One"/>,
    /// <see cref="AdagradStep.One"/>), without a span and a kernel call per row; the same result as the row loop.
    /// </summary>
    private void ApplyScalars(ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slots)
    {
        float[][] values = _valueChunks, states = _stateChunks;
        var (lr, wd, eps) = (Optimizer.LearningRate, Optimizer.WeightDecay, Optimizer.Epsilon);
        bool sgd = Optimizer.Kind == OptimizerKind.Sgd;
        for (int i = 0; i < slots.Length; i++)
        {
            if (i + PrefetchAhead < slots.Length)
            {
                int ahead = slots[i + PrefetchAhead];
                Prefetch.Line(in values[ahead >> ChunkShift][ahead & ChunkMask]);
                Prefetch.Line(in _steps[ahead]);
                if (!sgd)
                {
                    Prefetch.Line(in states[ahead >> ChunkShift][ahead & ChunkMask]);
                }
            }

            int slot = slots[i];
            CountStep(slot);
            float g = gradients[positions.IsEmpty ? i : positions[i]];
            ref float w = ref values[slot >> ChunkShift][slot & ChunkMask];
            if (sgd)
            {
                SgdStep.One(ref w, g, lr, wd);
            }
            else
            {
                AdagradStep.One(ref w, ref states[slot >> ChunkShift][slot & ChunkMask], g, lr, wd, eps);
            }
        }
    }

    /// <summary>Counts one more step of the row in <paramref name="slot"/> (saturating at <see cref="int.MaxValue"/>) and returns its new count.</summary>
    private int CountStep(int slot) => _steps[slot] = _steps[slot] == int.MaxValue ? int.MaxValue : _steps[slot] + 1;

    /// <summary>
    /// Sets the rows of <paramref name="ids"/> to <paramref name="values"/> (row-major), creating missing rows; their
    /// optimizer state and step count start afresh (Adam's bias correction counts a row's own steps). Checked whole first like <see cref="Push(ReadOnlySpan{long}, ReadOnlySpan{float}, string)"/>: a wrong
    /// length, a NaN or infinity, or a repeated id refuses it with an <see cref="ArgumentException"/>, changing no row.
    /// </summary>
    public void Write(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, string where = "shard")
    {
        CheckRows(ids, values, "Write", "value", where);

        int repeat = RepeatFinder.FirstRepeat(ids);
        if (repeat >= 0)
        {
            throw Refused("duplicate", $"Write to {where} refused: row id {ids[repeat]} appears more than once (again at position {repeat}). No row was changed.");
        }

        for (int i = 0; i < ids.Length; i++)
        {
            // Not GetOrCreate: a new row's initial values, state and norm would all be overwritten below.
            int slot = _index.GetOrAdd(ids[i], _ids, out bool added);
            if (added)
            {
                EnsureCapacity(slot + 1);
                _ids[slot] = ids[i];
            }

            values.Slice(i * Dim, Dim).CopyTo(MutableRow(slot));
            StateOf(slot).Clear();
            _steps[slot] = 0;
            _normsStale = true;
        }
    }

    /// <summary>
    /// Copies up to <paramref name="ids"/>.Length rows from arena position <paramref name="offset"/>: ids, values
    /// (row-major into <paramref name="values"/>), labels and step counts. Returns how many were copied.
    /// </summary>
    public int Scan(int offset, Span<long> ids, Span<float> values, Span<string?> labels, Span<long> steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        int n = Math.Max(0, Math.Min(ids.Length, Count - offset));
        if (values.Length < n * Dim || labels.Length < n || steps.Length < n)
        {
            throw new ArgumentException($"Scan of {n} rows of dim {Dim} needs {n * Dim} values, {n} labels and {n} steps.");
        }

        _ids.AsSpan(offset, n).CopyTo(ids);
        CopyChunked(_valueChunks, Dim, offset, n, values);
        TensorPrimitives.ConvertChecked<int, long>(_steps.AsSpan(offset, n), steps);

        if (_labels is null)
        {
            labels[..n].Clear();
        }
        else
        {
            _labels.AsSpan(offset, n).CopyTo(labels);
        }

        return n;
    }

    /// <summary>
    /// Copies the rows of <paramref name="ids"/> into <paramref name="destination"/> without creating any: a row that
    /// does not exist gets the initial values it would be created with and <c>found[i] = false</c>. Returns how many exist.
    /// </summary>
    public int Peek(ReadOnlySpan<long> ids, Span<float> destination, Span<bool> found)
    {
        if (destination.Length != ids.Length * Dim || found.Length != ids.Length)
        {
            throw new ArgumentException($"Peek of {ids.Length} rows of dim {Dim} needs {ids.Length * Dim} values and {ids.Length} flags.");
        }

        int hits = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            int slot = Find(ids[i]);
            var dest = destination.Slice(i * Dim, Dim);
            found[i] = slot >= 0;
            if (slot >= 0)
            {
                Row(slot).CopyTo(dest);
                hits++;
            }
            else
            {
                Initializer.Fill(ids[i], dest);
            }
        }

        return hits;
    }

    /// <summary>
    /// Adds to <paramref name="exact"/> the ids whose label equals <paramref name="label"/> (ordinal) and to
    /// <paramref name="ignoringCase"/> those equal ignoring case but not exactly. A linear scan: lookups are rare.
    /// </summary>
    public void FindLabel(string label, List<long> exact, List<long> ignoringCase)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(exact);
        ArgumentNullException.ThrowIfNull(ignoringCase);
        if (_labels is null)
        {
            return;
        }

        for (int slot = 0; slot < Count; slot++)
        {
            string? l = _labels[slot];
            if (l is null)
            {
                continue;
            }

            if (string.Equals(l, label, StringComparison.Ordinal))
            {
                exact.Add(_ids[slot]);
            }
            else if (string.Equals(l, label, StringComparison.OrdinalIgnoreCase))
            {
                ignoringCase.Add(_ids[slot]);
            }
        }
    }

    /// <summary>Sets the label of row <paramref name="id"/> (creating the row if needed).</summary>
    public void SetLabel(long id, string? label)
    {
        int slot = GetOrCreate(id);
        _labels ??= new string?[_capacity];
        _labels[slot] = label;
    }

    /// <summary>The label of row <paramref name="slot"/>, or null.</summary>
    public string? LabelAt(int slot) => _labels is null ? null : _labels[slot];

    /// <summary>A copy of every value, state, id, step count and label, to restore later with <see cref="Restore"/>.</summary>
    public Snapshot TakeSnapshot()
    {
        int n = Count;
        var steps = new long[n];
        TensorPrimitives.ConvertChecked<int, long>(_steps.AsSpan(0, n), steps);

        var state = new float[(long)n * _stateWidth];
        CopyChunked(_stateChunks, _stateWidth, 0, n, state);
        return new Snapshot(_ids.AsSpan(0, n).ToArray(), CopyValues(), state, steps, _labels?.AsSpan(0, n).ToArray(), TotalSteps);
    }

    /// <summary>Replaces every row with those of <paramref name="snapshot"/>.</summary>
    public void Restore(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        int n = snapshot.Ids.Length;
        if (snapshot.Values.Length != n * Dim || snapshot.State.Length != n * Dim * _slots)
        {
            throw new ArgumentException($"Snapshot of {n} rows does not match dim {Dim} and {_slots} state slots.");
        }

        _index.Clear();
        _labels = null;
        Generation++;
        EnsureCapacity(n, exact: true);
        for (int i = 0; i < n; i++)
        {
            int slot = _index.GetOrAdd(snapshot.Ids[i], _ids, out _);
            _ids[slot] = snapshot.Ids[i];
        }

        for (int start = 0; start < n; start += ChunkRows)
        {
            int rows = Math.Min(ChunkRows, n - start);
            snapshot.Values.AsSpan(start * Dim, rows * Dim).CopyTo(_valueChunks[start >> ChunkShift]);
            snapshot.State.AsSpan(start * _stateWidth, rows * _stateWidth).CopyTo(_stateChunks[start >> ChunkShift]);
        }
        for (int slot = 0; slot < n; slot++)
        {
            _steps[slot] = (int)Math.Clamp(snapshot.Steps[slot], 0, int.MaxValue);
        }

        _normsStale = true;
        if (snapshot.Labels is not null)
        {
            _labels = new string?[_capacity];
            snapshot.Labels.CopyTo(_labels.AsSpan());
        }

        TotalSteps = snapshot.TotalSteps;
    }

    /// <summary>Removes every row.</summary>
    public void Clear()
    {
        Generation++;
        _index.Clear();
        _labels = null;
        TotalSteps = 0;
    }

    /// <summary>Key of <see cref="Exception.Data"/> that says why a push was refused: length, non_finite or duplicate.</summary>
    public const string RefusalReasonKey = "ps.refusal";

    private static ArgumentException Refused(string reason, string message)
    {
        var e = new ArgumentException(message);
        e.Data[RefusalReasonKey] = reason;
        return e;
    }

    /// <summary>Refuses rows whose values are not <c>ids × dim</c> long or hold a NaN or infinity (a push's or a write's).</summary>
    private void CheckRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, string verb, string noun, string where)
    {
        if (values.Length != ids.Length * Dim)
        {
            string what = noun == "value" ? "values" : noun + " values";
            throw Refused("length", $"{verb} to {where} refused: {values.Length} {what} for {ids.Length} rows of dim {Dim} (expected {(long)ids.Length * Dim}). No row was changed.");
        }

        int bad = FiniteCheck.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            throw Refused("non_finite", $"{verb} to {where} refused: {noun} of row id {ids[bad / Dim]} (position {bad / Dim}, component {bad % Dim}) is {values[bad]}; NaN and infinity are not accepted. No row was changed.");
        }
    }

    private Span<float> MutableRow(int slot) => _valueChunks[slot >> ChunkShift].AsSpan((slot & ChunkMask) * Dim, Dim);

    private Span<float> StateOf(int slot) => _stateChunks[slot >> ChunkShift].AsSpan((slot & ChunkMask) * _stateWidth, _stateWidth);

    /// <summary>Copies the <paramref name="width"/>-float records of slots <paramref name="start"/>..+<paramref name="count"/> out of <paramref name="chunks"/>.</summary>
    private static void CopyChunked(float[][] chunks, int width, int start, int count, Span<float> destination)
    {
        int done = 0;
        while (done < count)
        {
            int slot = start + done;
            int rows = Math.Min(count - done, ChunkRows - (slot & ChunkMask));
            chunks[slot >> ChunkShift].AsSpan((slot & ChunkMask) * width, rows * width).CopyTo(destination.Slice(done * width, rows * width));
            done += rows;
        }
    }

    /// <summary>Adds chunks of values and state until <paramref name="rows"/> rows fit; existing chunks stay where they are.</summary>
    private void AddChunks(int rows)
    {
        int needed = (int)(((long)rows + ChunkRows - 1) >> ChunkShift);
        if (needed <= _chunks)
        {
            return;
        }

        if (needed > _valueChunks.Length)
        {
            int length = Math.Max(needed, _valueChunks.Length * 2);
            Array.Resize(ref _valueChunks, length);
            Array.Resize(ref _stateChunks, length);
        }

        for (; _chunks < needed; _chunks++)
        {
            // Uninitialized: a row's values and state are written when it is created, before anything reads them.
            _valueChunks[_chunks] = GC.AllocateUninitializedArray<float>(ChunkRows * Dim, pinned: true);
            _stateChunks[_chunks] = _stateWidth == 0 ? [] : GC.AllocateUninitializedArray<float>(ChunkRows * _stateWidth, pinned: true);
        }
    }

    private void CheckNoDuplicates(ReadOnlySpan<long> ids, ReadOnlySpan<int> slots, string where)
    {
        // Steps are only touched after this check, so a negative mark is free to use and is always undone.
        int dup = -1;
        int i = 0;
        for (; i < slots.Length; i++)
        {
            ref int s = ref _steps[slots[i]];
            if (s < 0)
            {
                dup = i;
                break;
            }

            s = ~s;
        }

        for (int j = 0; j < i; j++)
        {
            ref int s = ref _steps[slots[j]];
            s = ~s;
        }

        if (dup >= 0)
        {
            throw Refused("duplicate", $"Push to {where} refused: row id {ids[dup]} appears more than once (again at position {dup}); sum its gradients before pushing. No row was changed.");
        }
    }

    private void EnsureCapacity(int rows, bool exact = false)
    {
        if (rows <= _capacity)
        {
            return;
        }

        // The per-row arrays grow by a thirty-second (at least 256 rows): they stay within ~1.03x of the rows they hold
        // and are a small fraction of a row's bytes, so copying them as they grow is cheap. A restore knows its size
        // and allocates it exactly. Values and state only gain chunks.
        int next = exact ? rows : Math.Max(rows, _capacity + Math.Max(MinCapacity, _capacity / 32));
        AddChunks(next);
        Array.Resize(ref _ids, next);
        Array.Resize(ref _steps, next);
        Array.Resize(ref _norms, next);
        if (_labels is not null)
        {
            Array.Resize(ref _labels, next);
        }

        _capacity = next;
    }

    /// <summary>A copy of a store's rows.</summary>
    public sealed record Snapshot(long[] Ids, float[] Values, float[] State, long[] Steps, string?[]? Labels, long TotalSteps)
    {
        /// <summary>Bytes of its ids, values, state and step counts (labels left out).</summary>
        public long Bytes => ((Values.LongLength + State.LongLength) * sizeof(float)) + ((Ids.LongLength + Steps.LongLength) * sizeof(long));
    }
}
