using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Orleans.Serialization;

namespace ParameterServer.Abstractions;

/// <summary>Which step call a <see cref="StepSocketRequest"/> makes (see <see cref="IStepService"/>).</summary>
public enum StepSocketCall : byte
{
    /// <summary><see cref="IStepService.Pull"/>.</summary>
    Pull = 1,

    /// <summary><see cref="IStepService.Push"/>.</summary>
    Push = 2,

    /// <summary><see cref="IStepService.PushPull"/>.</summary>
    PushPull = 3,
}

/// <summary>How a step call over a silo's step socket failed, so the caller throws what a grain call would have thrown.</summary>
public enum StepSocketError : byte
{
    /// <summary>Answered.</summary>
    None = 0,

    /// <summary>Refused for its content (an <see cref="ArgumentException"/>: bad values, no parts, an unknown table).</summary>
    Refused = 1,

    /// <summary>Something it named does not exist (a <see cref="KeyNotFoundException"/>).</summary>
    NotFound = 2,

    /// <summary>Failed in the silo for another reason (a shard elsewhere did not answer, the silo is stopping): worth another try.</summary>
    Failed = 3,
}

/// <summary>A step call as it travels over a silo's step socket: the same push and pull a grain call carries.</summary>
/// <param name="Call">Which call.</param>
/// <param name="Push">The push (of <see cref="StepSocketCall.Push"/> and <see cref="StepSocketCall.PushPull"/>).</param>
/// <param name="Pull">The pull (of <see cref="StepSocketCall.Pull"/> and <see cref="StepSocketCall.PushPull"/>).</param>
[GenerateSerializer, Immutable, Alias("ps.StepSocketRequest")]
public sealed record StepSocketRequest([property: Id(0)] StepSocketCall Call, [property: Id(1)] StepPush? Push, [property: Id(2)] StepPull? Pull);

/// <summary>The answer to a <see cref="StepSocketRequest"/>: the pulled rows, or how the call failed.</summary>
/// <param name="Rows">The rows (null for a push, or on failure).</param>
/// <param name="Error">How it failed, or <see cref="StepSocketError.None"/>.</param>
/// <param name="Message">The failure's message.</param>
[GenerateSerializer, Immutable, Alias("ps.StepSocketAnswer")]
public sealed record StepSocketAnswer([property: Id(0)] StepRows? Rows, [property: Id(1)] StepSocketError Error = StepSocketError.None, [property: Id(2)] string? Message = null);

/// <summary>
/// Frames of a silo's step socket, the direct path of a worker's steps to a silo in another process: each frame is a
/// header of two little-endian int32s (the payload's length, and the call's number, which its answer repeats) and
/// the payload, a <see cref="StepSocketRequest"/> or <see cref="StepSocketAnswer"/> written by Orleans' serializer
/// with the project's codecs (ids and values as raw blocks, bfloat16 where the step asked for it). A connection
/// carries any number of calls at once; answers come back in any order. Why: over loopback a step's grain call paid
/// for Orleans' messaging around the same payload (message headers, a second copy of the body into the socket's pipe,
/// hand-offs between the gateway's, the scheduler's and the thread pool's threads); see README's throughput section.
/// </summary>
public static class StepSocketFrames
{
    /// <summary>Bytes of a frame's header.</summary>
    public const int HeaderBytes = 8;

    /// <summary>Largest payload a frame may carry: 64 MiB (a step client sends larger steps as shard calls).</summary>
    public const int MaxPayloadBytes = 64 << 20;

    /// <summary>Appends one frame holding <paramref name="value"/> to <paramref name="buffer"/>.</summary>
    public static void Write<T>(ArrayBufferWriter<byte> buffer, Serializer serializer, int call, T value)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(serializer);
        int start = buffer.WrittenCount;
        buffer.GetSpan(HeaderBytes);
        buffer.Advance(HeaderBytes);
        serializer.Serialize(value, buffer);
        int length = buffer.WrittenCount - start - HeaderBytes;
        if (length > MaxPayloadBytes)
        {
            throw new ArgumentException($"A step of {length:N0} bytes is above the step socket's limit of {MaxPayloadBytes:N0} bytes.");
        }

        // The buffer may have grown while the payload was written, so the header is written where it is now.
        var header = MemoryMarshal.AsMemory(buffer.WrittenMemory).Span.Slice(start, HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header, length);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], call);
    }

    /// <summary>The payload length a frame's header announces; throws <see cref="InvalidDataException"/> for one no frame may have.</summary>
    public static int PayloadLength(ReadOnlySpan<byte> header)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(header);
        return length is < 0 or > MaxPayloadBytes
            ? throw new InvalidDataException($"a frame announces {length:N0} bytes (at most {MaxPayloadBytes:N0})")
            : length;
    }

    /// <summary>The call number in a frame's header.</summary>
    public static int CallNumber(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadInt32LittleEndian(header[4..]);

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>: false when it does not hold one yet.
    /// Throws <see cref="InvalidDataException"/> for a length that no frame may have.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out int call, out ReadOnlySequence<byte> payload)
    {
        (call, payload) = (0, default);
        if (buffer.Length < HeaderBytes)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        buffer.Slice(0, HeaderBytes).CopyTo(header);
        int length = PayloadLength(header);
        if (buffer.Length < HeaderBytes + (long)length)
        {
            return false;
        }

        call = CallNumber(header);
        payload = buffer.Slice(HeaderBytes, length);
        buffer = buffer.Slice(HeaderBytes + (long)length);
        return true;
    }
}
