namespace ParameterServer.Abstractions;

/// <summary>
/// What a silo offers a client hosted in its own process (the embedded silo of the worker console): a step's part for
/// a shard that is active in this silo is read or written in place, under the lock the shard grain's own turns hold,
/// instead of travelling as a message. Rows are copied straight between the store and the worker's batch buffers (no
/// row block in between) and no thread hands work to another. A shard that is not active here, or is deactivating,
/// answers false and the client sends that part to the silo's step router as usual, which activates it; so every
/// update still lands in the shard that owns the row, before its final checkpoint.
/// </summary>
public interface ILocalShardAccess
{
    /// <summary>
    /// Copies the rows of <paramref name="ids"/> of shard <paramref name="shard"/> of <paramref name="table"/> (created
    /// when missing) to rows <c>positions[i]</c> of <paramref name="destination"/>, and their slots to
    /// <paramref name="slots"/> with the store's <paramref name="generation"/>. False when the shard is not active
    /// in this silo (nothing was read).
    /// </summary>
    bool TryPull(string table, int shard, ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, Span<float> destination, Span<int> slots, out int generation);

    /// <summary>
    /// Applies the gradients at rows <c>positions[i]</c> of <paramref name="gradients"/> to the rows of
    /// <paramref name="ids"/>, taking <paramref name="slots"/> of <paramref name="generation"/> as hints (empty for
    /// none). The caller has refused the whole push already if any gradient it reads is NaN or infinite or an id repeats
    /// (the step client checks every table's push before any shard sees it), so the shard checks only the positions.
    /// False when the shard is not active in this silo (nothing was applied); a refused push throws the shard's
    /// <see cref="ArgumentException"/> and changes no row.
    /// </summary>
    bool TryPush(string table, int shard, ReadOnlySpan<long> ids, ReadOnlySpan<int> positions, ReadOnlySpan<float> gradients, ReadOnlySpan<int> slots, int generation);
}
