using ParameterServer.Abstractions;

namespace ParameterServer.Silo;

/// <summary>Whether this silo is an active member of its cluster and its shards can write their checkpoints (what <c>/ready</c> reports).</summary>
internal static class SiloReadiness
{
    /// <summary>Null when ready; else why not, in one line.</summary>
    public static string? NotReady(IServiceProvider services)
    {
        if (!IsActive(services))
        {
            return "silo not active";
        }

        if (services.GetService<MembershipWatch>()?.Trouble is { } trouble)
        {
            return $"not a member in good standing: {ErrorText.MaskSecrets(trouble)}";
        }

        var health = services.GetService<ParameterServer.Grains.CheckpointHealth>();
        return health is { Failing: > 0 } ? $"checkpoints failing on {health.Failing} shard(s): {health.FirstError}" : null;
    }

    public static bool IsActive(IServiceProvider services)
    {
        var local = services.GetService<ILocalSiloDetails>();
        var membership = services.GetService<IClusterMembershipService>();
        if (local is null || membership is null)
        {
            return false;
        }

        return membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress) == SiloStatus.Active;
    }
}
