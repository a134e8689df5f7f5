using ParameterServer.Client;

namespace ParameterServer.Api;

/// <summary>Hosting of the gRPC API in a silo's web application.</summary>
public static class ApiHosting
{
    /// <summary>
    /// Registers the API's services: gRPC with the bearer-token check and the message size limit, and a parameter
    /// server client over the silo's own grain factory.
    /// </summary>
    public static IServiceCollection AddParameterServerApi(this IServiceCollection services, ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton(sp => new ParameterServerClient(sp.GetRequiredService<IGrainFactory>()));
        services.AddGrpc(g =>
        {
            g.Interceptors.Add<BearerToken>();
            g.MaxReceiveMessageSize = options.MaxMessageBytes;
            g.MaxSendMessageSize = null;
            g.EnableDetailedErrors = false;
        });
        return services;
    }

    /// <summary>Serves the API on its own port only (never on the metrics and health port).</summary>
    public static IEndpointConventionBuilder MapParameterServerApi(this IEndpointRouteBuilder endpoints, ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return endpoints.MapGrpcService<ParameterServerApi>().RequireHost($"*:{options.Port}");
    }
}
