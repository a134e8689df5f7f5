using ParameterServer.Core.Data;

namespace ParameterServer.Core.Sampling;

/// <summary>
/// Draws negative links for an entity: a link chosen uniformly at random that is checked not to be one of the
/// entity's true links (any pair of <see cref="LinkPairs"/> given, training and held-out alike). The entity's links
/// are kept sorted (compressed rows), so a check is a binary search and drawing allocates nothing.
/// Thread-safe for concurrent <see cref="Draw"/> calls with separate <see cref="Random"/> instances.
/// </summary>
public sealed class NegativeSampler
{
    private readonly int[] _start;
    private readonly int[] _links;

    /// <summary>Indexes the true pairs of every set in <paramref name="truth"/> (same entity and link numbering).</summary>
    public NegativeSampler(params LinkPairs[] truth)
    {
        ArgumentNullException.ThrowIfNull(truth);
        if (truth.Length == 0)
        {
            throw new ArgumentException("At least one set of true pairs is needed.", nameof(truth));
        }

        Entities = truth[0].EntityIds.Length;
        Links = truth[0].LinkIds.Length;
        _start = new int[Entities + 1];
        foreach (var set in truth)
        {
            foreach (int e in set.Entity)
            {
                _start[e + 1]++;
            }
        }

        for (int e = 0; e < Entities; e++)
        {
            _start[e + 1] += _start[e];
        }

        _links = new int[_start[Entities]];
        var fill = (int[])_start.Clone();
        foreach (var set in truth)
        {
            for (int i = 0; i < set.Count; i++)
            {
                _links[fill[set.Entity[i]]++] = set.Link[i];
            }
        }

        for (int e = 0; e < Entities; e++)
        {
            Array.Sort(_links, _start[e], _start[e + 1] - _start[e]);
        }
    }

    /// <summary>Number of entities.</summary>
    public int Entities { get; }

    /// <summary>Number of links to draw from.</summary>
    public int Links { get; }

    /// <summary>The links of <paramref name="entity"/>, sorted.</summary>
    public ReadOnlySpan<int> LinksOf(int entity) => _links.AsSpan(_start[entity], _start[entity + 1] - _start[entity]);

    /// <summary>Whether (<paramref name="entity"/>, <paramref name="link"/>) is a true pair.</summary>
    public bool IsTrue(int entity, int link) => LinksOf(entity).BinarySearch(link) >= 0;

    /// <summary>
    /// A link that is not a true link of <paramref name="entity"/>. Rejection sampling: the expected number of draws
    /// is links / (links − degree). An entity linked to every link has no negative: that is an
    /// <see cref="InvalidOperationException"/> naming it.
    /// </summary>
    public int Draw(int entity, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var own = LinksOf(entity);
        if (own.Length >= Links)
        {
            throw new InvalidOperationException($"Entity number {entity} is linked to every one of the {Links} links: it has no negative to sample.");
        }

        while (true)
        {
            int link = random.Next(Links);
            if (own.BinarySearch(link) < 0)
            {
                return link;
            }
        }
    }
}
