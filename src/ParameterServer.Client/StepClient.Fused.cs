using ParameterServer.Abstractions;
using ParameterServer.Core.Routing;

namespace ParameterServer.Client;

/// <summary>A step's push and a later step's pull in one call per silo (<see cref="IStepService.PushPull"/>).</summary>
public sealed partial class StepClient
{
    /// <summary>
    /// Pushes <paramref name="pushes"/> (as <see cref="PushAsync(IReadOnlyList{TablePush}, StepTicket?)"/>) and
    /// pulls <paramref name="pulls"/> (as <see cref="PullAsync"/>) with one call to each silo that holds parts of
    /// either: a silo applies the push's parts before it reads the pull's, so a worker whose next batch is already
    /// in flight sends one message per silo per step instead of two. Parts served by a co-hosted silo are applied,
    /// then read, in process. Checks are those of the two calls made apart: a bad push throws before anything is
    /// sent; a push part a shard refuses (<see cref="ArgumentException"/>) fails the push's task only, and the pull is
    /// still answered; any other failure of a call fails both tasks.
    /// </summary>
    /// <param name="pushes">Each table's ids and gradients.</param>
    /// <param name="ticket">The ticket of the pull of the pushed rows, or null (see <see cref="PushAsync(IReadOnlyList{TablePush}, StepTicket?)"/>).</param>
    /// <param name="pulls">Each table's ids and where their rows go.</param>
    /// <param name="wire">How the pulled rows, and the gradients of the push made with the answered ticket, travel.</param>
    /// <returns>The push's task, and the pull's ticket (for the push of its own rows).</returns>
    public (Task Push, Task<StepTicket> Pull) PushThenPull(IReadOnlyList<TablePush> pushes, StepTicket? ticket, IReadOnlyList<TablePull> pulls, WireValues wire = WireValues.Float32) =>
        PushThenPull(pushes, ticket, distinctIds: false, pulls, wire);

    /// <summary><see cref="PushThenPull(IReadOnlyList{TablePush}, StepTicket?, IReadOnlyList{TablePull}, WireValues)"/> for the project's trainers, whose ids do not repeat (as <see cref="PushAsync(IReadOnlyList{TablePush}, StepTicket?, bool)"/>).</summary>
    internal (Task Push, Task<StepTicket> Pull) PushThenPull(IReadOnlyList<TablePush> pushes, StepTicket? ticket, bool distinctIds, IReadOnlyList<TablePull> pulls, WireValues wire)
    {
        var push = PreparePush(pushes, ticket, distinctIds);
        PullPrep pull;
        try
        {
            pull = PreparePull(pulls, wire);
        }
        catch
        {
            // The push is ready (its gradients gathered, its local parts applied): it goes alone.
            _ = Send(push);
            throw;
        }

        if (push.Parts.Length == 0 || pull.Parts.Length == 0 || push.Direct || pull.Direct)
        {
            return (Send(push), Send(pull));
        }

        var (parts, owners, remote) = (push.Parts, push.Owners, pull.Remote);
        var pushGroups = GroupBySilo(parts.Length, i => owners[i], i => parts[i].Shard);
        var pullGroups = GroupBySilo(pull.Parts.Length, i => pulls[remote[i].Table].Table, i => remote[i].Call.Shard);
        if (pushGroups.Count == 1 && pullGroups.Count == 1 && string.Equals(pushGroups[0].Silo?.Silo, pullGroups[0].Silo?.Silo, StringComparison.Ordinal))
        {
            // One silo holds every part (the common case): the parts go as they are, without regrouping.
            var call = PushPullGroupAsync(pullGroups[0].Silo, parts, owners, pulls, remote, pull.Parts, wire);
            return (WithRefusal(push, AcknowledgeAfter(push, [RefusalOf(call)])), FinishPullAsync(pull, RowsOf(call)));
        }

        var pushCalls = new List<Task>(pushGroups.Count);
        var pullCalls = new List<(List<int> Members, Task<ShardRows[]> Rows)>(pullGroups.Count);
        bool[] paired = new bool[pushGroups.Count];
        foreach (var (silo, members) in pullGroups)
        {
            List<(int, ShardCall, int)> groupRemote = [.. members.Select(i => remote[i])];
            ShardPull[] groupParts = [.. members.Select(i => pull.Parts[i])];
            int g = pushGroups.FindIndex(p => string.Equals(p.Silo?.Silo, silo?.Silo, StringComparison.Ordinal));
            if (g < 0)
            {
                pullCalls.Add((members, PullGroupAsync(silo, pulls, groupRemote, groupParts, wire)));
                continue;
            }

            paired[g] = true;
            var pushMembers = pushGroups[g].Members;
            var both = PushPullGroupAsync(silo, [.. pushMembers.Select(i => parts[i])], [.. pushMembers.Select(i => owners[i])], pulls, groupRemote, groupParts, wire);
            pushCalls.Add(RefusalOf(both));
            pullCalls.Add((members, RowsOf(both)));
        }

        for (int g = 0; g < pushGroups.Count; g++)
        {
            if (!paired[g])
            {
                var pushMembers = pushGroups[g].Members;
                pushCalls.Add(PushGroupAsync(pushGroups[g].Silo, [.. pushMembers.Select(i => parts[i])], [.. pushMembers.Select(i => owners[i])]));
            }
        }

        return (WithRefusal(push, AcknowledgeAfter(push, pushCalls)), FinishPullAsync(pull, Gathered(pull.Parts.Length, pullCalls)));

        static async Task RefusalOf(Task<(ShardRows[] Rows, ArgumentException? Refused)> call)
        {
            if ((await call).Refused is { } refused)
            {
                throw refused;
            }
        }

        static async Task<ShardRows[]> RowsOf(Task<(ShardRows[] Rows, ArgumentException? Refused)> call) => (await call).Rows;
    }

