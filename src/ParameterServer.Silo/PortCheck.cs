using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Silo;

/// <summary>
/// Checks before start-up that the silo's ports are free. Orleans' listeners set SO_REUSEPORT on Linux (.NET's
/// ReuseAddress sets both SO_REUSEADDR and SO_REUSEPORT there), so a second silo given a running one's gateway port
/// starts, reports ready and takes some of its clients. A probe socket with SO_REUSEADDR alone cannot bind a port that
/// a socket is listening on, whatever options that one set, and still binds a port that only has connections in
/// TIME_WAIT (a silo restarted on its ports).
/// </summary>
internal static class PortCheck
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the setting when <paramref name="port"/> is taken on <paramref name="address"/>.</summary>
    public static void EnsureFree(string setting, IPAddress address, int port)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (OperatingSystem.IsLinux())
        {
            probe.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        }

        try
        {
            probe.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied or SocketError.AddressNotAvailable)
        {
            string why = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "is already in use (another silo or process listens there)",
                SocketError.AccessDenied => "may not be used by this user",
                _ => "is not an address of this machine",
            };
            throw new ArgumentException($"{setting} = {port} on {address} {why}; choose another port or stop what holds it.", e);
        }
    }
}
