using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParameterServer.Embed.Bench;

/// <summary>
/// How fast this machine streams memory: a plain SIMD read loop (sum of every float) over a buffer as large as the
/// table, timed a few times, best kept. Query latencies are read against it: a scan can go no faster.
/// </summary>
internal static class MemoryBandwidth
{
    /// <summary>Bytes per second read by <paramref name="threads"/> threads over <paramref name="buffer"/> (best of <paramref name="repeats"/>).</summary>
    public static double Measure(float[] buffer, int threads, int repeats = 5)
    {
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            best = Math.Min(best, StreamOnce(buffer, threads));
        }

        return buffer.LongLength * sizeof(float) / best;
    }

    /// <summary>Seconds <paramref name="threads"/> threads take to read <paramref name="buffer"/> once, each its own contiguous part.</summary>
    public static double StreamOnce(float[] buffer, int threads)
    {
        var sw = Stopwatch.StartNew();
        if (threads <= 1)
        {
            Sink(Sum(buffer));
        }
        else
        {
            int chunk = (buffer.Length / threads) & ~7;
            var sums = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                int from = t * chunk, to = t == threads - 1 ? buffer.Length : from + chunk;
                sums[t] = Sum(buffer.AsSpan(from, to - from));
            });
            Sink(sums.Sum());
        }

        return sw.Elapsed.TotalSeconds;
    }

    private static float _sink;

    private static void Sink(float value) => _sink += value;

    private static float Sum(ReadOnlySpan<float> data)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return Sum512(data);
        }

        var a0 = Vector256<float>.Zero;
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        ref float d = ref MemoryMarshal.GetReference(data);
        int i = 0;
        for (; i <= data.Length - 32; i += 32)
        {
            a0 += Vector256.LoadUnsafe(ref d, (nuint)i);
            a1 += Vector256.LoadUnsafe(ref d, (nuint)(i + 8));
            a2 += Vector256.LoadUnsafe(ref d, (nuint)(i + 16));
            a3 += Vector256.LoadUnsafe(ref d, (nuint)(i + 24));
        }

        float s = Vector256.Sum(a0 + a1 + a2 + a3);
        for (; i < data.Length; i++)
        {
            s += data[i];
        }

        return s;
    }

    /// <summary>The same read with 64-byte loads, one cache line each, where the machine has them (fewer instructions per line).</summary>
    private static float Sum512(ReadOnlySpan<float> data)
    {
        var a0 = Vector512<float>.Zero;
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        ref float d = ref MemoryMarshal.GetReference(data);
        int i = 0;
        for (; i <= data.Length - 64; i += 64)
        {
            a0 += Vector512.LoadUnsafe(ref d, (nuint)i);
            a1 += Vector512.LoadUnsafe(ref d, (nuint)(i + 16));
            a2 += Vector512.LoadUnsafe(ref d, (nuint)(i + 32));
            a3 += Vector512.LoadUnsafe(ref d, (nuint)(i + 48));
        }

        float s = Vector512.Sum(a0 + a1 + a2 + a3);
        for (; i < data.Length; i++)
        {
            s += data[i];
        }

        return s;
    }
}
