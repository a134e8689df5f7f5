using Microsoft.Extensions.Logging;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>
/// One of this silo's step services (<see cref="ISiloStepService"/>), a system target at
/// <see cref="SiloStepServiceId"/>. A system target runs one turn at a time; a silo runs
/// <see cref="SiloStepServiceId.PerSilo"/> of them, so steps from several workers use its cores at once, as the
/// shards' locks allow. A step is served in the turn that received it: handing it to another thread costs a thread
/// wake-up per call, which on a machine shared by several silos cost more than the step's own work (measured).
/// </summary>
public sealed class SiloStepService : GrainService, ISiloStepService
{
    private readonly StepServer _server;

    /// <summary>Created by the silo (see <see cref="ParameterServerSilo.AddParameterServer"/>).</summary>
    public SiloStepService(GrainId id, Silo silo, ILoggerFactory loggers, LocalShards shards, IGrainFactory grains)
        : base(id, silo, loggers)
    {
        _server = new StepServer(shards, grains);
    }

    /// <summary>The address service <paramref name="n"/> is registered with; the silo puts its own address in.</summary>
    internal static GrainId Template(int n) => SiloStepServiceId.At(n, SiloAddress.Zero);

    /// <inheritdoc/>
    public Task<StepRows> Pull(StepPull request) => _server.Pull(request);

    /// <inheritdoc/>
    public Task Push(StepPush request) => _server.Push(request);

    /// <inheritdoc/>
    public Task<StepRows> PushPull(StepPush push, StepPull pull) => _server.PushPull(push, pull);
}
