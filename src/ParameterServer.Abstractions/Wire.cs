using System.Buffers;
using System.Runtime.InteropServices;

namespace ParameterServer.Abstractions;

/// <summary>
/// Rows travelling as one bulk byte block (<c>rows x dim</c> little-endian floats, row-major), never as
/// <c>float[]</c> element by element. Immutable once sent: neither side writes to <see cref="Data"/> afterwards.
/// </summary>
/// <remarks>
/// A block on a hot path may hold an array rented from <see cref="ArrayPool{T}.Shared"/>, longer than its
/// <see cref="Length"/>: the step client's gradient blocks (<see cref="Rent"/>, given back by the sender once the
/// push is acknowledged) and every block a codec reads off the wire (<see cref="FromWire"/>, given back by the
/// receiver once it has copied the values out). <see cref="Return"/> gives the array back at most once; a block that
/// is never given back is simply collected.
/// </remarks>
// Serialized by RowBlockCodec (WireCodecs.cs): the values are copied in bulk and read into a pooled array.
[Immutable, Alias("ps.RowBlock")]
public sealed class RowBlock
{
    private int _returned;

    /// <summary>Creates a block over <paramref name="data"/>, sent to another process as <paramref name="wire"/>.</summary>
    public RowBlock(int rows, int dim, byte[] data, WireValues wire = WireValues.Float32)
        : this(rows, dim, data, data.Length, pooled: false, fromWire: false, wire)
    {
    }

    private RowBlock(int rows, int dim, byte[] data, int length, bool pooled, bool fromWire, WireValues wire = WireValues.Float32, bool returnsWhenWritten = false)
    {
        ReturnsWhenWritten = returnsWhenWritten;
        Rows = rows;
        Dim = dim;
        Data = data;
        Length = length;
        Pooled = pooled;
        FromWire = fromWire;
        Wire = wire;
    }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Values per row.</summary>
    public int Dim { get; }

    /// <summary>The array holding the values in its first <see cref="Length"/> bytes (a pooled array may be longer).</summary>
    public byte[] Data { get; }

    /// <summary>Bytes of values (float32 in memory, whatever <see cref="Wire"/> says).</summary>
    public int Length { get; }

    /// <summary>
    /// How the values travel when the block is sent to another process; in memory they are always float32, and a
    /// block read off the wire holds float32 again (a call within one process passes the block itself, unchanged).
    /// </summary>
    public WireValues Wire { get; }

    /// <summary>Whether <see cref="Data"/> was rented from the shared pool.</summary>
    public bool Pooled { get; }

    /// <summary>
    /// Whether the block is one answer's (<see cref="RentAnswer"/>): its array goes back to the pool as soon as a codec
    /// has written it to the wire, or when a receiver in the same process, which got the block itself, gives it back.
    /// </summary>
    public bool ReturnsWhenWritten { get; }

    /// <summary>Whether a codec read this block off the wire: its receiver owns it and gives it back when done.</summary>
    public bool FromWire { get; }

    /// <summary>The values as bytes.</summary>
    public ReadOnlySpan<byte> Bytes => Data.AsSpan(0, Length);

    /// <summary>The values as floats.</summary>
    public ReadOnlySpan<float> Values => MemoryMarshal.Cast<byte, float>(Bytes);

    /// <summary>Copies <paramref name="values"/> into a new block.</summary>
    public static RowBlock From(ReadOnlySpan<float> values, int rows, int dim)
    {
        var data = GC.AllocateUninitializedArray<byte>(values.Length * sizeof(float));
        MemoryMarshal.AsBytes(values).CopyTo(data);
        return new RowBlock(rows, dim, data);
    }

    /// <summary>
    /// A block of <paramref name="rows"/> × <paramref name="dim"/> floats over a pooled array, to be filled through
    /// <see cref="Writable"/> before it is sent, and given back (<see cref="Return"/>) by its sender once no call can
    /// send it again.
    /// </summary>
    public static RowBlock Rent(int rows, int dim, WireValues wire = WireValues.Float32) => Rented(rows, dim, wire, returnsWhenWritten: false);

    /// <summary>
    /// A block of <paramref name="rows"/> × <paramref name="dim"/> floats over a pooled array for one answer, to be filled
    /// through <see cref="Writable"/> and returned from a grain call, and never read by its sender again: its array
    /// goes back to the pool once a codec wrote it (<see cref="ReturnsWhenWritten"/>). A caller in the same process
    /// gets the block itself and gives it back (<see cref="Return"/>) when done, or lets it be collected.
    /// </summary>
    public static RowBlock RentAnswer(int rows, int dim, WireValues wire = WireValues.Float32) => Rented(rows, dim, wire, returnsWhenWritten: true);

    private static RowBlock Rented(int rows, int dim, WireValues wire, bool returnsWhenWritten)
    {
        int length = checked(rows * dim * sizeof(float));
        return new RowBlock(rows, dim, ArrayPool<byte>.Shared.Rent(length), length, pooled: true, fromWire: false, wire, returnsWhenWritten);
    }

    /// <summary>A block a codec reads <paramref name="length"/> bytes of values into (pooled; see <see cref="FromWire"/>).</summary>
    internal static RowBlock ForWire(int rows, int dim, int length) =>
        new(rows, dim, ArrayPool<byte>.Shared.Rent(length), length, pooled: true, fromWire: true);

    /// <summary>
    /// The same values over the same array, sent on as <paramref name="wire"/> (a silo passing a block it received on
    /// to another process). The new block never gives the array back: it is collected with it.
    /// </summary>
    public RowBlock SentAs(WireValues wire) => wire == Wire ? this : new RowBlock(Rows, Dim, Data, Length, pooled: false, fromWire: false, wire);

