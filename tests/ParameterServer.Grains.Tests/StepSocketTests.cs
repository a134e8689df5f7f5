using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.TestingHost;
using ParameterServer.Abstractions;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// Steps over the silos' step sockets (<see cref="StepSocketServer"/>) on a real two-silo cluster whose silos listen on
/// loopback: a worker's pulls and pushes answer and apply what grain calls do (checked against the initial rows and
/// a scalar SGD step), a refused push changes no row, and a malformed frame closes only its own connection.
/// </summary>
public sealed class StepSocketTests(StepSocketClusterFixture fixture) : IClassFixture<StepSocketClusterFixture>
{
    private InProcessTestCluster Cluster => fixture.Cluster;

    private StepSocketServer[] Servers => [.. Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<StepSocketServer>())];

    private async Task<(ParameterServerClient Client, TableClient Table)> CreateAsync(string name, int dim, int shards)
    {
        var client = new ParameterServerClient(Cluster.Client);
        var table = await client.CreateTableAsync(new TableSpec { Name = name, Dim = dim, Shards = shards, Optimizer = OptimizerKind.Sgd, LearningRate = 0.1f, InitScale = 0.5f, Seed = 7 });
        await table.RefreshPlacementAsync();
        return (client, table);
    }

    [Fact]
    public async Task Steps_go_over_the_sockets_and_pull_and_apply_what_grain_calls_do()
    {
        var (client, table) = await CreateAsync(ClusterFixture.UniqueName("socket-steps"), 5, 8);
        var info = await client.DescribeAsync(table.Spec.Name);
        Assert.All(info.Shards, s => Assert.StartsWith("127.0.0.1:", s.StepSocket));
        var ids = StepRouterTests.Ids(200, 4);
        var pulled = new float[ids.Length * 5];
        var ticket = await client.Steps.PullAsync([new TablePull(table, ids, pulled)]);
        Assert.Equal(StepRouterTests.Initial(table, ids), pulled);
        Assert.True(Servers.Sum(s => s.Accepted) >= 1, "no step socket connection was made");
        Assert.Equal(client.Steps.Calls, client.Steps.SocketCalls);

        // A push and the next pull in one call per silo (the trainers' path), then a scalar SGD reference: w − lr·g.
        var rng = new Random(5);
        var gradients = Enumerable.Range(0, pulled.Length).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var again = new float[pulled.Length];
        var (push, pull) = client.Steps.PushThenPull([new TablePush(table, ids, gradients)], ticket, [new TablePull(table, ids, again)]);
        await push;
        (await pull).Dispose();
        ticket.Dispose();
        var initial = StepRouterTests.Initial(table, ids);
        for (int j = 0; j < again.Length; j++)
        {
            Assert.Equal(initial[j] - (0.1f * gradients[j]), again[j], 1e-5);
        }

        // Grain calls to the shards read the same rows.
        var perShard = new float[pulled.Length];
        await table.PullAsync(ids, perShard);
        Assert.Equal(again, perShard);
    }

    [Fact]
    public async Task A_push_with_a_NaN_sent_to_a_socket_is_refused_by_name_and_changes_no_row()
    {
        var (client, table) = await CreateAsync(ClusterFixture.UniqueName("socket-nan"), 3, 1);
        var ids = new long[] { 11, 12, 13 };
        var before = new float[9];
        await table.PullAsync(ids, before);
        var endpoint = IPEndPoint.Parse((await client.DescribeAsync(table.Spec.Name)).Shards[0].StepSocket!);
        var gradients = new float[9];
        gradients[4] = float.NaN;
        var block = new RowBlock(3, 3, [.. gradients.SelectMany(BitConverter.GetBytes)]);
        var request = new StepSocketRequest(StepSocketCall.Push, new StepPush([new ShardPush(table.Spec.Name, 0, new PushRequest(ids, block), null)]), null);

        var answer = await CallAsync(endpoint, request);

        Assert.Equal(StepSocketError.Refused, answer.Error);
        Assert.Contains("12", answer.Message);
        var after = new float[9];
        await table.PullAsync(ids, after);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task A_malformed_frame_closes_its_connection_only()
    {
        var (client, table) = await CreateAsync(ClusterFixture.UniqueName("socket-bad"), 2, 1);
        var endpoint = IPEndPoint.Parse((await client.DescribeAsync(table.Spec.Name)).Shards[0].StepSocket!);
        using (var bad = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await bad.ConnectAsync(endpoint);
            await bad.SendAsync(new byte[] { 16, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
            var buffer = new byte[16];
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.Equal(0, await bad.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)); // closed by the silo
        }

        // The silo still serves steps on other connections.
        var ids = new long[] { 1, 2 };
        var request = new StepSocketRequest(StepSocketCall.Pull, null, new StepPull([new ShardPull(table.Spec.Name, 0, new PullRequest(ids))]));
        var answer = await CallAsync(endpoint, request);
        Assert.Equal(StepSocketError.None, answer.Error);
        Assert.Equal(StepRouterTests.Initial(table, ids), answer.Rows!.Parts[0].Rows.Values.ToArray());
    }

    /// <summary>One call over a fresh connection, framed by hand.</summary>
    private async Task<StepSocketAnswer> CallAsync(IPEndPoint endpoint, StepSocketRequest request)
    {
        var serializer = Cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint);
        var output = new ArrayBufferWriter<byte>();
        StepSocketFrames.Write(output, serializer, 42, request);
        await socket.SendAsync(output.WrittenMemory, SocketFlags.None);
        var received = new List<byte>();
        var chunk = new byte[1 << 16];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            int n = await socket.ReceiveAsync(chunk, SocketFlags.None, deadline.Token);
            Assert.True(n > 0, "the silo closed the connection without an answer");
            received.AddRange(chunk.AsSpan(0, n));
            var buffer = new ReadOnlySequence<byte>(received.ToArray());
            if (StepSocketFrames.TryRead(ref buffer, out int call, out var payload))
            {
                Assert.Equal(42, call);
                return serializer.Deserialize<StepSocketAnswer>(payload)!;
            }
        }
    }
}

