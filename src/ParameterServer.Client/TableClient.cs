using System.Diagnostics;
using ParameterServer.Abstractions;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Kernels;
using ParameterServer.Core.Routing;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Client;

/// <summary>
/// The worker's view of one table, shaped after ps-lite: <see cref="PullAsync"/> rows into the caller's buffer,
/// <see cref="PushAsync"/> gradients. Ids are grouped by shard (<c>mix64(id) % shards</c>) and each shard gets
/// one call per step (split only when a call would exceed <see cref="MaxBytesPerCall"/>); calls run in parallel.
/// Thread-safe: several worker loops may share one instance.
/// </summary>
public sealed partial class TableClient : IRowClient
{
    /// <summary>Largest value payload of one call; bigger groups are split so messages stay far below Orleans' limit.</summary>
    public const int MaxBytesPerCall = 8 << 20;

    private readonly IShardGrain[] _shards;
    private readonly int _maxRowsPerCall;
    private readonly KeyValuePair<string, object?> _tableTag;

    /// <summary>Creates a client for the table of <paramref name="spec"/>.</summary>
    public TableClient(IGrainFactory grains, TableSpec spec)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        _table = grains.GetGrain<ITableGrain>(spec.Name);
        _shards = new IShardGrain[spec.Shards];
        for (int i = 0; i < _shards.Length; i++)
        {
            _shards[i] = grains.GetGrain<IShardGrain>(ShardKey.Of(spec.Name, i));
        }

