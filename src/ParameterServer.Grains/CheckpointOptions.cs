namespace ParameterServer.Grains;

/// <summary>
/// Where and how often shards write checkpoints (configuration section <c>Checkpoints</c>). With no
/// <see cref="Directory"/>, tables live in memory only, as long as the silo.
/// </summary>
public sealed class CheckpointOptions
{
    /// <summary>Directory of the checkpoint files (local, or a volume every silo shares). Default none: off.</summary>
    public string? Directory { get; set; }

    /// <summary>How often a shard whose rows changed writes a checkpoint. Default 30 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checkpoints kept per shard; older ones are deleted after a newer one is in place. Default 3.</summary>
    public int Keep { get; set; } = 3;

    /// <summary>Whether checkpoints are written at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Directory);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Interval < TimeSpan.FromMilliseconds(100) || Interval > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"Checkpoints:Interval = {Interval} must be between 100 ms and 1 day.");
        }

        if (Keep is < 1 or > 100)
        {
            throw new ArgumentException($"Checkpoints:Keep = {Keep} must be between 1 and 100.");
        }
    }
}
