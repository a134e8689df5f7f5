using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Data;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Embed.Transfer;

/// <summary>What to import: a vector file into a table, and the settings of the table when it is created.</summary>
internal sealed record ImportRequest
{
    /// <summary>The vector file.</summary>
    public required string File { get; init; }

    /// <summary>Its format.</summary>
    public required VectorTextFormat Format { get; init; }

    /// <summary>The table to create or overwrite rows of.</summary>
    public required string Table { get; init; }

    /// <summary>Shards of a new table.</summary>
    public int Shards { get; init; } = 8;

    /// <summary>Optimizer of a new table (for fine-tuning later).</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Learning rate of a new table.</summary>
    public float LearningRate { get; init; } = 0.001f;

    /// <summary>Weight decay of a new table.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Skip and count bad lines instead of stopping at the first.</summary>
    public bool SkipBadLines { get; init; }

    /// <summary>Most rows per write (and per label call); fewer for wide rows, so that a batch holds at most <see cref="EmbeddingImport.MaxBatchBytes"/> of values.</summary>
    public int BatchRows { get; init; } = 4096;
}

/// <summary>An import checked as far as it can be without the cluster.</summary>
/// <param name="Request">The request.</param>
/// <param name="Reader">The reader of its file.</param>
/// <param name="Spec">The table to create when it does not exist, with the file's dimension.</param>
internal sealed record ImportPlan(ImportRequest Request, VectorTextReader Reader, TableSpec Spec);

/// <summary>What an import did.</summary>
/// <param name="Table">The table.</param>
/// <param name="Dim">Its dimension.</param>
/// <param name="Rows">Rows written.</param>
/// <param name="BadLines">Lines skipped.</param>
/// <param name="Created">Whether the table was created (false: rows of an existing table were overwritten or added).</param>
/// <param name="Elapsed">Wall time, validation included.</param>
/// <param name="Validation">Wall time of the validation pass.</param>
/// <param name="Summary">What validation found.</param>
internal sealed record ImportResult(string Table, int Dim, long Rows, long BadLines, bool Created, TimeSpan Elapsed, TimeSpan Validation, VectorFileSummary Summary);

/// <summary>
/// Imports pre-trained vectors into a table: the whole file is validated first and nothing is written unless it
/// passes (or, with skipping, at least one vector is good), so a bad file leaves the cluster as it was: no table
/// created, no row changed. Then rows go out in batches (<see cref="TableClient.WriteAsync"/>, exact values, fresh
/// optimizer state) with their labels, a few batches in flight. Row id = <c>StableHash.Of(word)</c>.
/// </summary>
internal static class EmbeddingImport
{
    /// <summary>Batches written concurrently.</summary>
    public const int MaxBatchesInFlight = 4;

    /// <summary>Most bytes of values in one batch: 4 MiB (4,096 rows up to dim 256, 1,024 rows at dim 1,024).</summary>
    public const int MaxBatchBytes = 4 << 20;

    /// <summary>
    /// Checks what can be checked without the cluster: the table name, the settings of a new table and the file's
    /// header (or first line), which gives the dimension.
    /// </summary>
    public static ImportPlan Plan(ImportRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.BatchRows, 1);
        TableSpec.ValidateName(request.Table);
        var reader = new VectorTextReader(request.File, request.Format, TableSpec.MaxDim);
        var spec = new TableSpec
        {
            Name = request.Table,
            Dim = reader.PeekDim(),
            Shards = request.Shards,
            Optimizer = request.Optimizer,
            LearningRate = request.LearningRate,
            WeightDecay = request.WeightDecay,
        };
        spec.Validate();
        return new ImportPlan(request, reader, spec);
    }

    /// <summary>Plans and runs the import.</summary>
    public static Task<ImportResult> RunAsync(ParameterServerClient client, ImportRequest request, ProgressLine? progress = null, CancellationToken cancellationToken = default) =>
        RunAsync(client, Plan(request), progress, cancellationToken);

    /// <summary>Runs a planned import.</summary>
    public static async Task<ImportResult> RunAsync(ParameterServerClient client, ImportPlan plan, ProgressLine? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plan);
        var clock = Stopwatch.StartNew();
        var (request, reader, spec) = plan;
        int dim = spec.Dim;

        // An existing table keeps its settings; only its dimension has to agree. Checked before the long validation.
        bool exists = (await client.ListTablesAsync()).Contains(request.Table, StringComparer.Ordinal);
        var existing = exists ? await client.OpenTableAsync(request.Table) : null;
        if (existing is not null && existing.Dim != dim)
        {
            throw new ArgumentException($"Table '{request.Table}' already exists with dim {existing.Dim}, but {request.File} holds vectors of dim {dim}. Nothing was written; drop the table first (embed tables drop {request.Table}) or import into another one.");
        }

        var summary = reader.Validate(request.SkipBadLines, (lines, f) => progress?.Report("validating", lines, f));
        var validation = clock.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();
        var table = existing ?? await client.CreateTableAsync(spec);
        var inFlight = new Queue<Task>();
        long written = 0;
        int batchRows = Math.Min(request.BatchRows, Math.Max(1, MaxBatchBytes / (dim * sizeof(float))));
        foreach (var batch in reader.ReadBatches(summary, batchRows, (rows, f) => progress?.Report("writing", rows, f)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (inFlight.Count >= MaxBatchesInFlight)
            {
                await inFlight.Dequeue();
            }

            inFlight.Enqueue(WriteAsync(client, table, batch));
            written += batch.Ids.Length;
        }

        await Task.WhenAll(inFlight);
        return new ImportResult(request.Table, dim, written, summary.BadLines.Count, existing is null, clock.Elapsed, validation, summary);
    }

    private static async Task WriteAsync(ParameterServerClient client, TableClient table, VectorBatch batch)
    {
        var labels = new Dictionary<long, string>(batch.Ids.Length);
        for (int i = 0; i < batch.Ids.Length; i++)
        {
            labels.Add(batch.Ids[i], batch.Words[i]);
        }

        await Task.WhenAll(table.WriteAsync(batch.Ids, batch.Values), client.SetLabelsAsync(table, labels));
    }
}