        _maxRowsPerCall = Math.Max(1, MaxBytesPerCall / (spec.Dim * sizeof(float)));
        _tableTag = Table(spec.Name);
        _rowsAcknowledged = new long[spec.Shards];
    }

    /// <summary>The table.</summary>
    public TableSpec Spec { get; }

    /// <summary>Values per row.</summary>
    public int Dim => Spec.Dim;

    /// <summary>How transient failures are retried. Default <see cref="RetryPolicy.Default"/>.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>Shard calls retried after a transient failure.</summary>
    public long RetryCount => Interlocked.Read(ref _retries);

    /// <summary>Shard calls that failed and then succeeded, oldest first.</summary>
    public IReadOnlyCollection<Recovery> Recoveries => [.. _recoveries];

    /// <summary>Rows of pushes to shard <paramref name="shard"/> that were acknowledged (applied or refused).</summary>
    public long RowsAcknowledged(int shard) => Interlocked.Read(ref _rowsAcknowledged[shard]);

    private long _retries;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Recovery> _recoveries = new();
    private readonly long[] _rowsAcknowledged;

    /// <summary>Calls made to shards (pulls and pushes).</summary>
    public long Calls => Interlocked.Read(ref _calls);

    private long _calls;
    private long _bytesSent;
    private long _bytesReceived;

    /// <summary>Payload bytes this client's pulls and pushes sent (ids, and gradients of pushes).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Payload bytes this client's pulls received (the rows' values).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>
    /// Copies the rows of <paramref name="ids"/> into <paramref name="destination"/> (row-major, <c>ids.Length x dim</c>).
    /// Rows that do not exist yet are created with their deterministic initial values.
    /// </summary>
    public async Task PullAsync(ReadOnlyMemory<long> ids, Memory<float> destination)
    {
        if (destination.Length < ids.Length * Dim)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; {ids.Length} rows of dim {Dim} need {ids.Length * Dim}.", nameof(destination));
        }

        if (ids.Length == 0)
        {
            return;
        }

        long start = Stopwatch.GetTimestamp();
        var plan = Plan(ids.Span);
        try
        {
            var calls = new Task<RowBlock>[plan.Calls.Count];
            for (int c = 0; c < calls.Length; c++)
            {
                var call = plan.Calls[c];
                calls[c] = _shards[call.Shard].Pull(new PullRequest(call.Ids));
            }

            Interlocked.Add(ref _calls, calls.Length);
            Interlocked.Add(ref _bytesSent, ids.Length * sizeof(long));
            Interlocked.Add(ref _bytesReceived, (long)ids.Length * Dim * sizeof(float));
            try
            {
                await Task.WhenAll(calls);
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e) && Retry.MaxAttempts > 0)
            {
                // Only the calls that failed go again; pulls are idempotent.
                for (int c = 0; c < calls.Length; c++)
                {
                    if (!calls[c].IsCompletedSuccessfully)
                    {
                        var call = plan.Calls[c];
                        var request = new PullRequest(call.Ids);
                        calls[c] = Task.FromResult(await RetryAsync(call.Shard, calls[c], () => _shards[call.Shard].Pull(request)));
                    }
                }
            }

            var dest = destination.Span;
            for (int c = 0; c < calls.Length; c++)
            {
                Scatter(plan, plan.Calls[c], calls[c].Result, dest);
                calls[c].Result.Return(); // copied out; a block read off the wire goes back to the pool
            }

            ClientDuration.Record(SecondsSince(start), _tableTag, PullTag);
        }
        finally
        {
            plan.Dispose();
        }
    }

    /// <summary>
    /// Sends the gradients of distinct rows <paramref name="ids"/> (row-major in <paramref name="gradients"/>).
    /// The values are copied before this returns, so the caller may reuse its buffers at once; the task completes
    /// when every shard has applied (or refused) its part.
    /// </summary>
    public Task PushAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients)
    {
        if (gradients.Length != ids.Length * Dim)
        {
            throw new ArgumentException($"Push to table '{Spec.Name}': {gradients.Length} gradient values for {ids.Length} rows of dim {Dim}.", nameof(gradients));
        }

        if (ids.Length == 0)
        {
            return Task.CompletedTask;
        }

        // The whole push is checked here, before any shard sees it: a bad row must not leave the other shards'
        // rows updated. Shards check their part again (other clients may not use this class).
        CheckPush(ids.Span, gradients.Span);
        long start = Stopwatch.GetTimestamp();
        var plan = Plan(ids.Span);
        try
        {
            var g = gradients.Span;
            var calls = new Task[plan.Calls.Count];
            var requests = new PushRequest[calls.Length];
            var shardOf = new int[calls.Length];
            for (int c = 0; c < calls.Length; c++)
            {
                var call = plan.Calls[c];
                requests[c] = new PushRequest(call.Ids, Gather(g, plan, call));
                shardOf[c] = call.Shard;
                calls[c] = _shards[call.Shard].Push(requests[c]);
            }

            Interlocked.Add(ref _calls, calls.Length);
            Interlocked.Add(ref _bytesSent, ids.Length * (sizeof(long) + ((long)Dim * sizeof(float))));
            return CompletePushAsync(calls, requests, shardOf, start);
        }
        finally
        {
            plan.Dispose();
        }
    }

    /// <summary>Copies the rows <paramref name="block"/> answered for <paramref name="call"/> to their positions in <paramref name="dest"/>.</summary>
    internal void Scatter(ShardPlan plan, ShardCall call, RowBlock block, Span<float> dest)
    {
        var values = block.Values;
        if (block.Rows != call.Ids.Length || values.Length != call.Ids.Length * Dim)
        {
            throw new InvalidOperationException($"Table '{Spec.Name}' shard {call.Shard} answered {block.Rows} rows of dim {block.Dim} for {call.Ids.Length} ids.");
        }

        plan.Scatter(call, values, dest, Dim);
    }

    /// <summary>Counts <paramref name="rows"/> rows of a push to <paramref name="shard"/> as acknowledged.</summary>
    internal void Acknowledge(int shard, int rows) => Interlocked.Add(ref _rowsAcknowledged[shard], rows);

    /// <summary>Records a pull's or push's duration on this table's client histogram.</summary>
    internal void RecordDuration(long start, bool push) => ClientDuration.Record(SecondsSince(start), _tableTag, push ? PushTag : PullTag);

    internal void CheckPush(ReadOnlySpan<long> ids, ReadOnlySpan<float> gradients, bool checkRepeats = true) =>
        CheckRows(ids, gradients, "Push", "gradient", "; sum its gradients before pushing", reason => PushesRefused.Add(1, _tableTag, new KeyValuePair<string, object?>(ReasonTag, reason)), checkRepeats);

    /// <summary>
    /// Refuses a push or write holding a NaN or infinity, or (unless the caller vouches its ids are distinct,
    /// <paramref name="checkRepeats"/> false) a repeated id, before any shard sees it.
    /// </summary>
    private void CheckRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, string verb, string noun, string repeatHint, Action<string>? refused = null, bool checkRepeats = true)
    {
        int bad = FiniteCheck.IndexOfNonFinite(values);
        if (bad >= 0)
        {
            refused?.Invoke("non_finite");
            throw new ArgumentException($"{verb} to table '{Spec.Name}' refused: {noun} of row id {ids[bad / Dim]} (position {bad / Dim}, component {bad % Dim}) is {values[bad]}; NaN and infinity are not accepted. No row was changed.");
        }

        int repeat = checkRepeats ? RepeatFinder.FirstRepeat(ids) : -1;
        if (repeat >= 0)
        {
            refused?.Invoke("duplicate");
            throw new ArgumentException($"{verb} to table '{Spec.Name}' refused: row id {ids[repeat]} appears more than once (again at position {repeat}){repeatHint}. No row was changed.");
        }
    }

    /// <summary>The values of <paramref name="call"/>'s rows, gathered from <paramref name="values"/> into one block.</summary>
    internal RowBlock Gather(ReadOnlySpan<float> values, ShardPlan plan, ShardCall call, WireValues wire = WireValues.Float32)
    {
        // Pooled: the push gives the array back once its shards acknowledged it (no call sends it again after that).
        var block = RowBlock.Rent(call.Ids.Length, Dim, wire);
        plan.Gather(call, values, block.Writable, Dim);

        return block;
    }

    private async Task CompletePushAsync(Task[] calls, PushRequest[] requests, int[] shardOf, long start)
    {
        try
        {
            await (calls.Length == 1 ? calls[0] : Task.WhenAll(calls));
        }
        catch (Exception e) when (RetryPolicy.IsTransient(e) && Retry.MaxAttempts > 0)
        {
            // A push whose answer was lost may have been applied already; sending it again is the usual trade of
            // asynchronous SGD (one step counted twice) against losing the step.
            for (int c = 0; c < calls.Length; c++)
            {
                if (!calls[c].IsCompletedSuccessfully)
                {
                    var request = requests[c];
                    int shard = shardOf[c];
                    await RetryAsync(shard, calls[c], () => _shards[shard].Push(request));
                }
            }
        }

        for (int c = 0; c < calls.Length; c++)
        {
            Interlocked.Add(ref _rowsAcknowledged[shardOf[c]], requests[c].Ids.Length);
            requests[c].Gradients.Return(); // acknowledged: no retry sends it again
        }

        ClientDuration.Record(SecondsSince(start), _tableTag, PushTag);
    }

    /// <summary>
    /// Counts one retry of shard <paramref name="shard"/>'s part of a step call that failed with
    /// <paramref name="error"/> at <paramref name="firstFailure"/> and then went through (the step client's fallback).
    /// </summary>
    internal void RecordRecovery(int shard, DateTimeOffset firstFailure, Exception error)
    {
        Interlocked.Increment(ref _retries);
        Retries.Add(1, _tableTag);
        _recoveries.Enqueue(new Recovery(Spec.Name, shard, firstFailure, DateTimeOffset.UtcNow, 1, error.GetType().Name + ": " + error.Message));
    }

    /// <summary>One shard's part of a pull, retried within <see cref="Retry"/> (the step client's fallback).</summary>
    internal Task<RowBlock> PullPartAsync(int shard, PullRequest request)
    {
        Interlocked.Increment(ref _calls);
        var call = _shards[shard].Pull(request);
        return Retry.MaxAttempts > 0 ? RetryAsync(shard, call, () => _shards[shard].Pull(request)) : call;
    }

    /// <summary>One shard's part of a push, retried within <see cref="Retry"/> (the step client's fallback).</summary>
    internal Task PushPartAsync(int shard, PushRequest request)
    {
        Interlocked.Increment(ref _calls);
        var call = _shards[shard].Push(request);
        return Retry.MaxAttempts > 0 ? RetryAsync(shard, call, () => _shards[shard].Push(request)) : call;
    }

    /// <summary>Retries a shard call that returns nothing after <paramref name="failed"/> failed, within <see cref="Retry"/>.</summary>
    private Task RetryAsync(int shard, Task failed, Func<Task> call) =>
        RetryAsync(shard, AsBool(failed), async () =>
        {
            await call();
            return true;
        });

    private static async Task<bool> AsBool(Task task)
    {
        await task;
        return true;
    }

    /// <summary>Retries one shard call after <paramref name="failed"/> failed, within <see cref="Retry"/>.</summary>
    private async Task<T> RetryAsync<T>(int shard, Task<T> failed, Func<Task<T>> call)
    {
        Exception error;
        try
        {
            return await failed;
        }
        catch (Exception e) when (RetryPolicy.IsTransient(e))
        {
            error = e;
        }

        var firstFailure = DateTimeOffset.UtcNow;
        var delay = Retry.InitialDelay;
        for (int attempt = 1; ; attempt++)
        {
            await Task.Delay(delay);
            delay = TimeSpan.FromTicks(Math.Min(Retry.MaxDelay.Ticks, delay.Ticks * 2));
            Interlocked.Increment(ref _retries);
            Retries.Add(1, _tableTag);
            try
            {
                var result = await call();
                _recoveries.Enqueue(new Recovery(Spec.Name, shard, firstFailure, DateTimeOffset.UtcNow, attempt, error.GetType().Name + ": " + error.Message));
                return result;
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e) && attempt < Retry.MaxAttempts && DateTimeOffset.UtcNow - firstFailure < Retry.Deadline)
            {
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e))
            {
                throw new InvalidOperationException($"Table '{Spec.Name}' shard {shard} still failing after {attempt} retries over {(DateTimeOffset.UtcNow - firstFailure).TotalSeconds:F0} s: {e.Message}", e);
            }
        }
    }

    private static readonly KeyValuePair<string, object?> PullTag = Operation("pull");
    private static readonly KeyValuePair<string, object?> PushTag = Operation("push");

    /// <summary>The routing of <paramref name="ids"/> to this table's shards, calls cut to the request size limit.</summary>
    internal ShardPlan Plan(ReadOnlySpan<long> ids) => ShardPlan.Of(ids, _shards.Length, _maxRowsPerCall);
}
