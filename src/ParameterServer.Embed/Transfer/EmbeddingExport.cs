using System.Diagnostics;
using ParameterServer.Client;
using ParameterServer.Core.Export;

namespace ParameterServer.Embed.Transfer;

/// <summary>What an export wrote.</summary>
/// <param name="Table">The table.</param>
/// <param name="Format">The format.</param>
/// <param name="Rows">Rows written.</param>
/// <param name="Dim">Values per row.</param>
/// <param name="Files">Each file and its size in bytes.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="Notes">Labels changed to fit the format, and the like.</param>
internal sealed record ExportResult(string Table, ExportFormat Format, long Rows, int Dim, IReadOnlyList<(string Path, long Bytes)> Files, TimeSpan Elapsed, IReadOnlyList<string> Notes)
{
    /// <summary>Bytes of every file.</summary>
    public long Bytes => Files.Sum(f => f.Bytes);
}

/// <summary>
/// Exports every row of a table: pages stream from the shards (<see cref="TableClient.ScanAsync"/>, shard after
/// shard, the next page fetched while the current one is written) into an <see cref="EmbeddingWriter"/>, so at
/// most two pages are held whatever the table's size. Rows come in shard order (arena order within a shard); every
/// file of one export has them in that same order, and the ids (ids file, csv, or the labels) say which row is
/// which. Files are written under temporary names and renamed over existing files at the end.
/// </summary>
internal static class EmbeddingExport
{
    /// <summary>Runs the export.</summary>
    public static async Task<ExportResult> RunAsync(ParameterServerClient client, string tableName, ExportFormat format, string outDirectory, ProgressLine? progress = null, int pageRows = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(outDirectory);
        var clock = Stopwatch.StartNew();
        var table = await client.OpenTableAsync(tableName);
        long expected = (await client.DescribeAsync(tableName)).Rows;
        EmbeddingWriter writer;
        try
        {
            Directory.CreateDirectory(outDirectory);
            writer = EmbeddingWriter.Create(format, outDirectory, table.Spec.Name, table.Dim);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--out '{outDirectory}' cannot be written: {e.Message}", e);
        }

        using (writer)
        {
            await using var pages = table.ScanAsync(pageRows, cancellationToken).GetAsyncEnumerator(cancellationToken);
            bool more = await pages.MoveNextAsync();
            while (more)
            {
                var page = pages.Current;
                var next = pages.MoveNextAsync().AsTask();
                try
                {
                    writer.Write(page.Ids, page.Values.Values, page.Labels);
                }
                catch
                {
                    // The enumerator must not be disposed while it fetches.
                    await next.ContinueWith(static _ => { }, TaskScheduler.Default);
                    throw;
                }

                progress?.Report("writing", writer.Rows, expected > 0 ? (double)writer.Rows / expected : null);
                more = await next;
            }

            var files = writer.Complete().Select(f => (f, new FileInfo(f).Length)).ToList();
            return new ExportResult(table.Spec.Name, format, writer.Rows, table.Dim, files, clock.Elapsed, writer.Notes);
        }
    }
}
