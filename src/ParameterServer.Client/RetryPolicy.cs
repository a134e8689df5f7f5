namespace ParameterServer.Client;

/// <summary>
/// How a worker rides out a silo that dies or an activation that moves: a call that fails with a transient error
/// is sent again after a delay that doubles from <see cref="InitialDelay"/> up to <see cref="MaxDelay"/>, until it
/// succeeds, <see cref="MaxAttempts"/> retries were made or <see cref="Deadline"/> passed since the first failure.
/// Bad input (<see cref="ArgumentException"/>, unknown table) is never retried.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>The default: 30 retries, 50 ms doubling to 2 s, 120 s in all.</summary>
    public static readonly RetryPolicy Default = new();

    /// <summary>No retries.</summary>
    public static readonly RetryPolicy None = new() { MaxAttempts = 0 };

    /// <summary>Most retries of one call. Default 30.</summary>
    public int MaxAttempts { get; init; } = 30;

    /// <summary>Delay before the first retry. Default 50 ms.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest delay between retries. Default 2 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Give up this long after the first failure. Default 120 s.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Runs <paramref name="call"/> (which must be safe to repeat), retrying transient failures as this policy says.</summary>
    public async Task RunAsync(Func<Task> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var delay = InitialDelay;
        DateTimeOffset? firstFailure = null;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception e) when (IsTransient(e) && attempt < MaxAttempts && DateTimeOffset.UtcNow - (firstFailure ??= DateTimeOffset.UtcNow) < Deadline)
            {
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    /// <summary>Runs <paramref name="call"/> (which must be safe to repeat) and answers its result, retrying transient failures as this policy says.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        T result = default!;
        // Typed as Func<Task>: an async lambda that assigns would otherwise bind to this overload again.
        Func<Task> run = async () => result = await call();
        await RunAsync(run);
        return result;
    }

    /// <summary>Whether <paramref name="e"/> is worth another try: the silo or connection went away, or the call timed out.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        ArgumentException or KeyNotFoundException => false,
        SiloUnavailableException or OrleansMessageRejectionException or TimeoutException => true,
        OrleansException o => o.InnerException is { } inner ? IsTransient(inner) : !o.Message.Contains("refused", StringComparison.Ordinal),
        System.Net.Sockets.SocketException or IOException => true,
        AggregateException a => a.InnerExceptions.All(IsTransient),
        _ => e.GetType().Name.Contains("Connection", StringComparison.Ordinal),
    };
}

/// <summary>A shard call that failed and then succeeded: when, and after how many retries.</summary>
/// <param name="Table">Table.</param>
/// <param name="Shard">Shard index.</param>
/// <param name="FirstFailure">When the call first failed.</param>
/// <param name="Recovered">When a retry succeeded.</param>
/// <param name="Retries">Retries it took.</param>
/// <param name="Error">The first error.</param>
public sealed record Recovery(string Table, int Shard, DateTimeOffset FirstFailure, DateTimeOffset Recovered, int Retries, string Error);
