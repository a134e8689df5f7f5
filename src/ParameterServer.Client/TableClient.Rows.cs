using System.Runtime.CompilerServices;
using ParameterServer.Abstractions;
using ParameterServer.Core.Routing;

namespace ParameterServer.Client;

/// <summary>Whole-row access: stream every row of the table, and write rows with given values.</summary>
public sealed partial class TableClient
{
    /// <summary>
    /// Every row of the table, shard after shard, one page (<see cref="RowLimits.MaxPageBytes"/> of values at most)
    /// per call, so memory stays bounded whatever the table's size. Rows created during the scan may be missed.
    /// </summary>
    public async IAsyncEnumerable<RowPage> ScanAsync(int pageRows = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int rows = pageRows > 0 ? Math.Min(pageRows, RowLimits.RowsPerPage(Dim)) : RowLimits.RowsPerPage(Dim);
        for (int shard = 0; shard < _shards.Length; shard++)
        {
            int offset = 0;
            while (offset >= 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int s = shard, o = offset;
                var request = new ScanRequest(o, rows);
                var call = _shards[s].Scan(request);
                Interlocked.Increment(ref _calls);
                RowPage page;
                try
                {
                    page = await call;
                }
                catch (Exception e) when (RetryPolicy.IsTransient(e) && Retry.MaxAttempts > 0)
                {
                    page = await RetryAsync(s, call, () => _shards[s].Scan(request));
                }

                if (page.Ids.Length > 0)
                {
                    yield return page;
                }

                offset = page.NextOffset;
            }
        }
    }

    /// <summary>
    /// Copies the rows of <paramref name="ids"/> into <paramref name="destination"/> without creating any: a row that
    /// does not exist reads as its deterministic initial values (what a pull would create) and stays absent. One call
    /// per shard, retried within <see cref="Retry"/>. Evaluation reads through this, so held-out users and items leave
    /// no untrained rows behind.
    /// </summary>
    public async Task PeekAsync(ReadOnlyMemory<long> ids, Memory<float> destination)
    {
        if (destination.Length < ids.Length * Dim)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; {ids.Length} rows of dim {Dim} need {ids.Length * Dim}.", nameof(destination));
        }

        if (ids.Length == 0)
        {
            return;
        }

        using var plan = Plan(ids.Span);
        var answers = new PeekResult[plan.Calls.Count];
        await Task.WhenAll(plan.Calls.Select((call, c) => Retry.RunAsync(async () => answers[c] = await _shards[call.Shard].Peek(new PullRequest(call.Ids)))));
        Interlocked.Add(ref _calls, answers.Length);
        var dest = destination.Span;
        for (int c = 0; c < answers.Length; c++)
        {
            plan.Scatter(plan.Calls[c], answers[c].Rows.Values, dest, Dim);
        }
    }

    /// <summary>
    /// Sets the labels of rows <paramref name="labels"/> (id to label), routed to their shards, one call per shard;
    /// setting a label again changes nothing, so a failed call is retried within <see cref="Retry"/>.
    /// </summary>
    public async Task SetLabelsAsync(IReadOnlyDictionary<long, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        long[] ids = [.. labels.Keys];
        using var plan = ShardPlan.Of(ids, _shards.Length);
        await Task.WhenAll(plan.Calls.Select(call =>
        {
            var batch = new LabelBatch(call.Ids, [.. call.Ids.Select(id => labels[id])]);
            return Retry.RunAsync(() => _shards[call.Shard].SetLabels(batch));
        }));
    }

    /// <summary>
    /// Sets distinct rows <paramref name="ids"/> to <paramref name="values"/> (row-major), creating missing rows;
    /// their optimizer state and step count start afresh. The whole write is checked here first (length, NaN or infinity, a repeated
    /// id) so a bad row leaves every shard unchanged. Shards are written in parallel, each in calls of at most
    /// <see cref="RowLimits.MaxPageBytes"/>; a write is idempotent, so a failed call is retried.
    /// </summary>
    public async Task WriteAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> values)
    {
        if (values.Length != ids.Length * Dim)
        {
            throw new ArgumentException($"Write to table '{Spec.Name}' refused: {values.Length} values for {ids.Length} rows of dim {Dim}. No row was changed.", nameof(values));
        }

        CheckRows(ids.Span, values.Span, "Write", "value", "");

        if (ids.Length == 0)
        {
            return;
        }

        var plan = Plan(ids.Span);
        var calls = new List<Task>(plan.Calls.Count);
        try
        {
            var v = values.Span;
            foreach (var call in plan.Calls)
            {
                calls.Add(WriteShardAsync(call.Shard, new WriteRequest(call.Ids, Gather(v, plan, call))));
            }
        }
        finally
        {
            plan.Dispose();
        }

        Interlocked.Add(ref _calls, calls.Count);
        await Task.WhenAll(calls);
    }

    private async Task WriteShardAsync(int shard, WriteRequest request)
    {
        var call = _shards[shard].Write(request);
        try
        {
            await call;
        }
        catch (Exception e) when (RetryPolicy.IsTransient(e) && Retry.MaxAttempts > 0)
        {
            await RetryAsync(shard, call, () => _shards[shard].Write(request));
        }
    }
}
