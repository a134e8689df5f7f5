using System.Runtime.InteropServices;

namespace ParameterServer.Abstractions;

/// <summary>
/// Rows travelling as one bulk byte block (<c>rows x dim</c> little-endian floats, row-major), never as
/// <c>float[]</c> element by element. Immutable once sent: neither side writes to <see cref="Data"/> afterwards.
/// </summary>
// Serialized by RowBlockCodec (WireCodecs.cs): the values are copied in bulk and read into an uninitialized array.
[Immutable, Alias("ps.RowBlock")]
public sealed class RowBlock
{
    /// <summary>Creates a block over <paramref name="data"/>.</summary>
    public RowBlock(int rows, int dim, byte[] data)
    {
        Rows = rows;
        Dim = dim;
        Data = data;
    }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Values per row.</summary>
    public int Dim { get; }

    /// <summary>The values as bytes.</summary>
    public byte[] Data { get; }

    /// <summary>The values as floats.</summary>
    public ReadOnlySpan<float> Values => MemoryMarshal.Cast<byte, float>(Data);

    /// <summary>Copies <paramref name="values"/> into a new block.</summary>
    public static RowBlock From(ReadOnlySpan<float> values, int rows, int dim)
    {
        var data = GC.AllocateUninitializedArray<byte>(values.Length * sizeof(float));
        MemoryMarshal.AsBytes(values).CopyTo(data);
        return new RowBlock(rows, dim, data);
    }
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
    [property: Id(4)] string Silo);

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
