using System.Diagnostics;
using System.Net;
using Orleans.Serialization;
using ParameterServer.Abstractions;
using ParameterServer.Core.Routing;

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
/// A worker's step as one call per silo: the rows of every table it touches, grouped by table and shard with each
/// table's own plan (<c>mix64(id) % shards</c>), go to the step router of the silo that holds those shards
/// (<see cref="ISiloStepService"/>) in one request, and come back in one answer; adding silos adds at most one message
/// per silo a step touches, never one per shard. Where shards live is looked up per table in the background (first
/// use, and again when a silo answers that it had to forward parts because a shard moved); parts whose silo is not
/// known yet go together to any silo (<see cref="IStepRouter"/>), which reaches their shards from there. When a call
/// fails with a transient error (a silo died), its parts go again as one call per shard with each table's retry
/// policy. Thread-safe.
/// </summary>
public sealed partial class StepClient
{
    private readonly IStepRouter _router;
    private readonly SiloStepServices _silos;
    private readonly ILocalShardAccess? _local;
    private long _calls;
    private long _localParts;
    private long _bytesSent;
    private long _bytesReceived;

    /// <summary>
    /// Creates the client over <paramref name="grains"/>; with <paramref name="local"/> (the silo this client shares a
    /// process with), parts for shards active in that silo are read and written in place instead of sent.
    /// </summary>
    /// <param name="grains">An Orleans client, or a silo's grain factory.</param>
    /// <param name="local">The silo in this process, or null.</param>
    /// <param name="connectedGateway">
    /// Whether an Orleans client is connected to the gateway at an endpoint (a client given a static list of
    /// gateways connects to those only). A silo's step calls go to its gateway directly when it is one of them, else
    /// to the silo's own address through any gateway. Null: every gateway of the cluster (a client that finds them in
    /// the membership table), or none when <paramref name="local"/> is given (calls go silo to silo).
    /// </param>
    /// <param name="socketSerializer">
    /// The Orleans client's serializer: a silo that advertises a step socket (<see cref="StepSocketFrames"/>) gets its
    /// steps there, with the same payload, instead of as grain calls through its gateway. Null: grain calls only.
    /// </param>
    public StepClient(IGrainFactory grains, ILocalShardAccess? local = null, Func<IPEndPoint, bool>? connectedGateway = null, Serializer? socketSerializer = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        _router = grains.GetGrain<IStepRouter>(0);
        _local = local;
        _silos = new SiloStepServices(grains, _router, local is null ? connectedGateway ?? (_ => true) : null, socketSerializer);
    }

    /// <summary>Step calls made (each pull or push of a step sends one per silo it has parts for).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Step calls that went to a silo's step socket (counted in <see cref="Calls"/> too).</summary>
    public long SocketCalls => _silos.SocketCalls;

    /// <summary>Parts (table and shard pairs of a pull or push) served in process by a co-hosted silo, without a call.</summary>
    public long LocalParts => Interlocked.Read(ref _localParts);

    /// <summary>Whether this client shares its process with a silo whose active shards it reads and writes in place.</summary>
    public bool InProcess => _local is not null;

    /// <summary>Payload bytes sent: ids of pulls, ids and gradients of pushes (parts served in process send none).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Payload bytes received: the values of pulled rows (parts served in process receive none).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>
    /// Pulls every table's rows in one call; rows that do not exist yet are created with their initial values. The
    /// answer is a ticket for the push of the same rows (<see cref="PushAsync(IReadOnlyList{TablePush}, StepTicket?)"/>): it keeps the grouping by shard and
    /// the slots the shards found the rows in, so the push neither plans again nor looks the ids up again. Dispose it
    /// after that push (or when there is none).
    /// </summary>
    /// <param name="pulls">Each table's ids and where their rows go.</param>
    /// <param name="wire">
    /// How values travel between processes, for this pull's rows and for the push made with its ticket:
    /// <see cref="WireValues.BFloat16"/> halves the bytes of values at a relative rounding error of at most 2^-8 per
    /// value. Parts served in process are exact float32 either way.
    /// </param>
    public Task<StepTicket> PullAsync(IReadOnlyList<TablePull> pulls, WireValues wire = WireValues.Float32) => Send(PreparePull(pulls, wire));

