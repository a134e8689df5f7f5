using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Storage;

/// <summary>
/// An open-addressing map from 64-bit row id to a dense slot number (linear probing, load factor at most 1/2).
/// Slots are handed out in order 0, 1, 2, ... so they index the shard's contiguous arenas directly.
/// </summary>
public sealed class RowIndex
{
    private const ulong Salt = 0x5851F42D4C957F2DUL;
    private long[] _keys;
    private int[] _slots;
    private int _shift;

    /// <summary>Creates an empty index with room for about <paramref name="capacity"/> rows before it grows.</summary>
    public RowIndex(int capacity = 1024)
    {
        int size = 16;
        while (size < capacity * 2)
        {
            size <<= 1;
        }

        _keys = new long[size];
        _slots = new int[size];
        Array.Fill(_slots, -1);
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
    }

    /// <summary>Number of rows in the index.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes held by the index's tables.</summary>
    public long Bytes => (_keys.LongLength * sizeof(long)) + (_slots.LongLength * sizeof(int));

    /// <summary>The slot of <paramref name="id"/>, or -1 when it has none.</summary>
    public int Find(long id)
    {
        int mask = _keys.Length - 1;
        for (int p = Home(id); ; p = (p + 1) & mask)
        {
            int slot = _slots[p];
            if (slot < 0)
            {
                return -1;
            }

            if (_keys[p] == id)
            {
                return slot;
            }
        }
    }

    /// <summary>The slot of <paramref name="id"/>; when it has none, gives it slot <see cref="Count"/> and sets <paramref name="added"/>.</summary>
    public int GetOrAdd(long id, out bool added)
    {
        if ((Count + 1) * 2 > _keys.Length)
        {
            Grow();
        }

        int mask = _keys.Length - 1;
        for (int p = Home(id); ; p = (p + 1) & mask)
        {
            int slot = _slots[p];
            if (slot < 0)
            {
                _keys[p] = id;
                _slots[p] = Count;
                added = true;
                return Count++;
            }

            if (_keys[p] == id)
            {
                added = false;
                return slot;
            }
        }
    }

    /// <summary>Removes every row.</summary>
    public void Clear()
    {
        Array.Fill(_slots, -1);
        Count = 0;
    }

    private int Home(long id) => (int)(Mix64.Mix((ulong)id ^ Salt) >> _shift);

    private void Grow()
    {
        long[] oldKeys = _keys;
        int[] oldSlots = _slots;
        _keys = new long[oldKeys.Length * 2];
        _slots = new int[oldSlots.Length * 2];
        Array.Fill(_slots, -1);
        _shift--;
        int mask = _keys.Length - 1;
        for (int i = 0; i < oldKeys.Length; i++)
        {
            if (oldSlots[i] < 0)
            {
                continue;
            }

            int p = Home(oldKeys[i]);
            while (_slots[p] >= 0)
            {
                p = (p + 1) & mask;
            }

            _keys[p] = oldKeys[i];
            _slots[p] = oldSlots[i];
        }
    }
}