    /// <summary>The values of a block just rented, to fill before it is sent.</summary>
    public Span<float> Writable => MemoryMarshal.Cast<byte, float>(Data.AsSpan(0, Length));

    /// <summary>
    /// Gives a pooled array back, once: call it only when nothing will read this block again (a block another call
    /// may still send, or still being read by a grain, must not be given back). Nothing for a block that is not pooled.
    /// </summary>
    public void Return()
    {
        if (Pooled && Interlocked.Exchange(ref _returned, 1) == 0)
        {
            ArrayPool<byte>.Shared.Return(Data);
        }
    }
}

/// <summary>
/// How row values travel between processes. In memory, in checkpoints and within one process they are always float32.
/// </summary>
[GenerateSerializer, Alias("ps.WireValues")]
public enum WireValues
{
    /// <summary>Little-endian float32, exact: 4 bytes a value (the default).</summary>
    Float32 = 0,

    /// <summary>
    /// bfloat16 (the upper half of a float32, rounded to nearest even): 2 bytes a value, a relative error of at most
    /// 2^-8 per value; NaN and infinities keep their kind, so a receiver still refuses them.
    /// </summary>
    BFloat16 = 1,
}

/// <summary>What a <see cref="WireValues"/> costs on the wire.</summary>
public static class WireValuesExtensions
{
    /// <summary>Bytes one value takes on the wire: 4 for float32, 2 for bfloat16.</summary>
    public static int BytesPerValue(this WireValues wire) => wire == WireValues.BFloat16 ? sizeof(ushort) : sizeof(float);
}

/// <summary>A pull of rows by id from one shard. Missing rows are created with their deterministic initial values.</summary>
// Serialized by PullRequestCodec (WireCodecs.cs): the ids travel as one block of raw little-endian longs.
[Immutable, Alias("ps.PullRequest")]
public sealed record PullRequest(long[] Ids);

/// <summary>
/// Gradients of distinct rows pushed to one shard, summed per row by the worker. The shard applies its optimizer
/// once per row, or refuses the whole push (wrong length, NaN or infinity, a repeated id).
/// </summary>
// Serialized by PushRequestCodec (WireCodecs.cs): ids and gradients as two bulk blocks.
[Immutable, Alias("ps.PushRequest")]
public sealed record PushRequest(long[] Ids, RowBlock Gradients);

/// <summary>Labels for rows (for example movie titles).</summary>
[GenerateSerializer, Immutable, Alias("ps.LabelBatch")]
public sealed record LabelBatch([property: Id(0)] long[] Ids, [property: Id(1)] string[] Labels);

/// <summary>What one shard holds.</summary>
[GenerateSerializer, Immutable, Alias("ps.ShardInfo")]
public sealed record ShardInfo(
    [property: Id(0)] int Index,
    [property: Id(1)] long Rows,
    [property: Id(2)] long Bytes,
    [property: Id(3)] long OptimizerSteps,
    [property: Id(4)] string Silo,
    [property: Id(5)] string? CheckpointError = null,
    [property: Id(6)] string? Address = null,
    [property: Id(7)] string? Gateway = null,
    [property: Id(8)] string? StepSocket = null);

/// <summary>A checkpoint a shard wrote.</summary>
[GenerateSerializer, Immutable, Alias("ps.CheckpointResult")]
public sealed record CheckpointResult(
    [property: Id(0)] int Shard,
    [property: Id(1)] long Rows,
    [property: Id(2)] long OptimizerSteps,
    [property: Id(3)] string Path,
    [property: Id(4)] string Silo);

/// <summary>What a table holds, summed over its shards.</summary>
[GenerateSerializer, Immutable, Alias("ps.TableInfo")]
public sealed record TableInfo(
    [property: Id(0)] TableSpec Spec,
    [property: Id(1)] long Rows,
    [property: Id(2)] long Bytes,
    [property: Id(3)] long OptimizerSteps,
    [property: Id(4)] ShardInfo[] Shards,
    [property: Id(5)] Dictionary<string, string> Metadata);

/// <summary>
/// The size of the buffer blocks of the Orleans socket transport, which the silos (<c>Orleans:Messaging:TransportBlockSize</c>)
/// and the console (<c>Orleans__Messaging__TransportBlockSize</c>) set. The transport reads a socket into one block at a
/// time, so the block size bounds the bytes per receive call: with Orleans' own 4 KiB blocks a 32 KiB push costs eight
/// receive calls. Default 64 KiB; <see cref="OrleansDefault"/> keeps Orleans' own pool.
/// </summary>
public static class TransportBlockSize
{
    /// <summary>Orleans' own block size: 4 KiB, Orleans' pool unchanged.</summary>
    public const int OrleansDefault = 4096;

    /// <summary>The default: 64 KiB.</summary>
    public const int Default = 64 * 1024;

    /// <summary>The largest accepted: 1 MiB.</summary>
    public const int Max = 1024 * 1024;

    /// <summary>Whether <paramref name="bytes"/> is accepted: a multiple of 4 KiB from 4 KiB to 1 MiB.</summary>
    public static bool IsValid(int bytes) => bytes >= OrleansDefault && bytes <= Max && bytes % OrleansDefault == 0;

    /// <summary>The error for a refused <paramref name="bytes"/> set by <paramref name="setting"/>.</summary>
    public static string Refusal(string setting, string bytes) =>
        $"{setting} = '{bytes}' is not a block size in bytes: a multiple of 4096 from 4096 (Orleans' own) to 1048576.";
}
