using System.Net;
using System.Text;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Orleans.Configuration;
using Orleans.Dashboard;
using ParameterServer.Abstractions.Telemetry;
using ParameterServer.Api;
using ParameterServer.Grains;

namespace ParameterServer.Silo;

/// <summary>
/// Builds the standalone silo: an Orleans silo with the parameter server's grains, and on one HTTP port
/// <c>/metrics</c> (Prometheus scrape of the ParameterServer and Microsoft.Orleans meters and the .NET runtime),
/// <c>/healthz</c> (the process is alive), <c>/ready</c> (the silo is an active cluster member) and the Orleans
/// Dashboard at <c>/dashboard</c>. OTLP export of metrics and traces when an endpoint is configured.
/// </summary>
public static class SiloHost
{
    /// <summary>Reads <see cref="SiloHostOptions"/> from configuration (flat keys under Orleans, Http and Otlp).</summary>
    public static SiloHostOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var o = new SiloHostOptions();
        var orleans = configuration.GetSection("Orleans");
        var http = configuration.GetSection("Http");
        o.ClusterId = orleans.GetValue("ClusterId", o.ClusterId)!;
        o.SiloPort = orleans.GetValue("SiloPort", o.SiloPort);
        o.GatewayPort = orleans.GetValue("GatewayPort", o.GatewayPort);
        o.PrimarySiloPort = orleans.GetValue<int?>("PrimarySiloPort");
        o.HttpAddress = http.GetValue("Address", o.HttpAddress)!;
        o.HttpPort = http.GetValue("Port", o.HttpPort);
        o.Dashboard = http.GetValue<bool?>("Dashboard");
        o.DashboardUser = http.GetValue<string?>("DashboardUser");
        o.DashboardPassword = http.GetValue<string?>("DashboardPassword");
        o.ClusteringProvider = orleans.GetValue("Clustering:ProviderType", o.ClusteringProvider)!;
        o.ClusteringConnectionString = orleans.GetValue<string?>("Clustering:ConnectionString");
        o.AdvertisedAddress = orleans.GetValue("AdvertisedIP", o.AdvertisedAddress)!;
        o.ListenOnAnyHostAddress = orleans.GetValue("ListenOnAnyHostAddress", o.ListenOnAnyHostAddress);
        o.ResponseTimeout = orleans.GetValue("Messaging:ResponseTimeout", o.ResponseTimeout);
        o.TransportBlockSize = orleans.GetValue("Messaging:TransportBlockSize", o.TransportBlockSize);
        o.ProbeTimeout = orleans.GetValue<TimeSpan?>("Membership:ProbeTimeout");
        o.NumMissedProbesLimit = orleans.GetValue<int?>("Membership:NumMissedProbesLimit");
        o.NumVotesForDeathDeclaration = orleans.GetValue<int?>("Membership:NumVotesForDeathDeclaration");
        o.RejoinTimeout = orleans.GetValue("Membership:RejoinTimeout", o.RejoinTimeout);
        o.DeadSiloLease = orleans.GetValue<TimeSpan?>("Membership:DeadSiloLease");
        var checkpoints = configuration.GetSection("Checkpoints");
        o.Checkpoints.Directory = checkpoints.GetValue<string?>("Directory");
        o.Checkpoints.Interval = checkpoints.GetValue("Interval", o.Checkpoints.Interval);
        o.Checkpoints.Keep = checkpoints.GetValue("Keep", o.Checkpoints.Keep);
        var blob = checkpoints.GetSection("Blob");
        o.Checkpoints.Blob.ConnectionString = blob.GetValue<string?>("ConnectionString");
        o.Checkpoints.Blob.Container = blob.GetValue<string?>("Container");
        o.Checkpoints.Blob.Prefix = blob.GetValue("Prefix", o.Checkpoints.Blob.Prefix)!;
        var s3 = checkpoints.GetSection("S3");
        o.Checkpoints.S3.Bucket = s3.GetValue<string?>("Bucket");
        o.Checkpoints.S3.Prefix = s3.GetValue("Prefix", o.Checkpoints.S3.Prefix)!;
        o.Checkpoints.S3.Region = s3.GetValue("Region", o.Checkpoints.S3.Region)!;
        o.Checkpoints.S3.ServiceUrl = s3.GetValue<string?>("ServiceUrl");
        o.Checkpoints.S3.AccessKey = s3.GetValue<string?>("AccessKey");
        o.Checkpoints.S3.SecretKey = s3.GetValue<string?>("SecretKey");
        var balancing = configuration.GetSection("Balancing");
        o.Balancing.Enabled = balancing.GetValue("Enabled", o.Balancing.Enabled);
        o.Balancing.Interval = balancing.GetValue("Interval", o.Balancing.Interval);
        o.Balancing.DrainTimeout = balancing.GetValue("DrainTimeout", o.Balancing.DrainTimeout);
        var steps = configuration.GetSection("Steps");
        o.Steps.Enabled = steps.GetValue("Socket", o.Steps.Enabled);
        o.Steps.Port = steps.GetValue("Port", o.Steps.Port);
        o.ShutdownTimeout = configuration.GetSection("Shutdown").GetValue("Timeout", o.ShutdownTimeout);
        var grpc = configuration.GetSection("Grpc");
        o.Api.Port = grpc.GetValue("Port", o.Api.Port);
        o.Api.Address = grpc.GetValue("Address", o.Api.Address)!;
        o.Api.Token = grpc.GetValue<string?>("Token");
        o.Api.MaxIds = grpc.GetValue("MaxIds", o.Api.MaxIds);
        o.Api.MaxMessageBytes = grpc.GetValue("MaxMessageBytes", o.Api.MaxMessageBytes);
        o.OtlpEndpoint = configuration.GetValue<string?>("Otlp:Endpoint") ?? configuration.GetValue<string?>("OTEL_EXPORTER_OTLP_ENDPOINT");
        o.Validate();
        return o;
    }

    /// <summary>The sections whose keys are the silo's: a key under them that the silo does not read is a mistake.</summary>
    public static readonly string[] Sections = ["Orleans", "Http", "Checkpoints", "Balancing", "Steps", "Shutdown", "Otlp", "Grpc"];

    /// <summary>
    /// What <c>--check-config</c> prints: the configuration keys the silo reads (found by running
    /// <see cref="ReadOptions"/> over a recording view), the keys set under its sections that it does not read, and
    /// the settings it would run with. Bad values throw as they would at start.
    /// </summary>
    public static ConfigurationCheck CheckConfiguration(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var read = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        var o = ReadOptions(new RecordingConfiguration(builder.Configuration, read));
        var unknown = builder.Configuration.AsEnumerable()
            .Where(kv => kv.Value is not null && Sections.Any(s => kv.Key.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase)) && !read.Contains(kv.Key))
            .Select(kv => kv.Key).Order(StringComparer.OrdinalIgnoreCase).ToArray();
        return new ConfigurationCheck([.. read], unknown, o);
    }

    /// <summary>
    /// GETs <paramref name="path"/> (<c>/healthz</c>, or <c>/ready</c>) of the silo configured by <paramref name="args"/> and the environment (its Http:Port; the
    /// loopback address when it listens on every interface). 0 when it answers 200 within 5 s, 1 otherwise.
    /// </summary>
    public static async Task<int> HealthCheckAsync(string[] args, string path = "/healthz")
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var o = ReadOptions(builder.Configuration);
        var address = IPAddress.Parse(o.HttpAddress);
        string host = address.Equals(IPAddress.Any) ? "127.0.0.1" : address.Equals(IPAddress.IPv6Any) ? "[::1]" : FormatHost(o.HttpAddress);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri($"http://{host}:{o.HttpPort}{path}"));
            Console.WriteLine($"http://{host}:{o.HttpPort}{path}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"http://{host}:{o.HttpPort}{path}: {e.Message}");
            return 1;
        }
    }

    /// <summary>Builds the silo web application from command-line arguments and configuration.</summary>
    public static WebApplication Build(string[] args, bool verbose = false)
    {
        // Settings files sit beside the binary, wherever the silo is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var o = ReadOptions(builder.Configuration);
        builder.Logging.ClearProviders();
        if (verbose)
        {
            builder.Logging.AddSimpleConsole(c => c.SingleLine = true);
        }
        else
        {
            builder.Logging.AddConsole(c => c.FormatterName = TerseConsoleFormatter.Name)
                .AddConsoleFormatter<TerseConsoleFormatter, Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>();
        }
        // HTTP/1.1 and 2 for metrics, health and the dashboard; with the API, a second listener, HTTP/2 only (gRPC).
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Parse(o.HttpAddress), o.HttpPort);
            if (o.Api.Enabled)
            {
                k.Listen(IPAddress.Parse(o.Api.Address), o.Api.Port, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
            }
        });
        if (o.Api.Enabled)
        {
            builder.Services.AddParameterServerApi(o.Api);
        }

        var advertised = o.ResolveAdvertisedAddress();
        var listen = !o.UsesRedis ? IPAddress.Loopback : o.ListenOnAnyHostAddress ? IPAddress.Any : advertised;
        PortCheck.EnsureFree("Orleans:SiloPort", listen, o.SiloPort);
        PortCheck.EnsureFree("Orleans:GatewayPort", listen, o.GatewayPort);
        PortCheck.EnsureFree("Http:Port", IPAddress.Parse(o.HttpAddress), o.HttpPort);
        if (o.Steps.Enabled)
        {
            // The step socket listens where the silo does (advertised at its address when that is every interface).
            (o.Steps.Address, o.Steps.Advertised) = (listen, listen.Equals(IPAddress.Any) ? advertised : listen);
            if (o.Steps.Port != 0)
            {
                PortCheck.EnsureFree("Steps:Port", listen, o.Steps.Port);
            }
        }

        if (o.Api.Enabled)
        {
            PortCheck.EnsureFree("Grpc:Port", IPAddress.Parse(o.Api.Address), o.Api.Port);
        }
        builder.UseOrleans(silo =>
        {
            if (o.UsesRedis)
            {
                // Several silos on any machines: membership and table metadata in Redis.
                string redis = o.ClusteringConnectionString!;
                silo.UseRedisClustering(redis);
                silo.Configure<ClusterOptions>(c =>
                {
                    c.ClusterId = o.ClusterId;
                    c.ServiceId = o.ClusterId;
                });
                silo.ConfigureEndpoints(advertised, o.SiloPort, o.GatewayPort, o.ListenOnAnyHostAddress);
                // Table metadata with Orleans' own binary serializer: the specs are [GenerateSerializer] types, and
                // the default JSON serializer cannot read back their computed properties.
                silo.AddRedisGrainStorage(ParameterServerSilo.MetadataStorage, (Microsoft.Extensions.Options.OptionsBuilder<Orleans.Persistence.RedisStorageOptions> options) =>
                    options.Configure<Orleans.Serialization.Serializer>((r, serializer) =>
                    {
                        r.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(redis);
                        r.GrainStorageSerializer = new Orleans.Storage.OrleansGrainStorageSerializer(serializer);
                    }));
                silo.AddParameterServer(memoryMetadata: false, o.Checkpoints, o.TransportBlockSize, o.Balancing, o.Steps);
            }
            else
            {
                silo.UseLocalhostClustering(o.SiloPort, o.GatewayPort, new IPEndPoint(IPAddress.Loopback, o.PrimarySiloPort ?? o.SiloPort), o.ClusterId, o.ClusterId);
                silo.Configure<EndpointOptions>(e => e.AdvertisedIPAddress = advertised);
                silo.AddParameterServer(checkpoints: o.Checkpoints, transportBlockSize: o.TransportBlockSize, balancing: o.Balancing, stepSocket: o.Steps);
            }

            // How fast a dead silo is noticed (Orleans' defaults when not set), and how long calls wait for answers.
            silo.Configure<ClusterMembershipOptions>(m =>
            {
                m.ProbeTimeout = o.ProbeTimeout ?? m.ProbeTimeout;
                m.NumMissedProbesLimit = o.NumMissedProbesLimit ?? m.NumMissedProbesLimit;
                m.NumVotesForDeathDeclaration = o.NumVotesForDeathDeclaration ?? m.NumVotesForDeathDeclaration;
            });
            silo.Configure<SiloMessagingOptions>(m => m.ResponseTimeout = o.ResponseTimeout);

            // How long a crashed silo's shards wait before they start elsewhere (see SiloHostOptions.DeadSiloLease).
            if (o.DeadSiloLease is { } lease)
            {
                silo.Configure<GrainDirectoryOptions>(d => d.RangeLeaseDuration = lease);
            }

            // A stopping silo deactivates its shards, and each writes a checkpoint first: give that time.
            silo.Configure<GrainCollectionOptions>(g => g.DeactivationTimeout = TimeSpan.FromSeconds(60));
            if (o.DashboardServed)
            {
                silo.AddDashboard();
            }
        });

        var otel = builder.Services.AddOpenTelemetry();
        otel.WithMetrics(m =>
        {
            m.AddMeter(ParameterServerTelemetry.Name, "Microsoft.Orleans").AddRuntimeInstrumentation().AddPrometheusExporter()
                .AddView(i => ParameterServerTelemetry.KeepInstrument(i) ? null : MetricStreamConfiguration.Drop);
            if (o.OtlpEndpoint is { Length: > 0 } endpoint)
            {
                m.AddOtlpExporter(x => x.Endpoint = new Uri(endpoint));
            }
        });
        if (o.OtlpEndpoint is { Length: > 0 } traceEndpoint)
        {
            otel.WithTracing(t => t.AddSource(ParameterServerTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application").AddOtlpExporter(x => x.Endpoint = new Uri(traceEndpoint)));
        }

        builder.Services.AddSingleton(o);
        builder.Services.AddSingleton<MembershipWatch>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MembershipWatch>());
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = o.ShutdownTimeout);
        var app = builder.Build();
        // A stop is bounded: Orleans waits up to a minute per membership update when the membership store does not
        // answer (twice), which would outlast Kubernetes' grace period. Checkpoints are written first (the shard
        // balancer service's stop), so exiting after the budget loses nothing they hold.
        app.Lifetime.ApplicationStopping.Register(() => _ = Task.Run(async () =>
        {
            await Task.Delay(o.ShutdownTimeout + TimeSpan.FromSeconds(5));
            app.Logger.LogWarning("Stop not finished {Seconds:F0} s after it began (does the membership store answer?): exiting now; shard checkpoints were written first", (o.ShutdownTimeout + TimeSpan.FromSeconds(5)).TotalSeconds);
            Environment.Exit(Environment.ExitCode); // 0, or 3 when the membership watch stopped the silo
        }));
        // Scrapes are GETs; the exporter would answer any method with the metrics.
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/metrics") && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                context.Response.Headers.Allow = "GET, HEAD";
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (o.Api.Enabled)
        {
            app.MapParameterServerApi(o.Api);
        }

        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/ready", (IServiceProvider services) => SiloReadiness.NotReady(services) is { } why
            ? Results.Text(why + "\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ready\n"));
        if (o.DashboardServed)
        {
            if (o.DashboardUser is { Length: > 0 } user)
            {
                app.UseWhen(c => c.Request.Path.StartsWithSegments("/dashboard"), branch => branch.Use((context, next) => BasicAuth(context, next, user, o.DashboardPassword!)));
            }

            app.MapOrleansDashboard("/dashboard");
        }

        app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
            "Silo started: silo port {SiloPort}, gateway port {GatewayPort}, cluster {ClusterId} ({Clustering}), http://{Address}:{HttpPort} (/metrics, /healthz, /ready{Dashboard}){Api}; checkpoints {Checkpoints}",
            o.SiloPort, o.GatewayPort, o.ClusterId, o.UsesRedis ? "Redis" : "Development", o.HttpAddress, o.HttpPort, o.DashboardServed ? ", /dashboard" : "",
            o.Api.Enabled ? $", gRPC API on {o.Api.Address}:{o.Api.Port} ({(o.Api.Token is null ? "no authentication" : "bearer token")})" : "",
            o.Checkpoints.Enabled ? $"in {o.Checkpoints.Where} every {o.Checkpoints.Interval.TotalSeconds:0.#} s" : "off"));
        if (o.DashboardOpen)
        {
            app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogWarning(
                "The dashboard is served on {Address}:{HttpPort} without credentials (Http:Dashboard=true): anyone who reaches the port sees the cluster. Set Http:DashboardUser and Http:DashboardPassword, or bind Http:Address to 127.0.0.1.",
                o.HttpAddress, o.HttpPort));
        }

        return app;
    }

    private static string FormatHost(string address) => IPAddress.Parse(address).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address;

    private static Task BasicAuth(HttpContext context, RequestDelegate next, string user, string password)
    {
        string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        string given = context.Request.Headers.Authorization.ToString();
        if (System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Orleans Dashboard\"";
        return Task.CompletedTask;
    }
}
