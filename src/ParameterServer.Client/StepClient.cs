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

    /// <summary>
    /// Pulls every table's rows in one call; rows that do not exist yet are created with their initial values. The
    /// answer is a ticket for the push of the same rows (<see cref="PushAsync"/>): it keeps the grouping by shard and
    /// the slots the shards found the rows in, so the push neither plans again nor looks the ids up again. Dispose it
    /// after that push (or when there is none).
    /// </summary>
    public async Task<StepTicket> PullAsync(IReadOnlyList<TablePull> pulls)
    {
        ArgumentNullException.ThrowIfNull(pulls);
        long start = Stopwatch.GetTimestamp();
        var plans = new TableClient.CallPlan[pulls.Count];
        bool handedOver = false;
        try
        {
            long sent = 0, received = 0;
            int partCount = 0;
            var pulled = new (TableClient Table, int Rows)[pulls.Count];
            for (int t = 0; t < pulls.Count; t++)
            {
                var (table, ids, destination) = pulls[t];
                if (destination.Length < ids.Length * table.Dim)
                {
                    throw new ArgumentException($"Destination holds {destination.Length} floats; {ids.Length} rows of dim {table.Dim} need {ids.Length * table.Dim}.", nameof(pulls));
                }

                plans[t] = table.Plan(ids.Span);
                partCount += plans[t].Calls.Count;
                pulled[t] = (table, ids.Length);
                sent += ids.Length * sizeof(long);
                received += (long)ids.Length * table.Dim * sizeof(float);
            }

            var parts = new ShardPull[partCount];
            int p = 0;
            for (int t = 0; t < pulls.Count; t++)
            {
                foreach (var call in plans[t].Calls)
                {
                    parts[p++] = new ShardPull(pulls[t].Table.Spec.Name, call.Shard, new PullRequest(call.Ids));
                }
            }

            ShardRows[] answers;
            if (parts.Length == 0)
            {
                answers = [];
            }
            else if (parts.Length > StepLimits.MaxParts || received > TableClient.MaxBytesPerCall)
            {
                answers = await PerShardAsync(pulls, plans);
            }
            else
            {
                Interlocked.Increment(ref _calls);
                try
                {
                    answers = (await _router.Pull(new StepPull(parts))).Parts;
                }
                catch (Exception e) when (RetryPolicy.IsTransient(e) && pulls[0].Table.Retry.MaxAttempts > 0)
                {
                    var firstFailure = DateTimeOffset.UtcNow;
                    answers = await PerShardAsync(pulls, plans);
                    for (int t = 0; t < pulls.Count; t++)
                    {
                        foreach (var call in plans[t].Calls)
                        {
                            pulls[t].Table.RecordRecovery(call.Shard, firstFailure, e);
                        }
                    }
                }
            }

            if (answers.Length != parts.Length)
            {
                throw new InvalidOperationException($"The step router answered {answers.Length} parts for {parts.Length}.");
            }

            int b = 0;
            for (int t = 0; t < pulls.Count; t++)
            {
                var dest = pulls[t].Destination.Span;
                foreach (var call in plans[t].Calls)
                {
                    pulls[t].Table.Scatter(plans[t], call, answers[b++].Rows, dest);
                }

                pulls[t].Table.RecordDuration(start, push: false);
            }

            Interlocked.Add(ref _bytesSent, sent);
            Interlocked.Add(ref _bytesReceived, received);
            handedOver = true;
            return new StepTicket(pulled, plans, answers);
        }
        finally
        {
            if (!handedOver)
            {
                StepTicket.Release(plans);
            }
        }
    }

    /// <summary>
    /// Pushes every table's gradients in one call. Each table's push is checked whole first (length, NaN or infinity,
    /// a repeated id), so a bad row refuses the step before any shard sees it. The values are copied before this
    /// returns; the task completes when every shard has applied (or refused) its part.
    /// </summary>
    /// <param name="pushes">Each table's ids and gradients.</param>
    /// <param name="ticket">
    /// The ticket of the pull of the same tables and ids in the same order, or null. With it the push reuses the
    /// pull's grouping by shard and slots; a ticket that does not match the push is refused.
    /// </param>
    public Task PushAsync(IReadOnlyList<TablePush> pushes, StepTicket? ticket = null)
    {
        ArgumentNullException.ThrowIfNull(pushes);
        ticket?.CheckMatches(pushes);
        foreach (var (table, ids, gradients) in pushes)
        {
            if (gradients.Length != ids.Length * table.Dim)
            {
                throw new ArgumentException($"Push to table '{table.Spec.Name}': {gradients.Length} gradient values for {ids.Length} rows of dim {table.Dim}.", nameof(pushes));
            }

            table.CheckPush(ids.Span, gradients.Span);
        }

        long start = Stopwatch.GetTimestamp();
        var plans = ticket?.Plans ?? new TableClient.CallPlan[pushes.Count];
        try
        {
            int partCount = 0;
            long bytes = 0;
            for (int t = 0; t < pushes.Count; t++)
            {
                var (table, ids, _) = pushes[t];
                if (ticket is null)
                {
                    plans[t] = table.Plan(ids.Span);
                }

                partCount += plans[t].Calls.Count;
                bytes += ids.Length * (sizeof(long) + ((long)table.Dim * sizeof(float)));
            }

            if (partCount == 0)
            {
                return Task.CompletedTask;
            }

            var parts = new ShardPush[partCount];
            var owners = new TableClient[partCount];
            int p = 0;
            for (int t = 0; t < pushes.Count; t++)
            {
                var (table, _, gradients) = pushes[t];
                foreach (var call in plans[t].Calls)
                {
                    owners[p] = table;
                    parts[p] = new ShardPush(table.Spec.Name, call.Shard, new PushRequest(call.Ids, table.Gather(gradients.Span, plans[t], call)), ticket?.Answers[p].Slots);
                    p++;
                }
            }

            Interlocked.Add(ref _bytesSent, bytes);
            return CompletePushAsync(parts, owners, start, direct: partCount > StepLimits.MaxParts || bytes > TableClient.MaxBytesPerCall);
        }
        finally
        {
            if (ticket is null)
            {
                StepTicket.Release(plans);
            }
        }
    }

    private async Task CompletePushAsync(ShardPush[] parts, TableClient[] owners, long start, bool direct)
    {
        Task PerShard() => Task.WhenAll(parts.Select((p, i) => owners[i].PushPartAsync(p.Shard, p.Request)));
        if (direct)
        {
            await PerShard();
        }
        else
        {
            Interlocked.Increment(ref _calls);
            try
            {
                await _router.Push(new StepPush(parts));
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e) && owners[0].Retry.MaxAttempts > 0)
            {
                // As with a shard call retried: a part applied before the failure may be applied twice, the usual trade
                // of asynchronous SGD against losing the step.
                var firstFailure = DateTimeOffset.UtcNow;
                await PerShard();
                for (int i = 0; i < parts.Length; i++)
                {
                    owners[i].RecordRecovery(parts[i].Shard, firstFailure, e);
                }
            }
        }

        for (int i = 0; i < parts.Length; i++)
        {
            owners[i].Acknowledge(parts[i].Shard, parts[i].Request.Ids.Length);
            // A table's parts stand together: its duration is recorded once, at its first part.
            if (i == 0 || !ReferenceEquals(owners[i], owners[i - 1]))
            {
                owners[i].RecordDuration(start, push: true);
            }
        }
    }

    private static async Task<ShardRows[]> PerShardAsync(IReadOnlyList<TablePull> pulls, TableClient.CallPlan[] plans)
    {
        var calls = new List<Task<RowBlock>>();
        for (int t = 0; t < pulls.Count; t++)
        {
            foreach (var call in plans[t].Calls)
            {
                calls.Add(pulls[t].Table.PullPartAsync(call.Shard, new PullRequest(call.Ids)));
            }
        }

        return [.. (await Task.WhenAll(calls)).Select(rows => new ShardRows(rows, null))];
    }
}

