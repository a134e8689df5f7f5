using System.Buffers;
using System.Runtime.InteropServices;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.WireProtocol;
using ParameterServer.Core.Kernels;

namespace ParameterServer.Abstractions;

/// <summary>
/// Codecs for the hot-path messages. Orleans' generated serializers write a <c>long[]</c> element by element as
/// variable-length integers and read a <c>byte[]</c> into a zeroed array; these write the ids and the values as raw
/// little-endian blocks (one copy each way) and read them into uninitialized arrays. Each message is one
/// length-prefixed field, so a reader that does not know it can still skip it. Layouts (all integers little-endian):
/// <list type="bullet">
/// <item><see cref="RowBlock"/>: rows (int32), dim (int32), then the values: <c>rows x dim</c> float32s, or as many
/// bfloat16s (<see cref="WireValues.BFloat16"/>: half the bytes), told apart by the payload's length. A reader always
/// makes float32 of them.</item>
/// <item><see cref="PullRequest"/>: the ids (int64 each).</item>
/// <item><see cref="PushRequest"/>: id count (int32), the ids, rows (int32), dim (int32), then the gradient bytes.</item>
/// </list>
/// The types are immutable, so a call inside one silo passes them by reference (see the copiers).
/// </summary>
internal static class WireCodecs
{
    internal static void WriteIds<TBufferWriter>(ref Writer<TBufferWriter> writer, long[] ids)
        where TBufferWriter : IBufferWriter<byte> => writer.Write(MemoryMarshal.AsBytes(ids.AsSpan()));

    internal static long[] ReadIds<TInput>(ref Reader<TInput> reader, uint count)
    {
        var ids = GC.AllocateUninitializedArray<long>((int)count);
        reader.ReadBytes(MemoryMarshal.AsBytes(ids.AsSpan()));
        return ids;
    }

    /// <summary>Values converted per piece, so a block becomes bfloat16 (or float32 again) in the buffers it travels in.</summary>
    private const int PieceValues = 2048;

    /// <summary>Bytes the values of <paramref name="block"/> take on the wire.</summary>
    internal static uint WireBytes(RowBlock block) => (uint)(block.Length / sizeof(float) * block.Wire.BytesPerValue());

    internal static void WriteBlock<TBufferWriter>(ref Writer<TBufferWriter> writer, RowBlock block)
        where TBufferWriter : IBufferWriter<byte>
    {
        writer.WriteInt32(block.Rows);
        writer.WriteInt32(block.Dim);
        if (block.Wire != WireValues.BFloat16)
        {
            writer.Write(block.Bytes);
        }
        else
        {
            WriteBFloat16(ref writer, block.Values);
        }

        if (block.ReturnsWhenWritten)
        {
            block.Return(); // an answer: its values are in the message now, and its sender never reads it again
        }
    }

    private static void WriteBFloat16<TBufferWriter>(ref Writer<TBufferWriter> writer, ReadOnlySpan<float> values)
        where TBufferWriter : IBufferWriter<byte>
    {
        // Rounded straight into the writer's buffer, a piece at a time: no second copy of the block.
        for (int i = 0; i < values.Length; i += PieceValues)
        {
            int n = Math.Min(PieceValues, values.Length - i);
            writer.EnsureContiguous(n * sizeof(ushort));
            BFloat16.FromSingle(values.Slice(i, n), MemoryMarshal.Cast<byte, ushort>(writer.WritableSpan[..(n * sizeof(ushort))]));
            writer.AdvanceSpan(n * sizeof(ushort));
        }
    }

    internal static RowBlock ReadBlock<TInput>(ref Reader<TInput> reader, uint dataBytes)
    {
        int rows = reader.ReadInt32();
        int dim = reader.ReadInt32();
        long values = (long)rows * dim;
        if (values <= 0 || dataBytes != values * sizeof(ushort))
        {
            // float32 (or a length that matches neither: the receiver's length check names it).
            var block = RowBlock.ForWire(rows, dim, (int)dataBytes);
            reader.ReadBytes(block.Data.AsSpan(0, block.Length));
            return block;
        }

        var widened = RowBlock.ForWire(rows, dim, checked((int)(values * sizeof(float))));
        var destination = MemoryMarshal.Cast<byte, float>(widened.Data.AsSpan(0, widened.Length));
        Span<ushort> piece = stackalloc ushort[PieceValues];
        for (int i = 0; i < destination.Length; i += PieceValues)
        {
            int n = Math.Min(PieceValues, destination.Length - i);
            if (reader.TryReadBytes(n * sizeof(ushort), out var span))
            {
                BFloat16.ToSingle(MemoryMarshal.Cast<byte, ushort>(span), destination.Slice(i, n));
            }
            else
            {
                reader.ReadBytes(MemoryMarshal.AsBytes(piece[..n]));
                BFloat16.ToSingle(piece[..n], destination.Slice(i, n));
            }
        }

        return widened;
    }

    internal static InvalidOperationException Malformed(string message, string what) =>
        new($"Malformed {message} on the wire: {what}.");
}

