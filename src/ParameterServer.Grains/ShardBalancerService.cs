using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>
/// This silo's side of balancing (<see cref="BalancingOptions"/>): while the silo is active it asks the balancer every
/// interval to spread the shards (so a silo that joins gets its share within a few intervals); when the silo stops
/// gracefully, before Orleans deactivates its grains, it asks the balancer to move this silo's shards to the others,
/// with their rows, and waits for them to go (up to the drain timeout). A crash skips that: shards then start
/// elsewhere from their checkpoints.
/// </summary>
public sealed partial class ShardBalancerService(
    BalancingOptions options,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    LocalShards local,
    CheckpointStoreHolder checkpoints,
    ILogger<ShardBalancerService> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle)
    {
        // Stages stop in reverse: Active stops first, while this silo is still an active member that can place and
        // forward grains, and before the membership marks it shutting down and the catalog deactivates everything.
        lifecycle.Subscribe(nameof(ShardBalancerService), ServiceLifecycleStage.Active, Start, Stop);
    }

    private Task Start(CancellationToken cancellationToken)
    {
        if (options.Enabled)
        {
            _loop = Task.Run(() => Loop(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    private async Task Loop(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(options.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    await grains.GetGrain<IShardBalancerGrain>(0).Balance(null).WaitAsync(stopping);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Membership changes make some balances fail (a silo left mid-way); the next tick plans again.
                    LogBalanceFailed(e.GetType().Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loop;
        await Drain(cancellationToken);
        await CheckpointRemaining();
    }

    /// <summary>
    /// Checkpoints of the shards still here, written now, before Orleans updates the membership (which can hang for
    /// minutes when its store is down) and deactivates grains (which writes them again only if rows changed since).
    /// </summary>
    private async Task CheckpointRemaining()
    {
        if (checkpoints.Store is null || local.Count == 0)
        {
            return;
        }

        var started = Stopwatch.StartNew();
        var writes = local.Keys.Select(k => grains.GetGrain<IShardGrain>(ShardKey.Of(k.Table, k.Index)).Checkpoint()).ToArray();
        try
        {
            await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(30));
            LogCheckpointedOnStop(writes.Length, started.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or OrleansException)
        {
            // Each failed write is logged and counted by its shard; deactivation tries once more.
            LogCheckpointOnStopFailed(writes.Count(w => !w.IsCompletedSuccessfully), writes.Length, e.Message);
        }
    }

    private async Task Drain(CancellationToken cancellationToken)
    {
        if (!options.Enabled || local.Count == 0)
        {
            return;
        }

        var self = silo.SiloAddress;
        bool others = membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self));
        if (!others)
        {
            return; // the last silo: its shards stop with it (and start from their checkpoints next time)
        }

        var started = Stopwatch.StartNew();
        int held = local.Count;
        try
        {
            int moves = await grains.GetGrain<IShardBalancerGrain>(0).Balance(self).WaitAsync(options.DrainTimeout, cancellationToken);
            LogDraining(held, moves);
            // Each moved shard leaves this silo's local shards as its old activation deactivates.
            var left = options.DrainTimeout - started.Elapsed;
            if (left > TimeSpan.Zero)
            {
                await local.WhenEmpty().WaitAsync(left, cancellationToken);
            }
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or OrleansException)
        {
            LogBalanceFailed(e.GetType().Name, e.Message);
        }

        if (local.Count > 0)
        {
            LogDrainIncomplete(local.Count, held, started.Elapsed.TotalSeconds);
        }
        else
        {
            LogDrained(held, started.Elapsed.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: checkpoints of the {Shards} shards still here written in {Seconds:F1} s, before leaving the membership")]
    private partial void LogCheckpointedOnStop(int shards, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopping: {Failed} of {Shards} checkpoints could not be written ({Reason})")]
    private partial void LogCheckpointOnStopFailed(int failed, int shards, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: moving this silo's {Held} shards to the other silos ({Moves} moves asked for)")]
    private partial void LogDraining(int held, int moves);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: all {Held} shards moved away with their rows in {Seconds:F1} s")]
    private partial void LogDrained(int held, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping with {Left} of {Held} shards still here after {Seconds:F1} s: they will start elsewhere from their checkpoints")]
    private partial void LogDrainIncomplete(int left, int held, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard balance failed ({Kind}: {Message}); trying again at the next interval")]
    private partial void LogBalanceFailed(string kind, string message);
}
