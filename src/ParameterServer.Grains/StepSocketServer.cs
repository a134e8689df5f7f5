using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>
/// This silo's step socket (<see cref="StepSocketOptions"/>): accepts workers' connections and serves each one's step
/// calls with a <see cref="StepServer"/>, the same code the silo's step services run for grain calls, so a part
/// whose shard is here is served in process and any other becomes a shard call from here. A connection's calls are
/// served one after another in the order they arrive, on a thread of the connection's own (a worker opens two
/// connections per silo, so a silo serves two of its steps at once); a malformed frame closes its connection only.
/// Listens from before the silo becomes active until after it has handed its shards over on a graceful stop.
/// </summary>
public sealed partial class StepSocketServer(StepSocketOptions options, LocalShards shards, IGrainFactory grains, Serializer serializer, ILogger<StepSocketServer> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>Most connections open at once (a worker process opens two per silo).</summary>
    public const int MaxConnections = 512;

    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Socket> _connections = [];
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;

    /// <summary>Where workers connect (<c>ip:port</c>), or null while the socket is not listening.</summary>
    public string? Endpoint { get; private set; }

    /// <summary>Connections accepted since the silo started.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    private long _accepted;

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(StepSocketServer), ServiceLifecycleStage.ApplicationServices, Start, Stop);
    }

    private Task Start(CancellationToken cancellationToken)
    {
        if (!options.Enabled)
        {
            return Task.CompletedTask;
        }

        var listener = new Socket(options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(options.Address, options.Port));
            listener.Listen(128);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new InvalidOperationException($"Steps:Port = {options.Port} on {options.Address} cannot be listened on: {e.Message}.", e);
        }

        _listener = listener;
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Endpoint = new IPEndPoint(options.Advertised, port).ToString();
        LogListening(Endpoint);
        _accepting = Task.Run(AcceptAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private Task Stop(CancellationToken cancellationToken) => CloseAsync();

    /// <summary>
    /// Stops listening and closes every open connection (the silo does so when it stops): workers' calls in flight on
    /// them fail and go again as grain calls, and later steps reach this silo through its gateway.
    /// </summary>
    public async Task CloseAsync()
    {
        Endpoint = null;
        await _stopping.CancelAsync();
        _listener?.Dispose();
        lock (_connections)
        {
            foreach (var c in _connections)
            {
                c.Dispose();
            }
        }

        await _accepting;
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener!.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            connection.NoDelay = true;
            lock (_connections)
            {
                if (_connections.Count >= MaxConnections)
                {
                    // Each connection has a thread: a peer that opens too many is told no (its workers use grain calls).
                    LogTooMany(connection.RemoteEndPoint?.ToString() ?? "?", MaxConnections);
                    connection.Dispose();
                    continue;
                }

                _connections.Add(connection);
            }

            Interlocked.Increment(ref _accepted);

            new Thread(() => Serve(connection)) { IsBackground = true, Name = "ps step socket" }.Start();
        }
    }

    /// <summary>
    /// Serves one connection on a thread of its own, with blocking reads and writes: the kernel wakes this thread when a
    /// request arrives, instead of waking the socket engine's thread, which would hand the request to the thread pool
    /// (measured: that hand-off and the pool's spinning cost about as much as decoding the step).
    /// </summary>
    private void Serve(Socket connection)
    {
        var remote = connection.RemoteEndPoint?.ToString() ?? "?";
        var server = new StepServer(shards, grains);
        var output = new ArrayBufferWriter<byte>(1 << 16);
        var header = new byte[StepSocketFrames.HeaderBytes];
        byte[] payload = [];
        Func<Span<byte>, int> receive = connection.Receive;
        try
        {
            while (ReadExactly(connection, header))
            {
                int length = StepSocketFrames.PayloadLength(header);
                if (!ReadPayload(receive, ref payload, length))
                {
                    return;
                }

                int call = StepSocketFrames.CallNumber(header);
                var request = serializer.Deserialize<StepSocketRequest>(new ReadOnlySequence<byte>(payload, 0, length)) ?? throw new InvalidDataException("an empty request");
                // Parts held here are served synchronously; only parts forwarded to other silos make this wait.
                var answer = ServeAsync(server, request).GetAwaiter().GetResult();
                output.ResetWrittenCount();
                StepSocketFrames.Write(output, serializer, call, answer);
                connection.Send(output.WrittenSpan);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or IOException)
        {
            // The worker went away, or this silo is stopping.
        }
        catch (Exception e)
        {
            // A frame that does not decode: this connection only is closed; the worker falls back to grain calls.
            LogMalformed(remote, e.Message);
        }
        finally
        {
            lock (_connections)
            {
                _connections.Remove(connection);
            }

            connection.Dispose();
        }
    }

    /// <summary>
    /// Reads a payload of <paramref name="length"/> bytes into <paramref name="buffer"/> (reused across frames) with
    /// <paramref name="receive"/>; false when the peer closed first. The buffer grows with the bytes that arrive, at
    /// most doubling, never to the announced length at once: a header announcing the largest payload allowed
    /// (64 MiB) and then sending little costs little memory, on each of up to 512 connections.
    /// </summary>
    public static bool ReadPayload(Func<Span<byte>, int> receive, ref byte[] buffer, int length)
    {
        int have = 0;
        while (have < length)
        {
            if (buffer.Length == have)
            {
                var grown = new byte[Math.Min(length, Math.Max(have * 2, InitialPayloadBytes))];
                buffer.AsSpan(0, have).CopyTo(grown);
                buffer = grown;
            }

            int n = receive(buffer.AsSpan(have, Math.Min(buffer.Length, length) - have));
            if (n == 0)
            {
                return false;
            }

            have += n;
        }

        return true;
    }

    /// <summary>The first payload buffer of a connection, before it grows with larger frames.</summary>
    public const int InitialPayloadBytes = 1 << 16;

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="connection"/>; false when the peer closed it first.</summary>
    private static bool ReadExactly(Socket connection, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = connection.Receive(buffer);
            if (n == 0)
            {
                return false;
            }

            buffer = buffer[n..];
        }

        return true;
    }

    private static async Task<StepSocketAnswer> ServeAsync(StepServer server, StepSocketRequest request)
    {
        try
        {
            switch (request.Call)
            {
                case StepSocketCall.Pull when request.Pull is { } pull:
                    return new StepSocketAnswer(await server.Pull(pull));
                case StepSocketCall.Push when request.Push is { } push:
                    await server.Push(push);
                    return new StepSocketAnswer(null);
                case StepSocketCall.PushPull when request.Push is { } push && request.Pull is { } pull:
                    return new StepSocketAnswer(await server.PushPull(push, pull));
                default:
                    return new StepSocketAnswer(null, StepSocketError.Refused, $"Step call refused: a {request.Call} call without its push or pull.");
            }
        }
        catch (ArgumentException e)
        {
            return new StepSocketAnswer(null, StepSocketError.Refused, e.Message);
        }
        catch (KeyNotFoundException e)
        {
            return new StepSocketAnswer(null, StepSocketError.NotFound, e.Message);
        }
        catch (Exception e)
        {
            return new StepSocketAnswer(null, StepSocketError.Failed, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopping.Dispose();
        _listener?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Step socket listening on {Endpoint}")]
    private partial void LogListening(string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Step socket connection from {Remote} refused: {Max} connections are open")]
    private partial void LogTooMany(string remote, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Step socket connection from {Remote} closed: {Reason}")]
    private partial void LogMalformed(string remote, string reason);
}
