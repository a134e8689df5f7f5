using ParameterServer.Core.Storage.Checkpoints;
using ParameterServer.Storage;

namespace ParameterServer.Grains;

/// <summary>
/// Where and how often shards write checkpoints (configuration section <c>Checkpoints</c>): a <see cref="Directory"/>,
/// an Azure Blob container (<see cref="Blob"/>) or an S3 bucket (<see cref="S3"/>), at most one. With none, tables
/// live in memory only, as long as the silo.
/// </summary>
public sealed class CheckpointOptions
{
    /// <summary>Directory of the checkpoint files (local, or a volume every silo shares). Default none.</summary>
    public string? Directory { get; set; }

    /// <summary>Azure Blob Storage (section <c>Checkpoints:Blob</c>); used when its container is set.</summary>
    public BlobCheckpointOptions Blob { get; set; } = new();

    /// <summary>S3 or an S3-compatible server (section <c>Checkpoints:S3</c>); used when its bucket is set.</summary>
    public S3CheckpointOptions S3 { get; set; } = new();

    /// <summary>How often a shard whose rows changed writes a checkpoint. Default 30 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checkpoints kept per shard; older ones are deleted after a newer one is in place. Default 3.</summary>
    public int Keep { get; set; } = 3;

    /// <summary>Whether checkpoints are written at all.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Directory) || Blob.Enabled || S3.Enabled;

    /// <summary>Where checkpoints go, for the start-up line (no credential): a directory, a container or a bucket; "off".</summary>
    public string Where =>
        Blob.Enabled ? $"Azure Blob container '{Blob.Container}'" + (Blob.Prefix.Length > 0 ? $" under '{Blob.Prefix}'" : "")
        : S3.Enabled ? (S3.ServiceUrl is { Length: > 0 } url ? $"{url.TrimEnd('/')}/{S3.Bucket}/{S3.Prefix}" : $"s3://{S3.Bucket}/{S3.Prefix}")
        : !string.IsNullOrWhiteSpace(Directory) ? Path.GetFullPath(Directory)
        : "off";

    /// <summary>The store these options name, or null when checkpoints are off.</summary>
    public ICheckpointStore? CreateStore() =>
        Blob.Enabled ? new ObjectCheckpointStore(AzureBlobObjectStore.Create(Blob), Blob.Prefix, Keep)
        : S3.Enabled ? new ObjectCheckpointStore(S3ObjectStore.Create(S3), S3.Prefix, Keep)
        : !string.IsNullOrWhiteSpace(Directory) ? new DirectoryCheckpointStore(Directory, Keep)
        : null;

    /// <summary>A copy whose secrets read "***", for printing.</summary>
    public CheckpointOptions Redacted() => new()
    {
        Directory = Directory,
        Interval = Interval,
        Keep = Keep,
        Blob = new BlobCheckpointOptions { ConnectionString = Blob.ConnectionString is null ? null : "***", Container = Blob.Container, Prefix = Blob.Prefix },
        S3 = new S3CheckpointOptions
        {
            Bucket = S3.Bucket,
            Prefix = S3.Prefix,
            Region = S3.Region,
            ServiceUrl = S3.ServiceUrl,
            AccessKey = S3.AccessKey,
            SecretKey = S3.SecretKey is null ? null : "***",
        },
    };

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

        string[] chosen = [.. new[] { ("Checkpoints:Directory", !string.IsNullOrWhiteSpace(Directory)), ("Checkpoints:Blob:Container", Blob.Enabled), ("Checkpoints:S3:Bucket", S3.Enabled) }
            .Where(c => c.Item2).Select(c => c.Item1)];
        if (chosen.Length > 1)
        {
            throw new ArgumentException($"{string.Join(" and ", chosen)} are both set: checkpoints go to one store; keep one.");
        }

        Blob.Validate();
        S3.Validate();
    }
}
