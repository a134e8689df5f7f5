using System.Globalization;
using System.Net;
using ParameterServer.Abstractions;

namespace ParameterServer.Silo;

/// <summary>
/// Settings of the silo host (configuration sections <c>Orleans</c> and <c>Http</c>; environment variables such as
/// <c>Orleans__GatewayPort</c> or <c>Http__Port</c>; command-line <c>--Http:Port=8081</c>).
/// </summary>
public sealed class SiloHostOptions
{
    /// <summary>Orleans cluster and service id. Default <c>parameter-server</c>.</summary>
    public string ClusterId { get; set; } = ClusterDefaults.ClusterId;

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Silo port of the primary silo (localhost clustering). Default: this silo's port.</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>Membership: <c>Development</c> (localhost clustering, one machine) or <c>Redis</c>. Default Development.</summary>
    public string ClusteringProvider { get; set; } = "Development";

    /// <summary>Redis connection string (clustering and table metadata), e.g. <c>127.0.0.1:6379</c>. Needed for Redis.</summary>
    public string? ClusteringConnectionString { get; set; }

    /// <summary>
    /// The address other silos and clients reach this silo at: an IP (a pod IP in Kubernetes) or a host name resolved
    /// once at start (a compose service name). Default 127.0.0.1.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Listen on every interface rather than only the advertised address (containers). Default false.</summary>
    public bool ListenOnAnyHostAddress { get; set; }

    /// <summary>
    /// How long a call waits for its answer (<c>Orleans:Messaging:ResponseTimeout</c>). A call to a silo that died is
    /// answered by nothing, so this is also how long a worker's call to a dead silo waits before it is retried
    /// elsewhere. Default 20 s; whole-table calls (checkpoint, drop) have 5 minutes of their own.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = ClusterDefaults.ResponseTimeout;

    /// <summary>
    /// How long a stop may take (<c>Shutdown:Timeout</c>, default 90 s; Kubernetes' grace period must exceed it).
    /// Shards write their checkpoints first; if the rest (leaving the membership) has not finished 5 s after this,
    /// say because the membership store does not answer, the process exits anyway.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// With Redis clustering: how long this silo may be out of the membership table (Redis down, or back without this
    /// silo's row) before it stops with exit code 3 for its supervisor to start it again
    /// (<c>Orleans:Membership:RejoinTimeout</c>, default 60 s). <c>/ready</c> fails from the first failed check.
    /// </summary>
    public TimeSpan RejoinTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Bytes per buffer block of the socket transport (<c>Orleans:Messaging:TransportBlockSize</c>): a socket is read
    /// into one block at a time, so larger blocks mean fewer receive calls for the same pushes. Default 64 KiB; 4096
    /// keeps Orleans' own pool. Accepted: a multiple of 4096 up to 1 MiB.
    /// </summary>
    public int TransportBlockSize { get; set; } = Abstractions.TransportBlockSize.Default;

    /// <summary>Membership probe timeout (<c>Orleans:Membership:ProbeTimeout</c>). Default: Orleans' own (5 s).</summary>
    public TimeSpan? ProbeTimeout { get; set; }

    /// <summary>Missed probes before a silo is suspected (<c>Orleans:Membership:NumMissedProbesLimit</c>). Default: Orleans' own (3).</summary>
    public int? NumMissedProbesLimit { get; set; }

    /// <summary>Votes that declare a silo dead (<c>Orleans:Membership:NumVotesForDeathDeclaration</c>). Default: Orleans' own (2).</summary>
    public int? NumVotesForDeathDeclaration { get; set; }

    /// <summary>
    /// How long after a silo crashes its shards may not start again elsewhere
    /// (<c>Orleans:Membership:DeadSiloLease</c>), counted from the estimated moment of the crash. Default:
    /// Orleans' own (30 s). The strongly consistent directory holds a crashed silo's grains for this long so that a
    /// silo declared dead by mistake (a pause, a partition) stops serving before a second copy of its shards starts;
    /// a shorter lease recovers sooner from a real crash and risks two copies (lost updates) when a live silo is
    /// declared dead and takes longer than this to notice. Keep it above the membership table's refresh period.
    /// 0 turns the lease off. Accepted: 0 to 00:10:00.
    /// </summary>
    public TimeSpan? DeadSiloLease { get; set; }

