using Orleans.Placement;
using Orleans.Runtime.Placement;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>
/// Places a grain on the silo its key names (<see cref="SiloStepRouterKey"/>): the silo whose identity
/// (<c>SiloAddress.ToString()</c>, as shards report it) is the key's silo part. A key whose silo is not an active,
/// compatible silo (it left, or the caller's view is stale) places the grain on the silo deciding, else at random:
/// the grain still works there, only further from the rows.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("ps.SiloTargetedPlacement")]
public sealed class SiloTargetedPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static SiloTargetedPlacement Instance { get; } = new();
}

/// <summary>Marks a grain class as placed by <see cref="SiloTargetedPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloTargetedPlacementAttribute() : PlacementAttribute(SiloTargetedPlacement.Instance);

/// <summary>The placement director of <see cref="SiloTargetedPlacement"/>.</summary>
public sealed class SiloTargetedPlacementDirector : IPlacementDirector
{
    /// <inheritdoc/>
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        string wanted = SiloStepRouterKey.SiloOf(target.GrainIdentity.Key.ToString() ?? "");
        foreach (var silo in silos)
        {
            if (string.Equals(silo.ToString(), wanted, StringComparison.Ordinal))
            {
                return Task.FromResult(silo);
            }
        }

        return Task.FromResult(Array.IndexOf(silos, context.LocalSilo) >= 0 ? context.LocalSilo : silos[Random.Shared.Next(silos.Length)]);
    }
}
