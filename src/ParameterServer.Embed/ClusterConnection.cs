using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Orleans.Configuration;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Grains;

namespace ParameterServer.Embed;

/// <summary>
/// Either a silo started inside this process (the embedded default: its tables live as long as the process)
/// or a plain Orleans client of a running cluster reached through gateway addresses.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host, string description, bool embedded)
    {
        _host = host;
        Embedded = embedded;
        Description = description;
        // EMBED_STEP_SOCKET=off: steps as grain calls through the gateways even where silos have step sockets.
        Client = new ParameterServerClient(host.Services.GetRequiredService<IClusterClient>(),
            stepSocket: !string.Equals(Environment.GetEnvironmentVariable("EMBED_STEP_SOCKET"), "off", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The parameter server client.</summary>
    public ParameterServerClient Client { get; }

    /// <summary>"embedded silo" or the gateways.</summary>
    public string Description { get; }

    /// <summary>Whether the silo runs in this process.</summary>
    public bool Embedded { get; }

    /// <summary>Starts an embedded silo (when <paramref name="cluster"/> is empty) or connects to the gateways it lists.</summary>
    public static async Task<ClusterConnection> StartAsync(string? cluster, CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        // Logs go to stderr: stdout carries the command's output (embed train --json prints one JSON line there).
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        // A failed start is reported once, as one line (below), not as the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        // The training-events memory stream's pulling agent logs a canceled queue read as an error when the embedded
        // silo stops after a long job; the stream only feeds `embed watch`, so only its critical errors are shown.
        builder.Logging.AddFilter("Orleans.Streams", LogLevel.Critical);
        builder.Logging.AddFilter("Orleans.Providers.MemoryAdapterReceiver", LogLevel.Critical);
        string description;
        string clusterId = ClusterDefaults.ClusterId;
        var connectTimeout = ConnectTimeout(Environment.GetEnvironmentVariable("EMBED_CONNECT_TIMEOUT"));
        if (string.IsNullOrWhiteSpace(cluster))
        {
            description = "embedded";
            builder.UseOrleans(silo =>
            {
                // Free loopback ports, so several embedded processes and a standalone silo can run side by side.
                silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), serviceId: ClusterDefaults.ClusterId, clusterId: ClusterDefaults.ClusterId);
                silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = IPAddress.Loopback);
                silo.AddParameterServer();
            });
        }
        else
        {
            // redis://host:port finds the gateways through the cluster's membership table in Redis; host:port lists them.
            string? redis = RedisConnectionString(cluster, Environment.GetEnvironmentVariable("Orleans__Clustering__ConnectionString"));
            var gateways = redis is null ? ParseGateways(cluster) : [];
            description = redis is null ? string.Join(",", gateways.Select(g => g.ToString())) : $"redis://{MaskSecrets(redis)}";
            builder.UseOrleansClient(client =>
            {
                if (redis is null)
                {
                    client.UseStaticClustering(gateways);
                }
                else
                {
                    client.UseRedisClustering(redis);
                }

                client.AddParameterServerClient(TransportBlock(Environment.GetEnvironmentVariable("Orleans__Messaging__TransportBlockSize")));
                // The silos' Orleans:ClusterId; the environment (Orleans__ClusterId) overrides the default.
                clusterId = Environment.GetEnvironmentVariable("Orleans__ClusterId") is { Length: > 0 } id ? id : ClusterDefaults.ClusterId;
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = clusterId;
                    o.ServiceId = clusterId;
                });
                // A call to a silo that died is answered by nothing: fail it after the response timeout (20 s, or
                // Orleans__Messaging__ResponseTimeout as on the silos) so the retry policy can move it on.
                var timeout = ResponseTimeout(Environment.GetEnvironmentVariable("Orleans__Messaging__ResponseTimeout"));
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = timeout);
                // Step calls go to the gateway of the silo that holds their shards when the client knows that gateway
                // (StepClient): read the gateway list every 5 s (Orleans' default is a minute), so a silo that joins is
                // reached directly soon after.
                client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            });
        }

        var host = builder.Build();
        if (string.IsNullOrWhiteSpace(cluster))
        {
            await host.StartAsync(cancellationToken);
            return new ClusterConnection(host, description, embedded: true);
        }

        // Orleans keeps trying the gateways for minutes; a console says within seconds that nothing answers.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(connectTimeout);
        try
        {
            await host.StartAsync(deadline.Token).WaitAsync(deadline.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            string why = e is OperationCanceledException ? $"no gateway answered within {connectTimeout.TotalSeconds:0.#} s (EMBED_CONNECT_TIMEOUT)" : MaskSecrets(ErrorText.OneLine(e.Message)).TrimEnd('.');
            _ = Task.Run(host.Dispose); // may wait on the connection attempts; the process is about to end
            throw new InvalidOperationException(
                $"Could not connect to the cluster at {description} (cluster id '{clusterId}'): {why}. Is a silo running there, with the same Orleans:ClusterId (Orleans__ClusterId here)?", e);
        }

        return new ClusterConnection(host, description, string.IsNullOrWhiteSpace(cluster));
    }

    /// <summary>A connection string or address with its password values replaced by <c>***</c>, fit for errors and logs.</summary>
    public static string MaskSecrets(string text) => ErrorText.MaskSecrets(text);

    /// <summary>How long a console waits for a gateway: <paramref name="setting"/> (seconds or a time span), 15 s when unset.</summary>
    public static TimeSpan ConnectTimeout(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return TimeSpan.FromSeconds(15);
        }

        if (double.TryParse(setting, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds is >= 1 and <= 600)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return TimeSpan.TryParse(setting, System.Globalization.CultureInfo.InvariantCulture, out var t) && t >= TimeSpan.FromSeconds(1) && t <= TimeSpan.FromMinutes(10) ? t
            : throw new ArgumentException($"EMBED_CONNECT_TIMEOUT = '{setting}' is not 1 to 600 seconds (or a time span from 00:00:01 to 00:10:00).");
    }

    /// <summary>
    /// The Redis connection string of <c>--cluster redis://host:port[,options]</c>, or of <c>--cluster redis</c> taken
    /// from <paramref name="fromEnvironment"/> (<c>Orleans__Clustering__ConnectionString</c>, as on the silos, so a
    /// password stays out of the command line); null when <paramref name="cluster"/> lists gateways.
    /// </summary>
    public static string? RedisConnectionString(string cluster, string? fromEnvironment)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.Equals("redis", StringComparison.OrdinalIgnoreCase) || cluster.Equals("redis://", StringComparison.OrdinalIgnoreCase))
        {
            return fromEnvironment is { Length: > 0 } ? fromEnvironment
                : throw new ArgumentException("--cluster redis takes the Redis connection string from Orleans__Clustering__ConnectionString, which is not set; or give it as --cluster redis://host:6379.");
        }

        return cluster.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) ? cluster["redis://".Length..] : null;
    }

    /// <summary>The client's response timeout: 20 s, or <paramref name="setting"/> (a TimeSpan from 00:00:01 to 00:10:00).</summary>
    public static TimeSpan ResponseTimeout(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return ClusterDefaults.ResponseTimeout;
        }

        return TimeSpan.TryParse(setting, System.Globalization.CultureInfo.InvariantCulture, out var t) && ClusterDefaults.IsValidResponseTimeout(t) ? t
            : throw new ArgumentException($"Orleans__Messaging__ResponseTimeout = '{setting}' is not a time span from 00:00:01 to 00:10:00.");
    }

    /// <summary>The client's transport block size: 64 KiB, or <paramref name="setting"/> (bytes, a multiple of 4096 up to 1 MiB).</summary>
    public static int TransportBlock(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return TransportBlockSize.Default;
        }

        return int.TryParse(setting, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int bytes) && TransportBlockSize.IsValid(bytes) ? bytes
            : throw new ArgumentException(TransportBlockSize.Refusal("Orleans__Messaging__TransportBlockSize", setting));
    }

    /// <summary>Parses "host:port[,host:port...]"; a bare host gets port 30000.</summary>
    public static IPEndPoint[] ParseGateways(string cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var list = new List<IPEndPoint>();
        foreach (var part in cluster.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            string hostName = part;
            int port = 30000;
            int colon = part.LastIndexOf(':');
            if (colon > 0)
            {
                hostName = part[..colon];
                if (!int.TryParse(part.AsSpan(colon + 1), out port) || port is <= 0 or > 65535)
                {
                    throw new ArgumentException($"--cluster: '{part}' has no valid port (expected host:port, for example localhost:30000).");
                }
            }

            IPAddress? address = hostName.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
                : IPAddress.TryParse(hostName, out var ip) ? ip
                : Dns.GetHostAddresses(hostName).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            list.Add(new IPEndPoint(address ?? throw new ArgumentException($"--cluster: cannot resolve '{hostName}'."), port));
        }

        return list.Count > 0 ? [.. list] : throw new ArgumentException("--cluster: no gateway address given (expected host:port).");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _host.StopAsync(cts.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