    /// <summary>The gRPC API (section <c>Grpc</c>): off unless its port is set.</summary>
    public ParameterServer.Api.ApiOptions Api { get; set; } = new();

    /// <summary>Checkpoints: a directory, an Azure Blob container or an S3 bucket (none = off), interval and how many to keep.</summary>
    public Grains.CheckpointOptions Checkpoints { get; set; } = new();

    /// <summary>Shard balancing: on, every 5 s, and up to 60 s for a stopping silo to move its shards away.</summary>
    public Grains.BalancingOptions Balancing { get; set; } = new();

    /// <summary>The step socket (section <c>Steps</c>): on, at a port the system picks (<c>Steps:Port</c> names one).</summary>
    public Grains.StepSocketOptions Steps { get; set; } = new();

    /// <summary>Whether membership and metadata live in Redis.</summary>
    public bool UsesRedis => string.Equals(ClusteringProvider, "Redis", StringComparison.OrdinalIgnoreCase);

    /// <summary>Address the HTTP endpoints listen on. Default 127.0.0.1 (loopback only).</summary>
    public string HttpAddress { get; set; } = "127.0.0.1";

    /// <summary>Port of /metrics, /healthz, /ready and /dashboard. Default 8080.</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>
    /// Serve the Orleans Dashboard at /dashboard. Default (unset): on when HTTP listens on loopback only or the
    /// dashboard has credentials, off otherwise, so a silo reachable from other machines never shows its cluster to
    /// anyone who asks. Setting it true without credentials on another address is obeyed, with a warning.
    /// </summary>
    public bool? Dashboard { get; set; }

    /// <summary>Whether the dashboard is served (see <see cref="Dashboard"/>).</summary>
    public bool DashboardServed => Dashboard ?? (HttpOnLoopback || !string.IsNullOrWhiteSpace(DashboardUser));

    /// <summary>Whether the dashboard is served, without credentials, on an address other machines can reach.</summary>
    public bool DashboardOpen => DashboardServed && !HttpOnLoopback && string.IsNullOrWhiteSpace(DashboardUser);

    private bool HttpOnLoopback => IPAddress.TryParse(HttpAddress, out var a) && IPAddress.IsLoopback(a);

    /// <summary>With <see cref="DashboardPassword"/>, /dashboard asks for HTTP basic authentication. Default none.</summary>
    public string? DashboardUser { get; set; }

    /// <summary>The dashboard password (from a secret, not a file in the repository). Default none.</summary>
    public string? DashboardPassword { get; set; }

