using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Storage;

/// <summary>Objects in one bucket of Amazon S3 or of a server that speaks its API.</summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly IAmazonS3 _s3;
    private readonly string _bucket;
    private readonly string _where;

    /// <summary>
    /// Creates the store over <paramref name="bucket"/> of <paramref name="s3"/>; <paramref name="where"/> names the
    /// bucket in messages (<c>s3://bucket</c>, or the path-style URL of an S3-compatible server).
    /// </summary>
    public S3ObjectStore(IAmazonS3 s3, string bucket, string where)
    {
        ArgumentNullException.ThrowIfNull(s3);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        _s3 = s3;
        _bucket = bucket;
        _where = where;
    }

    /// <summary>Creates the store from options (bucket, region or endpoint, credentials).</summary>
    public static S3ObjectStore Create(S3CheckpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = new AmazonS3Config
        {
            // Integrity is the checkpoint format's own checksum; asking for the SDK's optional trailing checksums
            // (aws-chunked uploads) would shut out S3-compatible servers that do not speak them.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(100),
            MaxErrorRetry = 4,
        };
        string where;
        if (options.ServiceUrl is { Length: > 0 } url)
        {
            config.ServiceURL = url;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.Region;
            where = $"{url.TrimEnd('/')}/{options.Bucket}";
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
            where = $"s3://{options.Bucket}";
        }

        var client = options.AccessKey is { Length: > 0 } key
            ? new AmazonS3Client(new BasicAWSCredentials(key, options.SecretKey), config)
            : new AmazonS3Client(config);
        return new S3ObjectStore(client, options.Bucket!, where);
    }

    /// <inheritdoc/>
    public async Task<bool> PutAsync(string key, Stream content, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        var request = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = content,
            UseChunkEncoding = false,
            AutoCloseStream = false,
        };
        if (onlyIfAbsent)
        {
            request.IfNoneMatch = "*";
        }

        try
        {
            await _s3.PutObjectAsync(request, cancellationToken);
            return true;
        }
        catch (AmazonS3Exception e) when (onlyIfAbsent && e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _s3.GetObjectAsync(_bucket, key, cancellationToken);
            var bytes = new MemoryStream(response.ContentLength > 0 ? (int)Math.Min(response.ContentLength, int.MaxValue) : 0);
            await response.ResponseStream.CopyToAsync(bytes, cancellationToken);
            return bytes.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix };
        while (true)
        {
            var page = await _s3.ListObjectsV2Async(request, cancellationToken);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
            {
                return keys;
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <inheritdoc/>
    public Task DeleteAsync(string key, CancellationToken cancellationToken) => _s3.DeleteObjectAsync(_bucket, key, cancellationToken);

    /// <inheritdoc/>
    public async Task EnsureWritableAsync(string prefix, CancellationToken cancellationToken)
    {
        try
        {
            await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket" || e.StatusCode == HttpStatusCode.NotFound)
        {
            try
            {
                await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken);
            }
            catch (AmazonS3Exception race) when (race.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
                // Silos that start together race to create it; the probe below tells whether the winner's bucket is usable.
            }
        }

        await ObjectProbe.RunAsync(this, prefix, cancellationToken);
    }

    /// <inheritdoc/>
    public string Describe(string key) => $"{_where}/{key}";

    /// <inheritdoc/>
    public bool IsUnreadable(Exception e) => e is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound or HttpStatusCode.RequestedRangeNotSatisfiable } s && s.ErrorCode != "NoSuchBucket";

    /// <inheritdoc/>
    public string Explain(Exception e) => e switch
    {
        AmazonS3Exception s3 => $"{(int)s3.StatusCode} {s3.ErrorCode}: {s3.Message}",
        AmazonServiceException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };

    /// <inheritdoc/>
    public void Dispose() => _s3.Dispose();
}