/// <summary>
/// What a step's pull leaves for its push (<see cref="StepClient.PullAsync"/>): each table's grouping of the ids by
/// shard and the slots the shards answered. Holds pooled arrays: dispose it once the push has been sent.
/// </summary>
public sealed class StepTicket : IDisposable
{
    private readonly (TableClient Table, int Rows)[] _pulled;
    private bool _disposed;

    internal StepTicket((TableClient Table, int Rows)[] pulled, TableClient.CallPlan[] plans, ShardRows[] answers)
    {
        _pulled = pulled;
        Plans = plans;
        Answers = answers;
    }

    internal TableClient.CallPlan[] Plans { get; }

    internal ShardRows[] Answers { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Release(Plans);
        }
    }

    internal static void Release(TableClient.CallPlan[] plans)
    {
        foreach (var plan in plans)
        {
            if (plan.Positions is not null)
            {
                plan.Dispose();
            }
        }
    }

    /// <summary>Refuses a push that is not of the same tables and ids, in the same order, as the pull.</summary>
    internal void CheckMatches(IReadOnlyList<TablePush> pushes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        bool same = pushes.Count == _pulled.Length;
        for (int t = 0; same && t < pushes.Count; t++)
        {
            // Against the ids the plan copied at pull time: the caller's buffer may have been refilled since.
            var ids = pushes[t].Ids.Span;
            same = ReferenceEquals(pushes[t].Table, _pulled[t].Table) && ids.Length == _pulled[t].Rows;
            foreach (var call in Plans[t].Calls)
            {
                for (int r = 0; same && r < call.Ids.Length; r++)
                {
                    same = ids[Plans[t].Positions[call.Start + r]] == call.Ids[r];
                }
            }
        }

        if (!same)
        {
            throw new ArgumentException("This push is not of the tables and ids its ticket was pulled for; push without the ticket, or with the ticket of its own pull.");
        }
    }
}
