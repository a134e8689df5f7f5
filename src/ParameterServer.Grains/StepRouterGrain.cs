using Orleans.Concurrency;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>The step service on whichever silo receives the call (<see cref="IStepRouter"/>).</summary>
[StatelessWorker]
public sealed class StepRouterGrain(LocalShards shards, IGrainFactory grains) : Grain, IStepRouter
{
    private readonly StepServer _server = new(shards, grains);

    /// <inheritdoc/>
    public Task<StepRows> Pull(StepPull request) => _server.Pull(request);

    /// <inheritdoc/>
    public Task Push(StepPush request) => _server.Push(request);

    /// <inheritdoc/>
    public Task<StepRows> PushPull(StepPush push, StepPull pull) => _server.PushPull(push, pull);
}

