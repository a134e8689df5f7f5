using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ParameterServer.Core.Kernels;

/// <summary>Software prefetch: a hint that brings a cache line towards the core before a loop reads it.</summary>
public static class Prefetch
{
    /// <summary>
    /// Hints the CPU to bring the cache line holding <paramref name="value"/> into every cache level (x86
    /// <c>prefetcht0</c>; nothing where the CPU has none). A prefetch never faults, never waits and changes nothing,
    /// so it is safe on a managed reference even if the GC moves the object a moment later (the hint is then wasted).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line<T>(ref readonly T value)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.AsRef(in value)));
        }
    }

    /// <summary>
    /// <see cref="Line{T}"/> for every cache line of the <paramref name="count"/> elements starting at
    /// <paramref name="start"/> (a record that does not start on a line boundary ends on one line more).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Lines<T>(ref readonly T start, int count)
    {
        if (Sse.IsSupported && count > 0)
        {
            byte* first = (byte*)Unsafe.AsPointer(ref Unsafe.AsRef(in start));
            int bytes = count * Unsafe.SizeOf<T>();
            for (int b = 0; b < bytes; b += 64)
            {
                Sse.Prefetch0(first + b);
            }

            Sse.Prefetch0(first + bytes - 1);
        }
    }
}
