using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>Configures an Orleans client for the parameter server.</summary>
public static class ParameterServerClientBuilder
{
    /// <summary>
    /// Adds the training-events memory stream (the silos add it with <c>AddParameterServer</c>) and sets the transport's
    /// block size (<see cref="TransportBlockSize"/>, default 64 KiB) for this client's connections.
    /// </summary>
    public static IClientBuilder AddParameterServerClient(this IClientBuilder builder, int transportBlockSize = TransportBlockSize.Default)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddMemoryStreams(TrainingEvents.StreamProvider);
        Networking.LargeBlockTransport.Apply(builder.Services, transportBlockSize);
        return builder;
    }
}
