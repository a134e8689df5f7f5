using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace ParameterServer.Silo;

/// <summary>Whether this silo is an active member of its cluster (what <c>/ready</c> reports).</summary>
internal static class SiloReadiness
{
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
