using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using ParameterServer.Silo;

namespace ParameterServer.Api.Tests;

/// <summary>A real standalone silo (the silo host itself, on free loopback ports) serving the gRPC API with a token.</summary>
public sealed class ApiSilo : IAsyncLifetime
{
    /// <summary>The token the silo requires.</summary>
    public const string Token = "test-token-0123456789abcdef";

    private Microsoft.AspNetCore.Builder.WebApplication? _app;
    private GrpcChannel? _channel;

    /// <summary>The gRPC port.</summary>
    public int Port { get; private set; }

    /// <summary>A client that sends the token.</summary>
    public V1.ParameterServer.ParameterServerClient Client { get; private set; } = null!;

    /// <summary>A client that sends <paramref name="token"/> (none: no authorization metadata).</summary>
    public V1.ParameterServer.ParameterServerClient ClientWith(string? token) => new(_channel!.Intercept(m =>
    {
        if (token is not null)
        {
            m.Add("authorization", "Bearer " + token);
        }

        return m;
    }));

    public async Task InitializeAsync()
    {
        int silo = FreePort(), gateway = FreePort(), http = FreePort();
        Port = FreePort();
        _app = SiloHost.Build([$"--Orleans:SiloPort={silo}", $"--Orleans:GatewayPort={gateway}", $"--Orleans:ClusterId=api-test-{Guid.NewGuid():N}",
            $"--Http:Port={http}", $"--Grpc:Port={Port}", $"--Grpc:Token={Token}", "--Grpc:MaxIds=5000"]);
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Port}");
        Client = ClientWith(Token);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public static ByteString Ids(params long[] ids) => ByteString.CopyFrom(MemoryMarshal.AsBytes(ids.AsSpan()));

    public static ByteString Floats(params float[] values) => ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));

    public static float[] Floats(ByteString bytes) => MemoryMarshal.Cast<byte, float>(bytes.Span).ToArray();

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiSilo>
{
    public const string Name = "api";
}