    /// <summary>OTLP endpoint for metrics and traces (e.g. http://collector:4317); none exports nothing by OTLP.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The advertised address as an IP: parsed, or the host name's first IPv4 address (then IPv6).</summary>
    public IPAddress ResolveAdvertisedAddress()
    {
        if (IPAddress.TryParse(AdvertisedAddress, out var ip))
        {
            return ip;
        }

        IPAddress[] found;
        try
        {
            found = Dns.GetHostAddresses(AdvertisedAddress);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new ArgumentException($"Orleans:AdvertisedIP = '{AdvertisedAddress}' does not resolve: {e.Message}", e);
        }

        return found.OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 0 : 1).FirstOrDefault()
            ?? throw new ArgumentException($"Orleans:AdvertisedIP = '{AdvertisedAddress}' resolves to no address.");
    }

    /// <summary>A copy without secrets (the dashboard password and a Redis password), fit to print.</summary>
    public SiloHostOptions Redacted()
    {
        var copy = (SiloHostOptions)MemberwiseClone();
        copy.DashboardPassword = DashboardPassword is null ? null : "***";
        copy.ClusteringConnectionString = ClusteringConnectionString is null ? null
            : ParameterServer.Abstractions.ErrorText.MaskSecrets(ClusteringConnectionString);
        copy.Checkpoints = Checkpoints.Redacted();
        copy.Api = new ParameterServer.Api.ApiOptions
        {
            Port = Api.Port,
            Address = Api.Address,
            Token = Api.Token is null ? null : "***",
            MaxIds = Api.MaxIds,
            MaxMessageBytes = Api.MaxMessageBytes,
        };
        return copy;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        foreach (var (name, port) in new[] { ("Orleans:SiloPort", SiloPort), ("Orleans:GatewayPort", GatewayPort), ("Http:Port", HttpPort), ("Orleans:PrimarySiloPort", PrimarySiloPort ?? SiloPort) })
        {
            if (port is <= 0 or > 65535)
            {
                throw new ArgumentException($"{name} = {port} is not a port (1 to 65535).");
            }
        }

        if (!UsesRedis && !string.Equals(ClusteringProvider, "Development", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Orleans:Clustering:ProviderType = '{ClusteringProvider}' is not known; use Development or Redis.");
        }

        if (UsesRedis && string.IsNullOrWhiteSpace(ClusteringConnectionString))
        {
            throw new ArgumentException("Orleans:Clustering:ProviderType = Redis needs Orleans:Clustering:ConnectionString (for example 127.0.0.1:6379).");
        }

        if (!IPAddress.TryParse(AdvertisedAddress, out _) && Uri.CheckHostName(AdvertisedAddress) != UriHostNameType.Dns)
        {
            throw new ArgumentException($"Orleans:AdvertisedIP = '{AdvertisedAddress}' is neither an IP address nor a host name.");
        }

        if (RejoinTimeout < TimeSpan.FromSeconds(5) || RejoinTimeout > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"Orleans:Membership:RejoinTimeout = {RejoinTimeout} is out of range (00:00:05 to 01:00:00).");
        }

        if (ShutdownTimeout < TimeSpan.FromSeconds(5) || ShutdownTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"Shutdown:Timeout = {ShutdownTimeout} is out of range (00:00:05 to 00:10:00).");
        }

        if (!ClusterDefaults.IsValidResponseTimeout(ResponseTimeout))
        {
            throw new ArgumentException($"Orleans:Messaging:ResponseTimeout = {ResponseTimeout} is out of range (00:00:01 to 00:10:00).");
        }

        if (!Abstractions.TransportBlockSize.IsValid(TransportBlockSize))
        {
            throw new ArgumentException(Abstractions.TransportBlockSize.Refusal("Orleans:Messaging:TransportBlockSize", TransportBlockSize.ToString(CultureInfo.InvariantCulture)));
        }

        if (ProbeTimeout is { } probe && (probe < TimeSpan.FromMilliseconds(100) || probe > TimeSpan.FromMinutes(5)))
        {
            throw new ArgumentException($"Orleans:Membership:ProbeTimeout = {probe} is out of range (00:00:00.1 to 00:05:00).");
        }

        if (NumMissedProbesLimit is < 1 or > 100 || NumVotesForDeathDeclaration is < 1 or > 100)
        {
            throw new ArgumentException($"Orleans:Membership:NumMissedProbesLimit ({NumMissedProbesLimit}) and NumVotesForDeathDeclaration ({NumVotesForDeathDeclaration}) must be in 1..100.");
        }

        if (DeadSiloLease is { } lease && (lease < TimeSpan.Zero || lease > TimeSpan.FromMinutes(10)))
        {
            throw new ArgumentException($"Orleans:Membership:DeadSiloLease = {lease} is out of range (00:00:00 to 00:10:00).");
        }

        Checkpoints.Validate();
        Balancing.Validate();
        Steps.Validate();
        if (Steps.Enabled && Steps.Port != 0 && new[] { SiloPort, GatewayPort, HttpPort }.Contains(Steps.Port))
        {
            throw new ArgumentException($"Steps:Port = {Steps.Port} is already the silo's, the gateway's or the HTTP port: the step socket needs a port of its own.");
        }

        Api.Validate();
        if (Api.Enabled && Api.Port == HttpPort)
        {
            throw new ArgumentException($"Grpc:Port = {Api.Port} is the HTTP port too: the API needs a port of its own.");
        }
        if (!IPAddress.TryParse(HttpAddress, out _))
        {
            throw new ArgumentException($"Http:Address = '{HttpAddress}' is not an IP address (use 0.0.0.0 to listen on every interface).");
        }

        if (string.IsNullOrWhiteSpace(DashboardUser) != string.IsNullOrWhiteSpace(DashboardPassword))
        {
            throw new ArgumentException("Http:DashboardUser and Http:DashboardPassword go together: give both or neither.");
        }

        if (OtlpEndpoint is { Length: > 0 } otlp && !Uri.TryCreate(otlp, UriKind.Absolute, out _))
        {
            throw new ArgumentException($"Otlp:Endpoint = '{otlp}' is not an absolute URI.");
        }
    }
}
