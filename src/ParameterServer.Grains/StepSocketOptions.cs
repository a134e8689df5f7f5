using System.Net;
using System.Text.Json.Serialization;

namespace ParameterServer.Grains;

/// <summary>
/// A silo's step socket (configuration section <c>Steps</c>): a TCP listener that serves workers' step calls
/// (<see cref="Abstractions.IStepService"/>) straight from the silo's shards, beside Orleans' gateway. A worker in
/// another process sends each silo its steps there once it has looked up where the shards live (the shards'
/// descriptions carry the endpoint), and through the gateway as before when the socket is off or unreachable.
/// </summary>
public sealed class StepSocketOptions
{
    /// <summary>Whether the silo listens. Default true for a standalone silo (<c>Steps:Socket</c>); an embedded silo needs none (its worker reads its shards in process).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Port (<c>Steps:Port</c>). Default 0: one the operating system picks, which the shards' descriptions advertise;
    /// set one where a firewall or network policy must name it.
    /// </summary>
    public int Port { get; set; }

    /// <summary>Address to listen on (the silo's own listening address, set by its host, not configured). Default loopback.</summary>
    [JsonIgnore]
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>Address workers are told to connect to (the silo's advertised address, set by its host). Default loopback.</summary>
    [JsonIgnore]
    public IPAddress Advertised { get; set; } = IPAddress.Loopback;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"Steps:Port = {Port} must be between 0 (any free port) and 65535.");
        }
    }
}
