using System.Diagnostics;
using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>The rows one table contributes to a step's pull: ids and where their values go (row-major).</summary>
/// <param name="Table">The table.</param>
/// <param name="Ids">Distinct row ids.</param>
/// <param name="Destination">At least <c>Ids.Length x dim</c> floats.</param>
public readonly record struct TablePull(TableClient Table, ReadOnlyMemory<long> Ids, Memory<float> Destination);

/// <summary>The gradients one table gets from a step's push (row-major, summed per distinct row).</summary>
/// <param name="Table">The table.</param>
/// <param name="Ids">Distinct row ids.</param>
/// <param name="Gradients"><c>Ids.Length x dim</c> floats.</param>
public readonly record struct TablePush(TableClient Table, ReadOnlyMemory<long> Ids, ReadOnlyMemory<float> Gradients);

/// <summary>
/// A worker's step as one call: the rows of every table it touches go to the silo's step router
/// (<see cref="IStepRouter"/>) in one request, grouped by table and shard with each table's own plan
/// (<c>mix64(id) % shards</c>), and come back in one answer. Shards that live on the receiving silo are served in
/// process there; others are reached from it. When the call fails with a transient error (a silo died), the step goes
/// again as one call per shard with each table's retry policy. Thread-safe.
/// </summary>
public sealed class StepClient
{
    private readonly IStepRouter _router;
    private long _calls;
    private long _bytesSent;
    private long _bytesReceived;

    /// <summary>Creates the client over <paramref name="grains"/>.</summary>
    public StepClient(IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(grains);
        _router = grains.GetGrain<IStepRouter>(0);
    }

    /// <summary>Step calls made (each pull or push of a step is one).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Payload bytes sent: ids of pulls, ids and gradients of pushes.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Payload bytes received: the values of pulled rows.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Pulls every table's rows in one call; rows that do not exist yet are created with their initial values.</summary>
    public async Task PullAsync(IReadOnlyList<TablePull> pulls)
    {
        ArgumentNullException.ThrowIfNull(pulls);
        long start = Stopwatch.GetTimestamp();
        var plans = new TableClient.CallPlan[pulls.Count];
        try
        {
            var parts = new List<ShardPull>();
            long sent = 0, received = 0;
            for (int t = 0; t < pulls.Count; t++)
            {
                var (table, ids, destination) = pulls[t];
                if (destination.Length < ids.Length * table.Dim)
                {
                    throw new ArgumentException($"Destination holds {destination.Length} floats; {ids.Length} rows of dim {table.Dim} need {ids.Length * table.Dim}.", nameof(pulls));
                }

                plans[t] = table.Plan(ids.Span);
                foreach (var call in plans[t].Calls)
                {
                    parts.Add(new ShardPull(table.Spec.Name, call.Shard, new PullRequest(call.Ids)));
                }

                sent += ids.Length * sizeof(long);
                received += (long)ids.Length * table.Dim * sizeof(float);
            }

            if (parts.Count == 0)
            {
                return;
            }

            RowBlock[] blocks;
            if (parts.Count > StepLimits.MaxParts || received > TableClient.MaxBytesPerCall)
            {
                blocks = await PerShardAsync(pulls, plans);
            }
            else
            {
                Interlocked.Increment(ref _calls);
                try
                {
                    blocks = (await _router.Pull(new StepPull([.. parts]))).Blocks;
                }
                catch (Exception e) when (RetryPolicy.IsTransient(e))
                {
                    blocks = await PerShardAsync(pulls, plans);
                }
            }

            if (blocks.Length != parts.Count)
            {
                throw new InvalidOperationException($"The step router answered {blocks.Length} blocks for {parts.Count} parts.");
            }

            int b = 0;
            for (int t = 0; t < pulls.Count; t++)
            {
                var dest = pulls[t].Destination.Span;
                foreach (var call in plans[t].Calls)
                {
                    pulls[t].Table.Scatter(plans[t], call, blocks[b++], dest);
                }

                pulls[t].Table.RecordDuration(start, push: false);
            }

            Interlocked.Add(ref _bytesSent, sent);
            Interlocked.Add(ref _bytesReceived, received);
        }
        finally
        {
            foreach (var plan in plans)
            {
                if (plan.Positions is not null)
                {
                    plan.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// Pushes every table's gradients in one call. Each table's push is checked whole first (length, NaN or infinity,
    /// a repeated id), so a bad row refuses the step before any shard sees it. The values are copied before this
    /// returns; the task completes when every shard has applied (or refused) its part.
    /// </summary>
    public Task PushAsync(IReadOnlyList<TablePush> pushes)
    {
        ArgumentNullException.ThrowIfNull(pushes);
        foreach (var (table, ids, gradients) in pushes)
        {
            if (gradients.Length != ids.Length * table.Dim)
            {
                throw new ArgumentException($"Push to table '{table.Spec.Name}': {gradients.Length} gradient values for {ids.Length} rows of dim {table.Dim}.", nameof(pushes));
            }

            table.CheckPush(ids.Span, gradients.Span);
        }

        long start = Stopwatch.GetTimestamp();
        var parts = new List<ShardPush>();
        var owners = new List<TableClient>();
        long bytes = 0;
        foreach (var (table, ids, gradients) in pushes)
        {
            var plan = table.Plan(ids.Span);
            try
            {
                foreach (var call in plan.Calls)
                {
                    parts.Add(new ShardPush(table.Spec.Name, call.Shard, new PushRequest(call.Ids, table.Gather(gradients.Span, plan, call))));
                    owners.Add(table);
                }
            }
            finally
            {
                plan.Dispose();
            }

            bytes += ids.Length * (sizeof(long) + ((long)table.Dim * sizeof(float)));
        }

        if (parts.Count == 0)
        {
            return Task.CompletedTask;
        }

        Interlocked.Add(ref _bytesSent, bytes);
        return CompletePushAsync([.. parts], owners, start, direct: parts.Count > StepLimits.MaxParts || bytes > TableClient.MaxBytesPerCall);
    }

    private async Task CompletePushAsync(ShardPush[] parts, List<TableClient> owners, long start, bool direct)
    {
        if (direct)
        {
            await Task.WhenAll(parts.Select((p, i) => owners[i].PushPartAsync(p.Shard, p.Request)));
        }
        else
        {
            Interlocked.Increment(ref _calls);
            try
            {
                await _router.Push(new StepPush(parts));
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e))
            {
                // As with a shard call retried: a part applied before the failure may be applied twice, the usual trade
                // of asynchronous SGD against losing the step.
                await Task.WhenAll(parts.Select((p, i) => owners[i].PushPartAsync(p.Shard, p.Request)));
            }
        }

        for (int i = 0; i < parts.Length; i++)
        {
            owners[i].Acknowledge(parts[i].Shard, parts[i].Request.Ids.Length);
        }

        foreach (var table in owners.Distinct())
        {
            table.RecordDuration(start, push: true);
        }
    }

    private static async Task<RowBlock[]> PerShardAsync(IReadOnlyList<TablePull> pulls, TableClient.CallPlan[] plans)
    {
        var calls = new List<Task<RowBlock>>();
        for (int t = 0; t < pulls.Count; t++)
        {
            foreach (var call in plans[t].Calls)
            {
                calls.Add(pulls[t].Table.PullPartAsync(call.Shard, new PullRequest(call.Ids)));
            }
        }

        return await Task.WhenAll(calls);
    }
}
