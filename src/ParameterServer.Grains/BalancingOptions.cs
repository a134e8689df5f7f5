namespace ParameterServer.Grains;

/// <summary>
/// How shards follow the silos (configuration section <c>Balancing</c>): every silo asks the balancer
/// (<see cref="Abstractions.IShardBalancerGrain"/>) every <see cref="Interval"/> to spread each table's shards evenly over
/// the active silos, and a silo that stops gracefully first moves its shards, with their rows, to the others.
/// </summary>
public sealed class BalancingOptions
{
    /// <summary>Whether shards move at all (joins, graceful leaves). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often each silo asks for a balance. Default 5 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a stopping silo waits for its shards to move before it stops anyway (they then start elsewhere from their checkpoints). Default 60 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Interval < TimeSpan.FromMilliseconds(100) || Interval > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"Balancing:Interval = {Interval} must be between 100 ms and 1 hour.");
        }

        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"Balancing:DrainTimeout = {DrainTimeout} must be between 0 and 1 hour.");
        }
    }
}