/// <summary>
/// A message written as one length-prefixed field: the reference bookkeeping and the field header are here, the
/// payload in the subclass, which checks the payload's own layout.
/// </summary>
internal abstract class LengthPrefixedCodec<T> : IFieldCodec<T>
    where T : class
{
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, T? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        writer.WriteFieldHeader(fieldIdDelta, expectedType, typeof(T), WireType.LengthPrefixed);
        writer.WriteVarUInt32(PayloadBytes(value));
        WritePayload(ref writer, value);
    }

    public T ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.WireType == WireType.Reference)
        {
            return ReferenceCodec.ReadReference<T, TInput>(ref reader, field)!;
        }

        field.EnsureWireType(WireType.LengthPrefixed);
        uint length = reader.ReadVarUInt32();
        // The whole payload must be in the message before anything is allocated for it: a corrupt length cannot
        // make a reader allocate more than the message holds.
        reader.EnsureAvailable(length);
        var value = ReadPayload(ref reader, length);
        ReferenceCodec.RecordObject(reader.Session, value);
        return value;
    }

    protected abstract uint PayloadBytes(T value);

    protected abstract void WritePayload<TBufferWriter>(ref Writer<TBufferWriter> writer, T value)
        where TBufferWriter : IBufferWriter<byte>;

    protected abstract T ReadPayload<TInput>(ref Reader<TInput> reader, uint length);
}

/// <summary>Writes a <see cref="RowBlock"/>: rows, dim, values (see <see cref="WireCodecs"/>).</summary>
[RegisterSerializer]
internal sealed class RowBlockCodec : LengthPrefixedCodec<RowBlock>
{
    private const uint HeaderBytes = 2 * sizeof(int);

    protected override uint PayloadBytes(RowBlock value) => HeaderBytes + WireCodecs.WireBytes(value);

    protected override void WritePayload<TBufferWriter>(ref Writer<TBufferWriter> writer, RowBlock value) => WireCodecs.WriteBlock(ref writer, value);

    protected override RowBlock ReadPayload<TInput>(ref Reader<TInput> reader, uint length) => length >= HeaderBytes
        ? WireCodecs.ReadBlock(ref reader, length - HeaderBytes)
        : throw WireCodecs.Malformed("row block", $"{length} bytes is shorter than its {HeaderBytes}-byte header");
}

/// <summary>Writes a <see cref="PullRequest"/>: its ids as one block (see <see cref="WireCodecs"/>).</summary>
[RegisterSerializer]
internal sealed class PullRequestCodec : LengthPrefixedCodec<PullRequest>
{
    protected override uint PayloadBytes(PullRequest value) => (uint)value.Ids.Length * sizeof(long);

    protected override void WritePayload<TBufferWriter>(ref Writer<TBufferWriter> writer, PullRequest value) => WireCodecs.WriteIds(ref writer, value.Ids);

    protected override PullRequest ReadPayload<TInput>(ref Reader<TInput> reader, uint length) => length % sizeof(long) == 0
        ? new PullRequest(WireCodecs.ReadIds(ref reader, length / sizeof(long)))
        : throw WireCodecs.Malformed("pull request", $"{length} bytes is not a whole number of 8-byte ids");
}

/// <summary>Writes a <see cref="PushRequest"/>: id count, ids, then the gradient block (see <see cref="WireCodecs"/>).</summary>
[RegisterSerializer]
internal sealed class PushRequestCodec : LengthPrefixedCodec<PushRequest>
{
    private const uint HeaderBytes = 3 * sizeof(int);

    protected override uint PayloadBytes(PushRequest value) => HeaderBytes + ((uint)value.Ids.Length * sizeof(long)) + WireCodecs.WireBytes(value.Gradients);

    protected override void WritePayload<TBufferWriter>(ref Writer<TBufferWriter> writer, PushRequest value)
    {
        writer.WriteInt32(value.Ids.Length);
        WireCodecs.WriteIds(ref writer, value.Ids);
        WireCodecs.WriteBlock(ref writer, value.Gradients);
    }

    protected override PushRequest ReadPayload<TInput>(ref Reader<TInput> reader, uint length)
    {
        if (length < HeaderBytes)
        {
            throw WireCodecs.Malformed("push request", $"{length} bytes is shorter than its {HeaderBytes}-byte header");
        }

        int count = reader.ReadInt32();
        ulong idBytes = (ulong)(uint)count * sizeof(long);
        if (count < 0 || idBytes > length - HeaderBytes)
        {
            throw WireCodecs.Malformed("push request", $"{count} ids do not fit in {length} bytes");
        }

        var ids = WireCodecs.ReadIds(ref reader, (uint)count);
        return new PushRequest(ids, WireCodecs.ReadBlock(ref reader, length - HeaderBytes - (uint)idBytes));
    }
}

/// <summary>Copies an immutable message by handing out the message itself.</summary>
internal abstract class ImmutableCopier<T> : IDeepCopier<T>
    where T : class
{
    public T? DeepCopy(T? input, CopyContext context) => input;
}

/// <summary>Row blocks are immutable.</summary>
[RegisterCopier]
internal sealed class RowBlockCopier : ImmutableCopier<RowBlock>;

/// <summary>Pull requests are immutable.</summary>
[RegisterCopier]
internal sealed class PullRequestCopier : ImmutableCopier<PullRequest>;

/// <summary>Push requests are immutable.</summary>
[RegisterCopier]
internal sealed class PushRequestCopier : ImmutableCopier<PushRequest>;
