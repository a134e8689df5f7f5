namespace ParameterServer.Storage;

/// <summary>
/// Checkpoints in Azure Blob Storage (configuration section <c>Checkpoints:Blob</c>). Set <see cref="Container"/> to
/// use it. The container is created on start when it is missing.
/// </summary>
public sealed class BlobCheckpointOptions
{
    /// <summary>
    /// The storage account's connection string (a secret: give it through an environment variable or a Kubernetes
    /// Secret; it never reaches a log). For Azurite: <c>UseDevelopmentStorage=true</c> or its full development string.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Container of the checkpoints. Default none: Blob storage is not used.</summary>
    public string? Container { get; set; }

    /// <summary>Prefix of every blob name (a folder per cluster, say <c>prod/</c>). Default none.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Whether these options choose Blob storage.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Container);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!Enabled)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException($"Checkpoints:Blob:Container = '{Container}' needs Checkpoints:Blob:ConnectionString (the storage account's connection string).");
        }

        // Azure's rule for container names: 3-63 characters, lowercase letters, digits and single hyphens inside.
        if (Container!.Length is < 3 or > 63 || !Container.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            || Container.StartsWith('-') || Container.EndsWith('-') || Container.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Checkpoints:Blob:Container = '{Container}' is not a container name (3 to 63 lowercase letters, digits and single inner hyphens).");
        }

        ObjectKeys.ValidatePrefix("Checkpoints:Blob:Prefix", Prefix);
    }
}
