using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Orleans.Serialization;
using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>
/// A silo's step service reached over its step socket (<see cref="StepSocketFrames"/>) instead of a grain call: the
/// same push and pull, answered by the same code in the silo, without Orleans' messaging around them. Connects on
/// first use and again after a failure; a call that fails (connection refused or lost, no answer within the response
/// timeout) throws an <see cref="IOException"/> or <see cref="TimeoutException"/>, which the step client treats as
/// transient: it sends that call's parts again as shard calls and reaches the silo through its gateway for a while.
/// Thread-safe; calls on one connection are pipelined.
/// </summary>
internal sealed class SocketStepService(IPEndPoint endpoint, Serializer serializer) : IStepService
{
    /// <summary>How long a connection may take to open.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _connecting = new(1, 1);
    private volatile StepSocketConnection? _connection;

    /// <inheritdoc/>
    public async Task<StepRows> Pull(StepPull request) => Rows(await CallAsync(new StepSocketRequest(StepSocketCall.Pull, null, request)));

    /// <inheritdoc/>
    public async Task Push(StepPush request) => await CallAsync(new StepSocketRequest(StepSocketCall.Push, request, null));

    /// <inheritdoc/>
    public async Task<StepRows> PushPull(StepPush push, StepPull pull) => Rows(await CallAsync(new StepSocketRequest(StepSocketCall.PushPull, push, pull)));

    private static StepRows Rows(StepSocketAnswer answer) =>
        answer.Rows ?? throw new IOException("The step socket answered a pull without rows.");

    private async Task<StepSocketAnswer> CallAsync(StepSocketRequest request)
    {
        var connection = _connection is { Failed: false } open ? open : await ConnectAsync();
        var answer = await connection.CallAsync(request);
        return answer.Error switch
        {
            StepSocketError.None => answer,
            StepSocketError.Refused => throw new ArgumentException(answer.Message),
            StepSocketError.NotFound => throw new KeyNotFoundException(answer.Message),
            _ => throw new IOException($"Step call to {endpoint} failed in the silo: {answer.Message}"),
        };
    }

    private async Task<StepSocketConnection> ConnectAsync()
    {
        await _connecting.WaitAsync();
        try
        {
            if (_connection is { Failed: false } open)
            {
                return open;
            }

            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = new CancellationTokenSource(ConnectTimeout);
                await socket.ConnectAsync(endpoint, timeout.Token);
            }
            catch (Exception e)
            {
                socket.Dispose();
                throw new StepSocketUnreachableException($"Step socket {endpoint} did not accept a connection: {(e is OperationCanceledException ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : e.Message)}", e);
            }

            return _connection = new StepSocketConnection(socket, endpoint, serializer);
        }
        finally
        {
            _connecting.Release();
        }
    }
}

/// <summary>
/// One open connection to a silo's step socket: requests are written one at a time (each as one frame), answers are
/// read by one loop and matched to their calls by number. A call's continuation runs on that loop's thread, up to its
/// next wait (the worker's code after an answer scatters the rows and computes the step, and never blocks on another
/// answer): handing each answer to another thread-pool thread cost 6 % of standalone throughput (six pairs in turn).
/// When the connection fails every call waiting on it fails with an <see cref="IOException"/>, and so does every
/// later call (a new connection replaces it).
/// </summary>
internal sealed class StepSocketConnection
{
    private readonly Socket _socket;
    private readonly IPEndPoint _endpoint;
    private readonly Serializer _serializer;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly ArrayBufferWriter<byte> _output = new(1 << 16);
    private readonly ConcurrentDictionary<int, TaskCompletionSource<StepSocketAnswer>> _waiting = new();
    private int _next;
    private volatile Exception? _failure;

    public StepSocketConnection(Socket socket, IPEndPoint endpoint, Serializer serializer)
    {
        (_socket, _endpoint, _serializer) = (socket, endpoint, serializer);
        _ = Task.Run(ReceiveAsync);
    }

    /// <summary>Whether the connection failed (no call can use it any more).</summary>
    public bool Failed => _failure is not null;

    /// <summary>Sends <paramref name="request"/> and waits for its answer, at most the cluster's response timeout.</summary>
    public async Task<StepSocketAnswer> CallAsync(StepSocketRequest request)
    {
        int call = Interlocked.Increment(ref _next);
        var answer = new TaskCompletionSource<StepSocketAnswer>(TaskCreationOptions.None);
        _waiting[call] = answer;
        if (_failure is { } failed)
        {
            _waiting.TryRemove(call, out _);
            throw Lost(failed);
        }

        await _sending.WaitAsync();
        try
        {
            _output.ResetWrittenCount();
            StepSocketFrames.Write(_output, _serializer, call, request);
            await _socket.SendAsync(_output.WrittenMemory, SocketFlags.None);
        }
        catch (ArgumentException)
        {
            _waiting.TryRemove(call, out _);
            throw; // a step too large for a frame: the connection is fine
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _sending.Release();
        }

        try
        {
            return await answer.Task.WaitAsync(ClusterDefaults.ResponseTimeout);
        }
        catch (TimeoutException)
        {
            // The silo may be alive but stuck; this connection is given up so no later answer is mistaken for a call's.
            Fail(new TimeoutException($"no answer within {ClusterDefaults.ResponseTimeout.TotalSeconds:0} s"));
            throw new TimeoutException($"Step call to {_endpoint} got no answer within {ClusterDefaults.ResponseTimeout.TotalSeconds:0} s.");
        }
    }

    private async Task ReceiveAsync()
    {
        var reader = PipeReader.Create(new NetworkStream(_socket, ownsSocket: false), new StreamPipeReaderOptions(bufferSize: 1 << 16, minimumReadSize: 1 << 14));
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync();
                var buffer = read.Buffer;
                while (StepSocketFrames.TryRead(ref buffer, out int call, out var payload))
                {
                    var answer = _serializer.Deserialize<StepSocketAnswer>(payload) ?? throw new InvalidDataException("an empty answer");
                    if (_waiting.TryRemove(call, out var waiting))
                    {
                        waiting.TrySetResult(answer);
                    }
                    else
                    {
                        GiveBack(answer); // its call gave up waiting
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    throw new IOException("the silo closed the connection");
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private void Fail(Exception e)
    {
        if (Interlocked.CompareExchange(ref _failure, e, null) is not null)
        {
            return;
        }

        _socket.Dispose();
        foreach (var call in _waiting.Keys)
        {
            if (_waiting.TryRemove(call, out var waiting))
            {
                waiting.TrySetException(Lost(e));
            }
        }
    }

    private IOException Lost(Exception e) => new($"Step socket {_endpoint} failed: {e.Message}", e);

    private static void GiveBack(StepSocketAnswer answer)
    {
        foreach (var part in answer.Rows?.Parts ?? [])
        {
            part.Rows.Return();
        }
    }
}

/// <summary>A silo's step socket accepted no connection: its silo is reached through Orleans from then on.</summary>
internal sealed class StepSocketUnreachableException(string message, Exception inner) : IOException(message, inner);
