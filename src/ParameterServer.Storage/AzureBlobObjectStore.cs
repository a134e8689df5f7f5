using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Storage;

/// <summary>Objects as block blobs of one Azure Blob Storage container (or Azurite's).</summary>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly BlobContainerClient _container;
    private readonly string _where;

    /// <summary>Creates the store over <paramref name="container"/>.</summary>
    public AzureBlobObjectStore(BlobContainerClient container)
    {
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
        // The container's address without its query: a SAS connection string puts the signature there.
        _where = new UriBuilder(container.Uri) { Query = "" }.Uri.ToString().TrimEnd('/');
    }

    /// <summary>Creates the store from options (connection string and container).</summary>
    public static AzureBlobObjectStore Create(BlobCheckpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new AzureBlobObjectStore(new BlobContainerClient(options.ConnectionString, options.Container));
    }

    /// <inheritdoc/>
    public async Task<bool> PutAsync(string key, Stream content, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        var upload = new BlobUploadOptions { Conditions = onlyIfAbsent ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null };
        try
        {
            await _container.GetBlobClient(key).UploadAsync(content, upload, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (onlyIfAbsent && e.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var result = await _container.GetBlobClient(key).DownloadContentAsync(cancellationToken);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken))
        {
            keys.Add(blob.Name);
        }

        return keys;
    }

    /// <inheritdoc/>
    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        _container.GetBlobClient(key).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    /// <inheritdoc/>
    public async Task EnsureWritableAsync(string prefix, CancellationToken cancellationToken)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await ObjectProbe.RunAsync(this, prefix, cancellationToken);
    }

    /// <inheritdoc/>
    public string Describe(string key) => $"{_where}/{key}";

    /// <inheritdoc/>
    public bool IsUnreadable(Exception e) => e is RequestFailedException { Status: 404 or 416 };

    /// <inheritdoc/>
    public string Explain(Exception e) => e switch
    {
        // The SDK's message goes on with the request's headers over many lines: its first line says it all.
        RequestFailedException { Status: > 0 } r => $"{r.Status} {r.ErrorCode}: {r.Message.Split('\n')[0].Trim()}",
        AggregateException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };
}
