using ParameterServer.Core.Data;

namespace ParameterServer.Core.Sampling;

/// <summary>
/// Negatives for implicit feedback: an item drawn uniformly from the items of the training interactions, drawn again
/// (up to <see cref="MaxTries"/> times) while the user has interacted with it. Built once from the positives; draws
/// allocate nothing and are safe from many threads (each with its own <see cref="Random"/>).
/// </summary>
public sealed class ItemNegativeSampler
{
    /// <summary>Draws before a user's own item is accepted (only a user who has nearly every item gets there).</summary>
    public const int MaxTries = 32;

    private readonly Dictionary<long, int> _userIndex = [];
    private readonly int[] _start;
    private readonly long[] _items;

    /// <summary>Indexes the (user, item) pairs of <paramref name="positives"/> (values ignored).</summary>
    public ItemNegativeSampler(Ratings positives)
    {
        ArgumentNullException.ThrowIfNull(positives);
        if (positives.Count == 0)
        {
            throw new ArgumentException("No positive interactions to sample negatives against.", nameof(positives));
        }

        var counts = new List<int>();
        foreach (long user in positives.Users)
        {
            if (!_userIndex.TryGetValue(user, out int u))
            {
                _userIndex[user] = u = counts.Count;
                counts.Add(0);
            }

            counts[u]++;
        }

        _start = new int[counts.Count + 1];
        for (int u = 0; u < counts.Count; u++)
        {
            _start[u + 1] = _start[u] + counts[u];
        }

        _items = new long[positives.Count];
        var next = _start[..^1];
        for (int r = 0; r < positives.Count; r++)
        {
            _items[next[_userIndex[positives.Users[r]]]++] = positives.Items[r];
        }

        for (int u = 0; u < counts.Count; u++)
        {
            Array.Sort(_items, _start[u], counts[u]);
        }

        Items = [.. positives.Items.Distinct().Order()];
    }

    /// <summary>Every item of the interactions, ascending: the candidates of a draw.</summary>
    public long[] Items { get; }

    /// <summary>Whether <paramref name="user"/> interacted with <paramref name="item"/>.</summary>
    public bool IsPositive(long user, long item) =>
        _userIndex.TryGetValue(user, out int u) && _items.AsSpan(_start[u], _start[u + 1] - _start[u]).BinarySearch(item) >= 0;

    /// <summary>An item <paramref name="user"/> has not interacted with, drawn uniformly.</summary>
    public long Draw(long user, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var own = _userIndex.TryGetValue(user, out int u) ? _items.AsSpan(_start[u], _start[u + 1] - _start[u]) : [];
        long item = Items[random.Next(Items.Length)];
        for (int t = 1; t < MaxTries && own.BinarySearch(item) >= 0; t++)
        {
            item = Items[random.Next(Items.Length)];
        }

        return item;
    }
}
