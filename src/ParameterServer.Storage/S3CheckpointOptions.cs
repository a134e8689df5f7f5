namespace ParameterServer.Storage;

/// <summary>
/// Checkpoints in Amazon S3 or a server that speaks its API (configuration section <c>Checkpoints:S3</c>). Set
/// <see cref="Bucket"/> to use it. The bucket is created on start when it is missing.
/// </summary>
public sealed class S3CheckpointOptions
{
    /// <summary>Bucket of the checkpoints. Default none: S3 is not used.</summary>
    public string? Bucket { get; set; }

    /// <summary>Prefix of every key (a folder per cluster, say <c>prod/</c>). Default none.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Region of the bucket. Default <c>us-east-1</c>.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>
    /// Endpoint of an S3-compatible server (MinIO, Ceph, an emulator), for example <c>http://127.0.0.1:4568</c>;
    /// keys are then addressed by path (<c>/bucket/key</c>). Default none: Amazon S3 in <see cref="Region"/>.
    /// </summary>
    public string? ServiceUrl { get; set; }

    /// <summary>
    /// Access key id. Default none: the AWS SDK's default credentials (environment, web identity such as EKS' IRSA,
    /// instance profile).
    /// </summary>
    public string? AccessKey { get; set; }

    /// <summary>Secret access key (a secret: never logged); goes with <see cref="AccessKey"/>.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Whether these options choose S3.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Bucket);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!Enabled)
        {
            return;
        }

        // S3's rule for bucket names (the common part): 3-63 characters, lowercase letters, digits, dots and hyphens.
        if (Bucket!.Length is < 3 or > 63 || !Bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
            || !char.IsAsciiLetterOrDigit(Bucket[0]) || !char.IsAsciiLetterOrDigit(Bucket[^1]))
        {
            throw new ArgumentException($"Checkpoints:S3:Bucket = '{Bucket}' is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens).");
        }

        if (ServiceUrl is { Length: > 0 } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"Checkpoints:S3:ServiceUrl = '{url}' is not an http(s) URL.");
        }

        if (string.IsNullOrWhiteSpace(AccessKey) != string.IsNullOrWhiteSpace(SecretKey))
        {
            throw new ArgumentException("Checkpoints:S3:AccessKey and Checkpoints:S3:SecretKey go together: give both, or neither for the SDK's default credentials.");
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            throw new ArgumentException("Checkpoints:S3:Region is empty.");
        }

        ObjectKeys.ValidatePrefix("Checkpoints:S3:Prefix", Prefix);
    }
}
