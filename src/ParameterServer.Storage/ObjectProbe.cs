using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Storage;

/// <summary>The start-up check every object store runs: write, read back and delete one small object.</summary>
internal static class ObjectProbe
{
    public static async Task RunAsync(IObjectStore store, string prefix, CancellationToken cancellationToken)
    {
        string key = $"{prefix}.probe-{Environment.MachineName}-{Guid.NewGuid():N}";
        byte[] payload = Guid.NewGuid().ToByteArray();
        await using (var content = new MemoryStream(payload, writable: false))
        {
            await store.PutAsync(key, content, onlyIfAbsent: false, cancellationToken);
        }

        try
        {
            byte[]? back = await store.GetAsync(key, cancellationToken);
            if (back is null || !back.AsSpan().SequenceEqual(payload))
            {
                throw new IOException($"{store.Describe(key)} did not read back what was written to it.");
            }
        }
        finally
        {
            await store.DeleteAsync(key, CancellationToken.None);
        }
    }
}
