using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>Configures a silo to host the parameter server's grains.</summary>
public static class ParameterServerSilo
{
    /// <summary>Name of the grain storage that holds table metadata.</summary>
    public const string MetadataStorage = "ps-metadata";

    /// <summary>The cluster and service id used by default by silos and clients.</summary>
    public const string DefaultClusterId = "parameter-server";

    /// <summary>
    /// Adds what the grains need: the metadata storage (memory unless one named <see cref="MetadataStorage"/> is
    /// already registered), the training-events memory stream and message limits. Call on every silo.
    /// </summary>
    public static ISiloBuilder AddParameterServer(this ISiloBuilder builder, bool memoryMetadata = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (memoryMetadata)
        {
            builder.AddMemoryGrainStorage(MetadataStorage);
        }

        builder.AddMemoryGrainStorage(TrainingEvents.PubSubStorage);
        builder.AddMemoryStreams(TrainingEvents.StreamProvider);
        builder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(2));
        return builder;
    }
}
