using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>Configures an Orleans client for the parameter server.</summary>
public static class ParameterServerClientBuilder
{
    /// <summary>Adds the training-events memory stream (the silos add it with <c>AddParameterServer</c>).</summary>
    public static IClientBuilder AddParameterServerClient(this IClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddMemoryStreams(TrainingEvents.StreamProvider);
        return builder;
    }
}
