using System.Buffers;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Routing;

/// <summary>One call of a <see cref="ShardPlan"/>: the ids it sends to <paramref name="Shard"/>, which stand at
/// <c>Positions[Start .. Start + Ids.Length)</c> of the plan.</summary>
/// <param name="Shard">The shard index.</param>
/// <param name="Start">Where the call's positions start in <see cref="ShardPlan.Positions"/>.</param>
/// <param name="Ids">The ids the call carries, in the order of their positions.</param>
public readonly record struct ShardCall(int Shard, int Start, long[] Ids);

/// <summary>
/// The one routing of row ids to the shards of a table, used by every caller (the worker's table client, the query
/// grain, a shard reading another table): ids grouped by <see cref="Mix64.ShardOf"/> with a counting sort (no
/// allocation per row), each shard's group cut into calls of at most <c>maxRowsPerCall</c> rows, shards ascending
/// and, within a shard, ids in the order they were given. <see cref="Positions"/> maps each call's row back to its
/// place in the caller's ids; it is pooled, so a plan is disposed once its answers are placed.
/// </summary>
public readonly record struct ShardPlan(List<ShardCall> Calls, int[] Positions) : IDisposable
{
    /// <summary>Routes <paramref name="ids"/> to <paramref name="shards"/> shards, at most <paramref name="maxRowsPerCall"/> rows a call.</summary>
    public static ShardPlan Of(ReadOnlySpan<long> ids, int shards, int maxRowsPerCall = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRowsPerCall);
        int[] shardOf = ArrayPool<int>.Shared.Rent(ids.Length);
        int[] positions = ArrayPool<int>.Shared.Rent(ids.Length);
        Span<int> counts = shards <= 256 ? stackalloc int[shards] : new int[shards];
        counts.Clear();
        for (int i = 0; i < ids.Length; i++)
        {
            int s = Mix64.ShardOf(ids[i], shards);
            shardOf[i] = s;
            counts[s]++;
        }

        Span<int> next = shards <= 256 ? stackalloc int[shards] : new int[shards];
        int offset = 0;
        for (int s = 0; s < shards; s++)
        {
            next[s] = offset;
            offset += counts[s];
        }

        for (int i = 0; i < ids.Length; i++)
        {
            positions[next[shardOf[i]]++] = i;
        }

        var calls = new List<ShardCall>(shards);
        offset = 0;
        for (int s = 0; s < shards; s++)
        {
            for (int start = 0; start < counts[s]; start += maxRowsPerCall)
            {
                int n = Math.Min(maxRowsPerCall, counts[s] - start);
                var callIds = new long[n];
                for (int r = 0; r < n; r++)
                {
                    callIds[r] = ids[positions[offset + start + r]];
                }

                calls.Add(new ShardCall(s, offset + start, callIds));
            }

            offset += counts[s];
        }

        ArrayPool<int>.Shared.Return(shardOf);
        return new ShardPlan(calls, positions);
    }

    /// <summary>Where row <paramref name="r"/> of <paramref name="call"/> stands in the caller's ids.</summary>
    public int PositionOf(ShardCall call, int r) => Positions[call.Start + r];

    /// <summary>
    /// Copies the <paramref name="dim"/>-wide rows <paramref name="answer"/> holds for <paramref name="call"/> (in the
    /// call's order) to their places in <paramref name="destination"/> (in the caller's order).
    /// </summary>
    public void Scatter<T>(ShardCall call, ReadOnlySpan<T> answer, Span<T> destination, int dim)
    {
        var positions = Positions.AsSpan(call.Start, call.Ids.Length);
        if (dim == 1)
        {
            // Rows of one value (biases, half a rating model's rows): an element each, not a span and a copy call.
            answer = answer[..positions.Length];
            for (int r = 0; r < positions.Length; r++)
            {
                destination[positions[r]] = answer[r];
            }

            return;
        }

        for (int r = 0; r < positions.Length; r++)
        {
            answer.Slice(r * dim, dim).CopyTo(destination.Slice(positions[r] * dim, dim));
        }
    }

    /// <summary>The reverse of <see cref="Scatter{T}"/>: the rows of <paramref name="call"/> gathered from <paramref name="source"/> into <paramref name="part"/>.</summary>
    public void Gather<T>(ShardCall call, ReadOnlySpan<T> source, Span<T> part, int dim)
    {
        var positions = Positions.AsSpan(call.Start, call.Ids.Length);
        if (dim == 1)
        {
            part = part[..positions.Length];
            for (int r = 0; r < positions.Length; r++)
            {
                part[r] = source[positions[r]];
            }

            return;
        }

        for (int r = 0; r < positions.Length; r++)
        {
            source.Slice(positions[r] * dim, dim).CopyTo(part.Slice(r * dim, dim));
        }
    }

    /// <summary>Gives the pooled positions back.</summary>
    public void Dispose() => ArrayPool<int>.Shared.Return(Positions);
}