    private static async Task AcknowledgeAfter(PushPrep push, List<Task> calls)
    {
        await Task.WhenAll(calls);
        Acknowledge(push);
    }

    /// <summary>
    /// One silo's push and pull parts as one call (any silo's router when <paramref name="silo"/> is null); after a
    /// transient failure, the push's parts and then the pull's go as one call per shard, as each would alone.
    /// </summary>
    private async Task<(ShardRows[] Rows, ArgumentException? Refused)> PushPullGroupAsync(SiloRoute? silo, ShardPush[] pushParts, TableClient[] owners, IReadOnlyList<TablePull> pulls, List<(int Table, ShardCall Call, int Part)> remote, ShardPull[] pullParts, WireValues wire)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            var answer = await _silos.Of(silo).PushPull(new StepPush(pushParts), new StepPull(pullParts, wire));
            if (answer.Forwarded > 0)
            {
                foreach (var (t, _, _) in remote)
                {
                    pulls[t].Table.LookUpPlacement(onlyFirst: false);
                }
            }

            return (answer.Parts, answer.PushRefused is { } message ? new ArgumentException(message) : null);
        }
        catch (Exception e) when (RetryPolicy.IsTransient(e) && owners[0].Retry.MaxAttempts > 0)
        {
            var firstFailure = DateTimeOffset.UtcNow;
            _silos.Failed(silo, e);
            ArgumentException? refused = null;
            try
            {
                await PushPerShardAsync(pushParts, owners);
            }
            catch (ArgumentException pushRefused)
            {
                refused = pushRefused;
            }

            var rows = await PerShardAsync(pulls, remote);
            for (int i = 0; i < pushParts.Length; i++)
            {
                owners[i].RecordRecovery(pushParts[i].Shard, firstFailure, e);
                owners[i].LookUpPlacement(onlyFirst: false);
            }

            foreach (var (t, call, _) in remote)
            {
                pulls[t].Table.RecordRecovery(call.Shard, firstFailure, e);
                pulls[t].Table.LookUpPlacement(onlyFirst: false);
            }

            return (rows, refused);
        }
    }
}
