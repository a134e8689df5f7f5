using System.Buffers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Networking.Shared;
using ParameterServer.Abstractions;
using ParameterServer.Networking;

namespace ParameterServer.Client.Tests;

/// <summary>
/// The transport's larger blocks: they must reach both places Orleans takes its pool from (the listeners' options and
/// the outbound connections' shared pool). If an Orleans upgrade moves those hooks, the first test fails here rather
/// than the transport silently falling back to 4 KiB reads.
/// </summary>
public sealed class TransportBlockTests
{
    private static readonly Type SharedPoolType = typeof(SocketConnectionOptions).Assembly.GetType("Orleans.Networking.Shared.SharedMemoryPool")!;

    [Fact]
    public void The_default_block_reaches_the_listeners_and_the_outbound_connections()
    {
        var services = new ServiceCollection();
        services.AddOptions();
        services.AddSingleton(SharedPoolType); // Orleans' own registration, which the hook must override.
        Assert.True(LargeBlockTransport.Apply(services, TransportBlockSize.Default));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<SocketConnectionOptions>>().Value;
        var factory = (Func<MemoryPool<byte>>)typeof(SocketConnectionOptions).GetProperty("MemoryPoolFactory", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)!.GetValue(options)!;
        using var listenerPool = factory();
        Assert.Equal(TransportBlockSize.Default, listenerPool.MaxBufferSize);

        object shared = provider.GetRequiredService(SharedPoolType);
        var outboundPool = (MemoryPool<byte>)SharedPoolType.GetProperty("Pool")!.GetValue(shared)!;
        Assert.Equal(TransportBlockSize.Default, outboundPool.MaxBufferSize);
        using var block = outboundPool.Rent(2048);
        Assert.Equal(TransportBlockSize.Default, block.Memory.Length);
    }

    [Fact]
    public void Orleans_own_size_changes_nothing_and_bad_sizes_are_refused()
    {
        var services = new ServiceCollection();
        Assert.False(LargeBlockTransport.Apply(services, TransportBlockSize.OrleansDefault));
        Assert.Empty(services);
        foreach (int bad in new[] { 0, 1000, 4097, 2 * 1024 * 1024 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => LargeBlockTransport.Apply(services, bad));
            Assert.Contains("multiple of 4096", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Blocks_are_reused_once_returned_and_a_second_dispose_returns_nothing()
    {
        using var pool = new LargeBlockTransport.BlockPool(8192);
        var first = pool.Rent();
        var memory = first.Memory;
        Assert.Equal(8192, memory.Length);
        first.Dispose();
        first.Dispose();
        using var again = pool.Rent(100);
        Assert.True(again.Memory.Span == memory.Span, "a returned block is handed out again");
        using var other = pool.Rent();
        Assert.False(other.Memory.Span == memory.Span, "a block disposed twice is not handed out twice");
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(8193));
    }
}
