using System.Runtime.InteropServices;
using Google.Protobuf;

namespace ParameterServer.Api;

/// <summary>Packed little-endian arrays in protobuf <c>bytes</c> fields: int64 ids and float32 values.</summary>
internal static class WireArrays
{
    static WireArrays()
    {
        // The packed layout is little-endian; every platform .NET 10 runs the silo on is.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("The gRPC API's packed arrays need a little-endian machine.");
        }
    }

    /// <summary>The ids of <paramref name="field"/>, checked: whole int64s, at least one, at most <paramref name="maxIds"/>.</summary>
    public static long[] Ids(ByteString field, string what, int maxIds)
    {
        if (field.Length % sizeof(long) != 0)
        {
            throw new ArgumentException($"{what}: ids hold {field.Length} bytes, not a whole number of little-endian int64 (8 bytes each).");
        }

        int n = field.Length / sizeof(long);
        if (n == 0)
        {
            throw new ArgumentException($"{what}: no ids.");
        }

        if (n > maxIds)
        {
            throw new TooManyIdsException($"{what}: {n:N0} ids; a request carries at most {maxIds:N0} (Grpc:MaxIds).");
        }

        return MemoryMarshal.Cast<byte, long>(field.Span).ToArray();
    }

    /// <summary>The float32 values of <paramref name="field"/>, which must hold exactly <paramref name="count"/> of them.</summary>
    public static float[] Floats(ByteString field, int count, string what)
    {
        if (field.Length != (long)count * sizeof(float))
        {
            throw new ArgumentException($"{what}: {field.Length} bytes, expected {count} little-endian float32 ({(long)count * sizeof(float)} bytes).");
        }

        return MemoryMarshal.Cast<byte, float>(field.Span).ToArray();
    }

    /// <summary>Packs <paramref name="values"/> into a <c>bytes</c> field.</summary>
    public static ByteString Pack(ReadOnlySpan<float> values) => ByteString.CopyFrom(MemoryMarshal.AsBytes(values));

    /// <summary>
    /// The distinct ids of <paramref name="ids"/> in first-seen order, and for each id its position among them (the
    /// parameter server's calls take distinct rows; a request may repeat one).
    /// </summary>
    public static (long[] Distinct, int[] Slot) Distinct(long[] ids)
    {
        var seen = new Dictionary<long, int>(ids.Length);
        var slot = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if (!seen.TryGetValue(ids[i], out int s))
            {
                s = seen.Count;
                seen.Add(ids[i], s);
            }

            slot[i] = s;
        }

        if (seen.Count == ids.Length)
        {
            return (ids, slot);
        }

        var distinct = new long[seen.Count];
        foreach (var (id, s) in seen)
        {
            distinct[s] = id;
        }

        return (distinct, slot);
    }

    /// <summary>
    /// The rows of the request's ids from the rows of its distinct ids (<see cref="Distinct"/>): <paramref name="rows"/>
    /// itself when no id repeats.
    /// </summary>
    public static float[] Expand(float[] rows, int[] slot, int dim)
    {
        if (rows.Length == slot.Length * dim)
        {
            return rows;
        }

        var all = new float[slot.Length * dim];
        for (int i = 0; i < slot.Length; i++)
        {
            rows.AsSpan(slot[i] * dim, dim).CopyTo(all.AsSpan(i * dim, dim));
        }

        return all;
    }
}
