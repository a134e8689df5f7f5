using System.Net;

namespace ParameterServer.Api;

/// <summary>
/// The gRPC API of a silo (configuration section <c>Grpc</c>): off unless <see cref="Port"/> is set. It listens on its
/// own port with HTTP/2 over cleartext (put TLS in front, or set Kestrel certificates, where the network is not
/// trusted) and, with a <see cref="Token"/>, accepts only calls that carry <c>authorization: Bearer &lt;token&gt;</c>.
/// </summary>
public sealed class ApiOptions
{
    /// <summary>The port (HTTP/2). Default 0: the API is off.</summary>
    public int Port { get; set; }

    /// <summary>Address it listens on. Default 127.0.0.1 (loopback only; 0.0.0.0 for every interface).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The bearer token every call must carry (a secret: give it through the environment). Default none: no authentication.</summary>
    public string? Token { get; set; }

    /// <summary>Most ids (or rows) in one request. Default 65,536.</summary>
    public int MaxIds { get; set; } = 65_536;

    /// <summary>Largest request message in bytes. Default 64 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 64 << 20;

    /// <summary>Whether the API is served.</summary>
    public bool Enabled => Port > 0;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"Grpc:Port = {Port} is not a port (1 to 65535, or 0 for off).");
        }

        if (!IPAddress.TryParse(Address, out _))
        {
            throw new ArgumentException($"Grpc:Address = '{Address}' is not an IP address (use 0.0.0.0 to listen on every interface).");
        }

        if (Token is { } t && (t.Length < 16 || t.Any(char.IsWhiteSpace)))
        {
            throw new ArgumentException("Grpc:Token must be at least 16 characters without spaces (a random secret).");
        }

        if (MaxIds is < 1 or > 1 << 24)
        {
            throw new ArgumentException($"Grpc:MaxIds = {MaxIds} must be between 1 and 16777216.");
        }

        if (MaxMessageBytes is < 1 << 16 or > 1 << 30)
        {
            throw new ArgumentException($"Grpc:MaxMessageBytes = {MaxMessageBytes} must be between 65536 and 1073741824.");
        }
    }
}
