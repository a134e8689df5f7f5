using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using ParameterServer.Abstractions;
using ParameterServer.Core.Storage.Checkpoints;

namespace ParameterServer.Grains;

/// <summary>Configures a silo to host the parameter server's grains.</summary>
public static class ParameterServerSilo
{
    /// <summary>Name of the grain storage that holds table metadata.</summary>
    public const string MetadataStorage = "ps-metadata";

    /// <summary>How often a silo's stream pulling agents read the training-events queues (Orleans' default: 100 ms).</summary>
    private static readonly TimeSpan EventPollPeriod = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Adds what the grains need: the metadata storage (memory unless one named <see cref="MetadataStorage"/> is
    /// already registered), the training-events memory stream, checkpoints (off unless <paramref name="checkpoints"/>
    /// names a directory), message limits, the transport's block size (<see cref="TransportBlockSize"/>, default
    /// 64 KiB), shard balancing (<paramref name="balancing"/>, default on) and the step socket
    /// (<paramref name="stepSocket"/>; default off: a standalone silo's host turns it on). Call on every silo.
    /// </summary>
    public static ISiloBuilder AddParameterServer(this ISiloBuilder builder, bool memoryMetadata = true, CheckpointOptions? checkpoints = null,
        int transportBlockSize = TransportBlockSize.Default, BalancingOptions? balancing = null, StepSocketOptions? stepSocket = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        checkpoints ??= new CheckpointOptions();
        checkpoints.Validate();
        balancing ??= new BalancingOptions();
        balancing.Validate();
        builder.Services.AddSingleton(checkpoints);
        builder.Services.AddSingleton(balancing);
        stepSocket ??= new StepSocketOptions { Enabled = false };
        stepSocket.Validate();
        builder.Services.AddSingleton(stepSocket);
        builder.Services.AddSingleton<StepSocketServer>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<StepSocketServer>());
        builder.Services.AddSingleton<ShardBalancerService>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ShardBalancerService>());
        builder.Services.AddSingleton<LocalShards>();
        builder.Services.AddSingleton<CheckpointHealth>();
        builder.Services.AddSingleton<ILocalShardAccess>(sp => sp.GetRequiredService<LocalShards>());
        // Every silo runs its step services at addresses that name it (system targets), so clients reach them directly.
        for (int n = 0; n < SiloStepServiceId.PerSilo; n++)
        {
            var id = SiloStepService.Template(n);
            builder.Services.AddSingleton<Orleans.Services.IGrainService>(sp => ActivatorUtilities.CreateInstance<SiloStepService>(sp, id));
        }
        var store = checkpoints.CreateStore();
        builder.Services.AddSingleton(new CheckpointStoreHolder(store));
        if (store is ObjectCheckpointStore objects)
        {
            // A wrong endpoint, credential or bucket fails the start in one line, not the first checkpoint minutes later.
            builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(new ObjectStoreStartCheck(objects, checkpoints.Where));
        }

        if (memoryMetadata)
        {
            builder.AddMemoryGrainStorage(MetadataStorage);
        }

        // A shard's rows live in its activation's memory, so two activations of one shard are two diverging copies of
        // its rows: pushes acknowledged by one are lost to the other. Orleans' default directory is eventually
        // consistent and can let a second activation start while silos join or leave (measured: a graceful leave
        // during training left two activations of moved shards, and millions of acknowledged updates went to a copy
        // nobody read). The distributed directory is strongly consistent: one activation per shard, membership
        // changes included.
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10, and the only directory that guarantees the above
        builder.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003

        builder.AddMemoryGrainStorage(TrainingEvents.PubSubStorage);
        // Training events are a few per epoch, but each silo's pulling agents poll their stream queues every 100 ms
        // by Orleans' default: about 80 wake-ups a second that kept an idle silo's thread pool spinning, half of its
        // CPU (measured: 0.034 -> 0.017 CPU seconds per second with a 1 s period), paid by every silo of a cluster.
        // An event then reaches `embed watch` within a second, which an epoch's progress does not notice.
        builder.AddMemoryStreams(TrainingEvents.StreamProvider, streams => streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = EventPollPeriod)));
        builder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = ClusterDefaults.ResponseTimeout);
        Networking.LargeBlockTransport.Apply(builder.Services, transportBlockSize);
        return builder;
    }
}

/// <summary>The checkpoint store of this silo, or null when checkpoints are off.</summary>
/// <param name="Store">The store.</param>
public sealed record CheckpointStoreHolder(ICheckpointStore? Store);
