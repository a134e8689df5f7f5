using ParameterServer.Core.Hashing;
using ParameterServer.Core.Kernels;

namespace ParameterServer.Core.Storage;

/// <summary>
/// An open-addressing map from 64-bit row id to a dense slot number (linear probing, load factor at most 3/4).
/// Slots are handed out in order 0, 1, 2, ... so they index the shard's contiguous arenas directly. The table holds
/// slots only: a probe compares the id stored for that slot in the shard's own id arena (passed to each call), so the
/// index costs 4 bytes per table entry instead of 12, which keeps a resident row close to its values' floor.
/// </summary>
public sealed class RowIndex
{
    private const ulong Salt = 0x5851F42D4C957F2DUL;
    private int[] _slots;
    private int _shift;

    /// <summary>Creates an empty index with room for about <paramref name="capacity"/> rows before it grows.</summary>
    public RowIndex(int capacity = 1024)
    {
        int size = 16;
        while (size * 3L < capacity * 4L)
        {
            size <<= 1;
        }

        _slots = new int[size];
        Array.Fill(_slots, -1);
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
    }

    /// <summary>Number of rows.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes the table holds.</summary>
    public long Bytes => _slots.LongLength * sizeof(int);

    /// <summary>The slot of <paramref name="id"/>, or −1. <paramref name="ids"/>[slot] is the id of each slot.</summary>
    public int Find(long id, ReadOnlySpan<long> ids)
    {
        int mask = _slots.Length - 1;
        for (int p = Home(id); ; p = (p + 1) & mask)
        {
            int slot = _slots[p];
            if (slot < 0 || ids[slot] == id)
            {
                return slot;
            }
        }
    }

    /// <summary>
    /// The slot of <paramref name="id"/>, adding it as slot <see cref="Count"/> when absent (<paramref name="added"/>);
    /// the caller then stores the id at that slot of <paramref name="ids"/> before the next call.
    /// </summary>
    public int GetOrAdd(long id, ReadOnlySpan<long> ids, out bool added)
    {
        if ((Count + 1) * 4L > _slots.Length * 3L)
        {
            Grow(ids);
        }

        int mask = _slots.Length - 1;
        for (int p = Home(id); ; p = (p + 1) & mask)
        {
            int slot = _slots[p];
            if (slot < 0)
            {
                _slots[p] = Count;
                added = true;
                return Count++;
            }

            if (ids[slot] == id)
            {
                added = false;
                return slot;
            }
        }
    }

    /// <summary>
    /// Writes to <c>candidates[i]</c> the slot held by the home entry of <c>ids[i]</c> (−1 for an empty entry): the
    /// first slot a lookup of that id compares, which is its own slot unless linear probing moved it. A lookup is two
    /// dependent loads (the table, then the id of the slot found there), each usually a cache miss in a large shard;
    /// this prefetches the table entries of the whole batch first, so their misses overlap instead of queueing one id
    /// after another, and the caller can prefetch what the candidates point at (their ids, their rows). Changes nothing.
    /// </summary>
    public void Candidates(ReadOnlySpan<long> ids, Span<int> candidates)
    {
        int[] table = _slots;
        for (int i = 0; i < ids.Length; i++)
        {
            int home = Home(ids[i]);
            candidates[i] = home;
            Prefetch.Line(in table[home]);
        }

        for (int i = 0; i < ids.Length; i++)
        {
            candidates[i] = table[candidates[i]];
        }
    }

    /// <summary>
    /// Prefetches the id that a lookup of <paramref name="id"/> compares after its home entry (the slot of the next
    /// table entry, read from <paramref name="ids"/>): for an id whose home entry held another id. Changes nothing.
    /// </summary>
    public void PrefetchNextProbe(long id, ReadOnlySpan<long> ids)
    {
        int[] table = _slots;
        int slot = table[(Home(id) + 1) & (table.Length - 1)];
        if ((uint)slot < (uint)ids.Length)
        {
            Prefetch.Line(in ids[slot]);
        }
    }

    /// <summary>Removes every row.</summary>
    public void Clear()
    {
        Array.Fill(_slots, -1);
        Count = 0;
    }

    private int Home(long id) => (int)(Mix64.Mix((ulong)id ^ Salt) >> _shift);

    private void Grow(ReadOnlySpan<long> ids)
    {
        _slots = new int[_slots.Length * 2];
        Array.Fill(_slots, -1);
        _shift--;
        int mask = _slots.Length - 1;
        for (int slot = 0; slot < Count; slot++)
        {
            int p = Home(ids[slot]);
            while (_slots[p] >= 0)
            {
                p = (p + 1) & mask;
            }

            _slots[p] = slot;
        }
    }
}
