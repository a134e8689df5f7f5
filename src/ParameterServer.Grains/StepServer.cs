using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>
/// A silo's entry point for a worker's whole step (<see cref="IStepService"/>): every part whose shard is active in
/// this silo is served in process through its <see cref="LocalShard"/> (under the store's lock, so it serializes with
/// the shard grain's own turns); a part whose shard is elsewhere, not yet active or deactivating becomes an ordinary
/// call to that shard grain, which activates it wherever placement puts it. The answer is the same either way; a pull
/// counts such parts in <see cref="StepRows.Forwarded"/>.
/// </summary>
public sealed class StepServer(LocalShards shards, IGrainFactory grains)
{
    /// <inheritdoc cref="IStepService.Pull"/>
    public async Task<StepRows> Pull(StepPull request)
    {
        var parts = Check(request?.Parts, p => p.Table, p => p.Shard, p => p.Request);
        var answers = new ShardRows[parts.Length];
        List<Task>? remote = null;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (shards.TryGet(part.Table, part.Shard, out var local) && local.TryPull(part.Request.Ids, withSlots: true, out var rows, out var slots, request!.Values))
            {
                answers[i] = new ShardRows(rows, slots);
            }
            else
            {
                (remote ??= []).Add(PullRemote(part, answers, i, request!.Values));
            }
        }

        if (remote is not null)
        {
            await Task.WhenAll(remote);
        }

        return new StepRows(answers, remote?.Count ?? 0);
    }

    /// <inheritdoc cref="IStepService.Push"/>
    public async Task Push(StepPush request)
    {
        var parts = Check(request?.Parts, p => p.Table, p => p.Shard, p => p.Request);
        List<Task>? remote = null;
        ArgumentException? refused = null;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            try
            {
                if (!shards.TryGet(part.Table, part.Shard, out var local) || !local.TryPush(part.Request, part.Slots))
                {
                    (remote ??= []).Add(ShardOf(part.Table, part.Shard).Push(part.Request));
                    continue;
                }
            }
            catch (ArgumentException e)
            {
                // The other parts go on, as separate shard calls would.
                refused ??= e;
            }

            // Applied (or refused) here and now. A block this silo read off the wire is its own to give back; one
            // passed by reference from a client in this process is the client's (it may send it again on a retry).
            if (part.Request.Gradients.FromWire)
            {
                part.Request.Gradients.Return();
            }
        }

        if (remote is not null)
        {
            await Task.WhenAll(remote);
        }

        if (refused is not null)
        {
            throw refused;
        }
    }

    /// <inheritdoc cref="IStepService.PushPull"/>
    public async Task<StepRows> PushPull(StepPush push, StepPull pull)
    {
        // The push's parts held here are applied before the pull reads (Push runs synchronously up to its first
        // await, which only parts forwarded to other silos reach), so the pulled rows include this step's update.
        var pushed = Push(push);
        var rows = await Pull(pull);
        try
        {
            await pushed;
        }
        catch (ArgumentException e)
        {
            return rows with { PushRefused = e.Message };
        }

        return rows;
    }

    // A shard elsewhere answers in float32; its rows go on to the worker as the worker asked.
    private async Task PullRemote(ShardPull part, ShardRows[] answers, int i, WireValues wire) =>
        answers[i] = new ShardRows((await ShardOf(part.Table, part.Shard).Pull(part.Request)).SentAs(wire), null);

    private IShardGrain ShardOf(string table, int shard) => grains.GetGrain<IShardGrain>(ShardKey.Of(table, shard));

    private static T[] Check<T>(T[]? parts, Func<T, string> table, Func<T, int> shard, Func<T, object?> body)
        where T : class
    {
        if (parts is null)
        {
            throw new ArgumentException("Step call refused: it has no parts.");
        }

        if (parts.Length > StepLimits.MaxParts)
        {
            throw new ArgumentException($"Step call refused: {parts.Length} parts is above the limit of {StepLimits.MaxParts}.");
        }

        foreach (var p in parts)
        {
            if (p is null || body(p) is null || string.IsNullOrEmpty(table(p)) || shard(p) < 0)
            {
                throw new ArgumentException("Step call refused: a part lacks its table, shard or rows.");
            }
        }

        return parts;
    }
}
