using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Grains;

/// <summary>
/// Before the silo joins its cluster, checks that the object store of the checkpoints can be written (creates the
/// container or bucket when missing, then writes, reads back and deletes a probe). A silo that could not checkpoint
/// must not take shards: it fails its start with one line that names the store and the cause.
/// </summary>
internal sealed class ObjectStoreStartCheck(ObjectCheckpointStore store, string where) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How long the check may take: the SDKs retry transient failures within it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ObjectStoreStartCheck), ServiceLifecycleStage.RuntimeInitialize, Check);

    private async Task Check(CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        try
        {
            await store.EnsureWritableAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"Checkpoints: {where} did not answer within {Timeout.TotalSeconds:0} s (check the endpoint and the network).");
        }
    }
}