    /// <summary>Sends a prepared pull's parts (one call per silo, or per shard when too large for one) and answers its ticket.</summary>
    private Task<StepTicket> Send(PullPrep pull) =>
        FinishPullAsync(pull, pull.Parts.Length == 0 ? null : pull.Direct ? PerShardAsync(pull.Pulls, pull.Remote) : PullBySiloAsync(pull.Pulls, pull.Remote, pull.Parts, pull.Wire));

    /// <summary>
    /// A pull made ready to send: planned, its parts for shards active in a co-hosted silo served, and the parts left to
    /// send built. Holds the plans' pooled arrays until <see cref="FinishPullAsync"/> hands them to the ticket.
    /// </summary>
    private sealed record PullPrep(IReadOnlyList<TablePull> Pulls, WireValues Wire, long Start, ShardPlan[] Plans, int PartCount, (TableClient Table, int Rows)[] Pulled, StepTicket.LocalSlots[]? Locals, List<(int Table, ShardCall Call, int Part)> Remote, ShardPull[] Parts, long Sent, long Received)
    {
        /// <summary>Whether the parts go as one call per shard (too many parts, or too many bytes, for one step call).</summary>
        public bool Direct => Parts.Length > StepLimits.MaxParts || Received > TableClient.MaxBytesPerCall;
    }

