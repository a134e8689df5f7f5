using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Networking.Shared;

namespace ParameterServer.Networking;

/// <summary>
/// Gives Orleans' socket transport buffer blocks larger than its built-in 4 KiB (see <see cref="ParameterServer.Abstractions.TransportBlockSize"/>).
/// The transport reads a socket into one pipe block at a time, so with 4 KiB blocks a 32 KiB push costs eight
/// receive calls; measured on loopback, receive calls were the largest cost of a standalone silo after the store.
/// Orleans exposes the pool only internally (SocketConnectionOptions.MemoryPoolFactory and the SharedMemoryPool
/// service), so this sets them by reflection and leaves the transport unchanged when they are not found.
/// </summary>
internal static class LargeBlockTransport
{
    /// <summary>
    /// Registers blocks of <paramref name="blockSize"/> bytes for the listeners and the outbound connections of the
    /// process. Returns false, changing nothing, for Orleans' own size or when this Orleans version lacks the hooks.
    /// </summary>
    public static bool Apply(IServiceCollection services, int blockSize)
    {
        if (!ParameterServer.Abstractions.TransportBlockSize.IsValid(blockSize))
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, ParameterServer.Abstractions.TransportBlockSize.Refusal("transport block size", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (blockSize == ParameterServer.Abstractions.TransportBlockSize.OrleansDefault)
        {
            return false;
        }

        var factory = typeof(SocketConnectionOptions).GetProperty("MemoryPoolFactory", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        var sharedType = typeof(SocketConnectionOptions).Assembly.GetType("Orleans.Networking.Shared.SharedMemoryPool");
        var poolField = sharedType?.GetField("<Pool>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);
        if (factory is null || factory.PropertyType != typeof(Func<MemoryPool<byte>>) || sharedType is null || poolField is null
            || sharedType.GetConstructor(Type.EmptyTypes) is null)
        {
            return false;
        }

        services.Configure<SocketConnectionOptions>(o => factory.SetValue(o, (Func<MemoryPool<byte>>)(() => new BlockPool(blockSize))));
        services.AddSingleton(sharedType, _ =>
        {
            object shared = Activator.CreateInstance(sharedType)!;
            poolField.SetValue(shared, new BlockPool(blockSize));
            return shared;
        });
        return true;
    }

    /// <summary>A pool of pinned blocks of one size; a block returns to the pool when its owner is disposed.</summary>
    internal sealed class BlockPool(int blockSize) : MemoryPool<byte>
    {
        private readonly ConcurrentQueue<Block> _free = new();

        public override int MaxBufferSize => blockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            if (minBufferSize > blockSize)
            {
                throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"Blocks hold {blockSize} bytes.");
            }

            if (!_free.TryDequeue(out var block))
            {
                block = new Block(this, GC.AllocateUninitializedArray<byte>(blockSize, pinned: true));
            }

            block.Rented = true;
            return block;
        }

        protected override void Dispose(bool disposing) => _free.Clear();

        internal void Return(Block block) => _free.Enqueue(block);

        internal sealed class Block(BlockPool pool, byte[] array) : IMemoryOwner<byte>
        {
            internal bool Rented;

            public Memory<byte> Memory => array;

            public void Dispose()
            {
                if (Rented)
                {
                    Rented = false;
                    pool.Return(this);
                }
            }
        }
    }
}
