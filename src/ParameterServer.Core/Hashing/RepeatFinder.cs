using System.Buffers;

namespace ParameterServer.Core.Hashing;

/// <summary>Finds a repeated id in a batch without allocating per id (a pooled open-addressing set).</summary>
public static class RepeatFinder
{
    /// <summary>The position of the first id that already appeared earlier in <paramref name="ids"/>, or -1.</summary>
    public static int FirstRepeat(ReadOnlySpan<long> ids)
    {
        if (ids.Length < 2)
        {
            return -1;
        }

        int size = 16;
        while (size < ids.Length * 2)
        {
            size <<= 1;
        }

        int mask = size - 1;
        long[] keys = ArrayPool<long>.Shared.Rent(size);
        ulong[] used = ArrayPool<ulong>.Shared.Rent((size + 63) >> 6);
        try
        {
            Array.Clear(used, 0, (size + 63) >> 6);
            for (int i = 0; i < ids.Length; i++)
            {
                long id = ids[i];
                int slot = (int)(Mix64.Mix((ulong)id) & (ulong)mask);
                while ((used[slot >> 6] & (1UL << slot)) != 0)
                {
                    if (keys[slot] == id)
                    {
                        return i;
                    }

                    slot = (slot + 1) & mask;
                }

                used[slot >> 6] |= 1UL << slot;
                keys[slot] = id;
            }

            return -1;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(keys);
            ArrayPool<ulong>.Shared.Return(used);
        }
    }
}
