namespace ParameterServer.Core.Storage.Checkpoints;

/// <summary>
/// The few operations of object storage (Azure Blob, S3 and what speaks their APIs) that checkpoints need. An object
/// is written whole or not at all: a reader never sees part of a put, which is what makes a checkpoint's publication
/// atomic without a rename.
/// </summary>
public interface IObjectStore
{
    /// <summary>
    /// Writes <paramref name="content"/> (seekable, read from its start; a store may read it again to retry) under
    /// <paramref name="key"/>. With <paramref name="onlyIfAbsent"/>, returns false and writes nothing when the key
    /// exists (stores that cannot tell overwrite and return true). The caller keeps and disposes the stream.
    /// </summary>
    Task<bool> PutAsync(string key, Stream content, bool onlyIfAbsent, CancellationToken cancellationToken);

    /// <summary>The object's bytes, or null when there is no such key.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Every key that starts with <paramref name="prefix"/>, in any order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes the key; nothing happens when it is absent.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the container or bucket when it is missing, then writes, reads back and deletes a probe object under
    /// <paramref name="prefix"/>: the start-up check that turns a wrong endpoint, credential or name into one clear error.
    /// </summary>
    Task EnsureWritableAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Where a key lives, for messages (<c>s3://bucket/key</c>); never holds a credential.</summary>
    string Describe(string key);

    /// <summary>Whether <paramref name="e"/> says an object could not be read (as opposed to the store being unreachable).</summary>
    bool IsUnreadable(Exception e);

    /// <summary><paramref name="e"/> in one line: the store's status and error code and its message, or the network's cause.</summary>
    string Explain(Exception e);
}