/// <summary>Steps to silos whose step sockets closed (a cluster of its own: the sockets stay closed).</summary>
public sealed class StepSocketFallbackTests(StepSocketClusterFixture fixture) : IClassFixture<StepSocketClusterFixture>
{
    [Fact]
    public async Task Steps_to_a_closed_step_socket_go_again_as_grain_calls()
    {
        var client = new ParameterServerClient(fixture.Cluster.Client);
        var table = await client.CreateTableAsync(new TableSpec { Name = ClusterFixture.UniqueName("socket-closed"), Dim = 4, Shards = 8, Optimizer = OptimizerKind.Sgd, LearningRate = 0.1f, InitScale = 0.5f, Seed = 7 });
        await table.RefreshPlacementAsync();
        foreach (var server in fixture.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<StepSocketServer>()))
        {
            await server.CloseAsync(); // the client still has the endpoints from its placement look-up
        }

        var ids = StepRouterTests.Ids(100, 9);
        var pulled = new float[ids.Length * 4];
        using (await client.Steps.PullAsync([new TablePull(table, ids, pulled)]))
        {
            Assert.Equal(StepRouterTests.Initial(table, ids), pulled);
        }

        Assert.True(client.Steps.SocketCalls >= 1, "the step did not try the step sockets first");
        var gradients = Enumerable.Repeat(0.5f, pulled.Length).ToArray();
        await client.Steps.PushAsync([new TablePush(table, ids, gradients)]);
        var after = new float[pulled.Length];
        await table.PullAsync(ids, after);
        var initial = StepRouterTests.Initial(table, ids);
        for (int j = 0; j < after.Length; j++)
        {
            Assert.Equal(initial[j] - (0.1f * 0.5f), after[j], 1e-5);
        }
    }

    [Fact]
    public void A_payload_buffer_grows_with_the_bytes_that_arrive_not_with_the_announced_length()
    {
        // A header announcing the largest payload, then 10 bytes and a close: the buffer stays at its first size.
        byte[] buffer = [];
        int sent = 0;
        Assert.False(StepSocketServer.ReadPayload(span => Take(span, ref sent, 10), ref buffer, StepSocketFrames.MaxPayloadBytes));
        Assert.Equal(StepSocketServer.InitialPayloadBytes, buffer.Length);

        // A real frame of 300,000 bytes arriving 7,000 at a time: read whole and in order, the buffer doubling to it.
        var expected = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 31)).ToArray();
        int offset = 0;
        Assert.True(StepSocketServer.ReadPayload(
            span =>
            {
                int n = Math.Min(Math.Min(span.Length, 7_000), expected.Length - offset);
                expected.AsSpan(offset, n).CopyTo(span);
                offset += n;
                return n;
            },
            ref buffer,
            expected.Length));
        Assert.Equal(expected, buffer.AsSpan(0, expected.Length).ToArray());
        Assert.True(buffer.Length <= 2 * expected.Length);

        // The next, smaller frame reuses the buffer.
        var kept = buffer;
        offset = 0;
        Assert.True(StepSocketServer.ReadPayload(span => { int n = Math.Min(span.Length, 1_000); expected.AsSpan(offset, n).CopyTo(span); offset += n; return n; }, ref buffer, 1_000));
        Assert.Same(kept, buffer);
    }

    private static int Take(Span<byte> span, ref int sent, int total)
    {
        int n = Math.Min(span.Length, total - sent);
        span[..n].Fill(1);
        sent += n;
        return n;
    }
}