    private PullPrep PreparePull(IReadOnlyList<TablePull> pulls, WireValues wire)
    {
        int valueBytes = wire.BytesPerValue();
        ArgumentNullException.ThrowIfNull(pulls);
        long start = Stopwatch.GetTimestamp();
        var plans = new ShardPlan[pulls.Count];
        StepTicket.LocalSlots[]? locals = null;
        try
        {
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
            }

            locals = _local is null ? null : new StepTicket.LocalSlots[partCount];
            var remote = PullLocal(pulls, plans, locals);
            long sent = 0, received = 0; // payload of the parts that travel; parts served in process send nothing
            var parts = new ShardPull[remote.Count];
            for (int i = 0; i < remote.Count; i++)
            {
                var (t, call, _) = remote[i];
                parts[i] = new ShardPull(pulls[t].Table.Spec.Name, call.Shard, new PullRequest(call.Ids));
                sent += call.Ids.Length * sizeof(long);
                received += (long)call.Ids.Length * pulls[t].Table.Dim * valueBytes;
            }

            return new PullPrep(pulls, wire, start, plans, partCount, pulled, locals, remote, parts, sent, received);
        }
        catch
        {
            StepTicket.Release(plans, locals);
            throw;
        }
    }

    /// <summary>Scatters the answers of <paramref name="pull"/>'s sent parts (null when none were sent) into the destinations, and answers the ticket.</summary>
    private async Task<StepTicket> FinishPullAsync(PullPrep pull, Task<ShardRows[]>? sending)
    {
        var (pulls, plans, remote) = (pull.Pulls, pull.Plans, pull.Remote);
        bool handedOver = false;
        try
        {
            var answers = new ShardRows?[pull.PartCount];
            if (sending is not null)
            {
                var remoteAnswers = await sending;
                if (remoteAnswers.Length != pull.Parts.Length)
                {
                    throw new InvalidOperationException($"The step routers answered {remoteAnswers.Length} parts for {pull.Parts.Length}.");
                }

                for (int i = 0; i < remote.Count; i++)
                {
                    var (t, call, p) = remote[i];
                    pulls[t].Table.Scatter(plans[t], call, remoteAnswers[i].Rows, pulls[t].Destination.Span);
                    remoteAnswers[i].Rows.Return(); // copied out (only its slots are kept, in the ticket)
                    answers[p] = remoteAnswers[i];
                }
            }

            for (int t = 0; t < pulls.Count; t++)
            {
                pulls[t].Table.RecordDuration(pull.Start, push: false);
            }

            Interlocked.Add(ref _bytesSent, pull.Sent);
            Interlocked.Add(ref _bytesReceived, pull.Received);
            handedOver = true;
            return new StepTicket(pull.Pulled, plans, answers, pull.Locals, pull.Wire);
        }
        finally
        {
            if (!handedOver)
            {
                StepTicket.Release(plans, pull.Locals);
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="parts"/> (the pull's parts to send, as listed in <paramref name="remote"/>) as one call
    /// per silo that holds their shards, and answers their rows in the same order.
    /// </summary>
    private Task<ShardRows[]> PullBySiloAsync(IReadOnlyList<TablePull> pulls, List<(int Table, ShardCall Call, int Part)> remote, ShardPull[] parts, WireValues wire)
    {
        var groups = GroupBySilo(parts.Length, i => pulls[remote[i].Table].Table, i => remote[i].Call.Shard);
        return groups.Count == 1
            ? PullGroupAsync(groups[0].Silo, pulls, remote, parts, wire)
            : Gathered(parts.Length, [.. groups.Select(g => (g.Members, PullGroupAsync(g.Silo, pulls, [.. g.Members.Select(i => remote[i])], [.. g.Members.Select(i => parts[i])], wire)))]);
    }

    /// <summary>The answers of calls that each carried some of a pull's <paramref name="count"/> parts (their <c>Members</c>), in the parts' order.</summary>
    private static async Task<ShardRows[]> Gathered(int count, List<(List<int> Members, Task<ShardRows[]> Rows)> calls)
    {
        await Task.WhenAll(calls.Select(c => c.Rows));
        var answers = new ShardRows[count];
        foreach (var (members, call) in calls)
        {
            var rows = await call;
            if (rows.Length != members.Count)
            {
                throw new InvalidOperationException($"A step router answered {rows.Length} parts for {members.Count}.");
            }

            for (int j = 0; j < members.Count; j++)
            {
                answers[members[j]] = rows[j];
            }
        }

        return answers;
    }

    /// <summary>One silo's parts of a pull as one call (any silo's router when <paramref name="silo"/> is null), or one call per shard after a transient failure.</summary>
    private async Task<ShardRows[]> PullGroupAsync(SiloRoute? silo, IReadOnlyList<TablePull> pulls, List<(int Table, ShardCall Call, int Part)> remote, ShardPull[] parts, WireValues wire)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            var answer = await _silos.Of(silo).Pull(new StepPull(parts, wire));
            if (answer.Forwarded > 0)
            {
                // A shard was not where we thought (it moved, or its silo left): look again, at most once a second.
                foreach (var (t, _, _) in remote)
                {
                    pulls[t].Table.LookUpPlacement(onlyFirst: false);
                }
            }

            return answer.Parts;
        }
        catch (Exception e) when (RetryPolicy.IsTransient(e) && pulls[0].Table.Retry.MaxAttempts > 0)
        {
            var firstFailure = DateTimeOffset.UtcNow;
            _silos.Failed(silo, e);
            var answers = await PerShardAsync(pulls, remote);
            foreach (var (t, call, _) in remote)
            {
                pulls[t].Table.RecordRecovery(call.Shard, firstFailure, e);
                pulls[t].Table.LookUpPlacement(onlyFirst: false);
            }

            return answers;
        }
    }

    /// <summary>
    /// Groups items <c>0..count-1</c> by the silo their table's shard lived on at the last look-up (null: not known),
    /// in order of first appearance; starts each table's first look-up when this client is not co-hosted.
    /// </summary>
    private List<(SiloRoute? Silo, List<int> Members)> GroupBySilo(int count, Func<int, TableClient> table, Func<int, int> shard)
    {
        var groups = new List<(SiloRoute? Silo, List<int> Members)>(2);
        for (int i = 0; i < count; i++)
        {
            var owner = table(i);
            if (_local is null)
            {
                owner.LookUpPlacement(onlyFirst: true);
            }

            var silo = owner.RouteOf(shard(i));
            int g = 0;
            while (g < groups.Count && !string.Equals(groups[g].Silo?.Silo, silo?.Silo, StringComparison.Ordinal))
            {
                g++;
            }

            if (g == groups.Count)
            {
                groups.Add((silo, new List<int>(count)));
            }

            groups[g].Members.Add(i);
        }

        return groups;
    }

    /// <summary>
    /// Serves in process every part whose shard is active in the co-hosted silo (writing its slots to
    /// <paramref name="locals"/>), and answers the parts left to send: their table, call and part number.
    /// </summary>
    private List<(int Table, ShardCall Call, int Part)> PullLocal(IReadOnlyList<TablePull> pulls, ShardPlan[] plans, StepTicket.LocalSlots[]? locals)
    {
        var remote = new List<(int, ShardCall, int)>(locals is null ? 8 : 0);
        int p = 0, served = 0;
        for (int t = 0; t < pulls.Count; t++)
        {
            var destination = pulls[t].Destination.Span;
            string name = pulls[t].Table.Spec.Name;
            foreach (var call in plans[t].Calls)
            {
                if (_local is not null)
                {
                    int n = call.Ids.Length;
                    int[] slots = System.Buffers.ArrayPool<int>.Shared.Rent(n);
                    if (_local.TryPull(name, call.Shard, call.Ids, plans[t].Positions.AsSpan(call.Start, n), destination, slots.AsSpan(0, n), out int generation))
                    {
                        locals![p++] = new StepTicket.LocalSlots(slots, generation);
                        served++;
                        continue;
                    }

                    System.Buffers.ArrayPool<int>.Shared.Return(slots);
                }

                remote.Add((t, call, p++));
            }
        }

        Interlocked.Add(ref _localParts, served);
        return remote;
    }

    /// <summary>
    /// Pushes every table's gradients in one call. Each table's push is checked whole first (length, NaN or infinity,
    /// a repeated id), so a bad row refuses the step before any shard sees it. The values are copied (or, by a
    /// co-hosted silo, applied) before this returns; the task completes when every shard has applied (or refused) its
    /// part.
    /// </summary>
    /// <param name="pushes">Each table's ids and gradients.</param>
    /// <param name="ticket">
    /// The ticket of the pull of the same tables and ids in the same order, or null. With it the push reuses the
    /// pull's grouping by shard and slots, and its <see cref="WireValues"/> for the gradients it sends; a ticket that
    /// does not match the push is refused.
    /// </param>
    public Task PushAsync(IReadOnlyList<TablePush> pushes, StepTicket? ticket = null) => PushAsync(pushes, ticket, distinctIds: false);

    /// <summary>
    /// <see cref="PushAsync(IReadOnlyList{TablePush}, StepTicket?)"/> for the project's own trainers, whose ids come out of
    /// a deduplicating batch buffer: with <paramref name="distinctIds"/> the caller vouches that no table's ids repeat
    /// and the repeat scan (a hash set per table per step) is skipped. NaN, infinity and lengths are still checked.
    /// </summary>
    internal Task PushAsync(IReadOnlyList<TablePush> pushes, StepTicket? ticket, bool distinctIds) => Send(PreparePush(pushes, ticket, distinctIds));

    /// <summary>Sends a prepared push's parts (one call per silo, or per shard when too large for one).</summary>
    private Task Send(PushPrep push) => WithRefusal(push, push.Parts.Length == 0 ? null : CompletePushAsync(push));

    /// <summary>
    /// A push made ready to send: checked, its parts for shards active in a co-hosted silo applied (the first
    /// refusal among them kept), and the parts left to send built, their gradients gathered into their own blocks.
    /// </summary>
    private sealed record PushPrep(long Start, ShardPush[] Parts, TableClient[] Owners, long Bytes, ArgumentException? Refused)
    {
        /// <summary>Whether the parts go as one call per shard (too many parts, or too many bytes, for one step call).</summary>
        public bool Direct => Parts.Length > StepLimits.MaxParts || Bytes > TableClient.MaxBytesPerCall;
    }

    private PushPrep PreparePush(IReadOnlyList<TablePush> pushes, StepTicket? ticket, bool distinctIds)
    {
        ArgumentNullException.ThrowIfNull(pushes);
        ticket?.CheckMatches(pushes);
        foreach (var (table, ids, gradients) in pushes)
        {
            if (gradients.Length != ids.Length * table.Dim)
            {
                throw new ArgumentException($"Push to table '{table.Spec.Name}': {gradients.Length} gradient values for {ids.Length} rows of dim {table.Dim}.", nameof(pushes));
            }

            table.CheckPush(ids.Span, gradients.Span, checkRepeats: !distinctIds);
        }

        long start = Stopwatch.GetTimestamp();
        var plans = ticket?.Plans ?? new ShardPlan[pushes.Count];
        try
        {
            int partCount = 0;
            for (int t = 0; t < pushes.Count; t++)
            {
                if (ticket is null)
                {
                    plans[t] = pushes[t].Table.Plan(pushes[t].Ids.Span);
                }

                partCount += plans[t].Calls.Count;
            }

            var parts = new ShardPush[partCount];
            var owners = new TableClient[partCount];
            var wire = ticket?.Wire ?? WireValues.Float32;
            int valueBytes = wire.BytesPerValue();
            ArgumentException? refused = null;
            long bytes = 0; // payload of the parts that travel; parts applied in process send nothing
            int p = 0, sending = 0, served = 0;
            for (int t = 0; t < pushes.Count; t++)
            {
                var (owner, _, gradients) = pushes[t];
                bool servedHere = false;
                foreach (var call in plans[t].Calls)
                {
                    var localSlots = ticket?.Locals is { } locals ? locals[p] : default;
                    if (_local is not null && TryPushLocal(owner, plans[t], call, gradients.Span, localSlots, ref refused))
                    {
                        served++;
                        servedHere = true;
                    }
                    else
                    {
                        owners[sending] = owner;
                        parts[sending++] = new ShardPush(owner.Spec.Name, call.Shard, new PushRequest(call.Ids, owner.Gather(gradients.Span, plans[t], call, wire)), ticket?.Answers[p]?.Slots);
                        bytes += call.Ids.Length * (sizeof(long) + ((long)owner.Dim * valueBytes));
                    }

                    p++;
                }

                if (servedHere)
                {
                    owner.RecordDuration(start, push: true);
                }
            }

            Interlocked.Add(ref _bytesSent, bytes);
            Interlocked.Add(ref _localParts, served);
            if (sending < partCount)
            {
                Array.Resize(ref parts, sending);
                Array.Resize(ref owners, sending);
            }

            return new PushPrep(start, parts, owners, bytes, refused);
        }
        finally
        {
            if (ticket is null)
            {
                StepTicket.Release(plans, null);
            }
        }
    }

    /// <summary>The task of a prepared push whose sent parts complete with <paramref name="sending"/> (null when none were sent): it fails with the first refusal of a part applied in process, if any, after the others.</summary>
    private static Task WithRefusal(PushPrep push, Task? sending)
    {
        sending ??= Task.CompletedTask;
        return push.Refused is null ? sending : FailAfter(sending, push.Refused);
    }

    /// <summary>
    /// Applies one part in the co-hosted silo, taking the slots its pull found there as hints: false when its shard is
    /// not active there (the part is to be sent). A refusal counts as served: it is kept in <paramref name="refused"/>
    /// (the first one) and the other parts still go on, as the step router does.
    /// </summary>
    private bool TryPushLocal(TableClient table, ShardPlan plan, ShardCall call, ReadOnlySpan<float> gradients, StepTicket.LocalSlots slots, ref ArgumentException? refused)
    {
        int n = call.Ids.Length;
        try
        {
            // A part the pull sent (its shard was not active here then) may be served now, without hints.
            var hints = slots.Slots is null ? [] : slots.Slots.AsSpan(0, n);
            if (!_local!.TryPush(table.Spec.Name, call.Shard, call.Ids, plan.Positions.AsSpan(call.Start, n), gradients, hints, slots.Slots is null ? -1 : slots.Generation))
            {
                return false;
            }

            table.Acknowledge(call.Shard, n);
        }
        catch (ArgumentException e)
        {
            refused ??= e;
        }

        return true;
    }

    private static async Task FailAfter(Task sending, ArgumentException refused)
    {
        await sending;
        throw refused;
    }

    private async Task CompletePushAsync(PushPrep push)
    {
        if (push.Direct)
        {
            await PushPerShardAsync(push.Parts, push.Owners);
        }
        else
        {
            var (parts, owners) = (push.Parts, push.Owners);
            var groups = GroupBySilo(parts.Length, i => owners[i], i => parts[i].Shard);
            await (groups.Count == 1
                ? PushGroupAsync(groups[0].Silo, parts, owners)
                : Task.WhenAll(groups.Select(g => PushGroupAsync(g.Silo, [.. g.Members.Select(i => parts[i])], [.. g.Members.Select(i => owners[i])]))));
        }

        Acknowledge(push);
    }

    /// <summary>Counts a push's sent parts as applied and gives their gradient blocks back (no retry sends them again).</summary>
    private static void Acknowledge(PushPrep push)
    {
        var (parts, owners) = (push.Parts, push.Owners);
        for (int i = 0; i < parts.Length; i++)
        {
            owners[i].Acknowledge(parts[i].Shard, parts[i].Request.Ids.Length);
            parts[i].Request.Gradients.Return();
            // A table's parts stand together: its duration is recorded once, at its first part.
            if (i == 0 || !ReferenceEquals(owners[i], owners[i - 1]))
            {
                owners[i].RecordDuration(push.Start, push: true);
            }
        }
    }

    private static Task PushPerShardAsync(ShardPush[] parts, TableClient[] owners) =>
        Task.WhenAll(parts.Select((p, i) => owners[i].PushPartAsync(p.Shard, p.Request)));

    /// <summary>One silo's parts of a push as one call (any silo's router when <paramref name="silo"/> is null), or one call per shard after a transient failure.</summary>
    private async Task PushGroupAsync(SiloRoute? silo, ShardPush[] parts, TableClient[] owners)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            await _silos.Of(silo).Push(new StepPush(parts));
        }
        catch (Exception e) when (RetryPolicy.IsTransient(e) && owners[0].Retry.MaxAttempts > 0)
        {
            // As with a shard call retried: a part applied before the failure may be applied twice, the usual trade
            // of asynchronous SGD against losing the step.
            var firstFailure = DateTimeOffset.UtcNow;
            _silos.Failed(silo, e);
            await PushPerShardAsync(parts, owners);
            for (int i = 0; i < parts.Length; i++)
            {
                owners[i].RecordRecovery(parts[i].Shard, firstFailure, e);
                owners[i].LookUpPlacement(onlyFirst: false);
            }
        }
    }

    private static async Task<ShardRows[]> PerShardAsync(IReadOnlyList<TablePull> pulls, List<(int Table, ShardCall Call, int Part)> parts)
    {
        var calls = new List<Task<RowBlock>>(parts.Count);
        foreach (var (t, call, _) in parts)
        {
            calls.Add(pulls[t].Table.PullPartAsync(call.Shard, new PullRequest(call.Ids)));
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

    internal StepTicket((TableClient Table, int Rows)[] pulled, ShardPlan[] plans, ShardRows?[] answers, LocalSlots[]? locals, WireValues wire)
    {
        _pulled = pulled;
        Plans = plans;
        Answers = answers;
        Locals = locals;
        Wire = wire;
    }

    /// <summary>How the pull's values travelled, and so how the push's gradients do.</summary>
    public WireValues Wire { get; }

    internal ShardPlan[] Plans { get; }

    /// <summary>The router's answer of every part sent, null for a part served in process.</summary>
    internal ShardRows?[] Answers { get; }

    /// <summary>The slots of every part served in process (pooled), or null when the client has no co-hosted silo.</summary>
    internal LocalSlots[]? Locals { get; }

    /// <summary>The slots a co-hosted shard answered for a part (a pooled array, at least as long as the part) and its store generation.</summary>
    internal readonly record struct LocalSlots(int[]? Slots, int Generation);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Release(Plans, Locals);
        }
    }

    internal static void Release(ShardPlan[] plans, LocalSlots[]? locals)
    {
        foreach (var plan in plans)
        {
            if (plan.Positions is not null)
            {
                plan.Dispose();
            }
        }

        if (locals is not null)
        {
            for (int i = 0; i < locals.Length; i++)
            {
                if (locals[i].Slots is { } slots)
                {
                    System.Buffers.ArrayPool<int>.Shared.Return(slots);
                    locals[i] = default;
                }
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
