namespace ParameterServer.Abstractions;

/// <summary>
/// Whole-row access to one shard, for export, import and fold-in: read its rows page by page, and overwrite rows
/// with given values. Training does not use these: it pulls rows and pushes gradients.
/// </summary>
[Alias("ps.IShardRows")]
public interface IShardRows : IGrainWithStringKey
{
    /// <summary>
    /// Up to <see cref="ScanRequest.MaxRows"/> rows (at most <see cref="RowLimits.MaxPageBytes"/> of values) from
    /// position <see cref="ScanRequest.Offset"/> of the shard's arena, in arena order. New rows are appended, so
    /// paging on with <see cref="RowPage.NextOffset"/> sees every row that existed when the scan began.
    /// </summary>
    [Alias("Scan")]
    Task<RowPage> Scan(ScanRequest request);

    /// <summary>
    /// Sets the values of distinct rows, creating missing ones; their optimizer state and step count start afresh. The whole write
    /// is checked first (length, NaN or infinity, a repeated id) and refused with an <see cref="ArgumentException"/>
    /// that says where, changing no row.
    /// </summary>
    [Alias("Write")]
    Task Write(WriteRequest request);
}

/// <summary>Limits of row pages and writes.</summary>
public static class RowLimits
{
    /// <summary>Most bytes of values in one page or one write to one shard: 8 MiB.</summary>
    public const int MaxPageBytes = 8 << 20;

    /// <summary>Rows of dim <paramref name="dim"/> that fit in one page.</summary>
    public static int RowsPerPage(int dim) => Math.Max(1, MaxPageBytes / (Math.Max(1, dim) * sizeof(float)));
}

/// <summary>A page of a shard's rows from <paramref name="Offset"/>, at most <paramref name="MaxRows"/>.</summary>
/// <param name="Offset">Arena position to start at (0 for the first page).</param>
/// <param name="MaxRows">Most rows wanted; the shard caps it at <see cref="RowLimits.RowsPerPage"/>.</param>
[GenerateSerializer, Immutable, Alias("ps.ScanRequest")]
public sealed record ScanRequest([property: Id(0)] int Offset, [property: Id(1)] int MaxRows);

/// <summary>A page of rows: ids, values as one block, labels and optimizer steps, in the same order.</summary>
/// <param name="Ids">Row ids.</param>
/// <param name="Values">Values, <c>Ids.Length x dim</c>.</param>
/// <param name="Labels">Labels (null where a row has none).</param>
/// <param name="Steps">Optimizer steps applied to each row.</param>
/// <param name="NextOffset">Offset of the next page, or -1 when this page ends the shard.</param>
[GenerateSerializer, Immutable, Alias("ps.RowPage")]
public sealed record RowPage(
    [property: Id(0)] long[] Ids,
    [property: Id(1)] RowBlock Values,
    [property: Id(2)] string?[] Labels,
    [property: Id(3)] long[] Steps,
    [property: Id(4)] int NextOffset);

/// <summary>Values for distinct rows of one shard.</summary>
/// <param name="Ids">Row ids.</param>
/// <param name="Values">Their values, <c>Ids.Length x dim</c>.</param>
[GenerateSerializer, Immutable, Alias("ps.WriteRequest")]
public sealed record WriteRequest([property: Id(0)] long[] Ids, [property: Id(1)] RowBlock Values);
