namespace ParameterServer.Core.Data;

/// <summary>
/// Distinct (entity, link) pairs, the positives of a link-embedding task (a book and the pages it links to, a movie
/// and its tags). Entities and links are numbered densely (<see cref="EntityIds"/>, <see cref="LinkIds"/> hold the
/// row ids); pairs refer to those numbers, so negatives are drawn and checked without hashing.
/// </summary>
public sealed class LinkPairs
{
    /// <summary>Creates the pairs.</summary>
    public LinkPairs(long[] entityIds, long[] linkIds, int[] entity, int[] link, string?[] entityLabels, string[] linkLabels)
    {
        ArgumentNullException.ThrowIfNull(entityIds);
        ArgumentNullException.ThrowIfNull(linkIds);
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentNullException.ThrowIfNull(link);
        if (entity.Length != link.Length || entityLabels.Length != entityIds.Length || linkLabels.Length != linkIds.Length)
        {
            throw new ArgumentException("Pair arrays and label arrays must match their id arrays in length.");
        }

        EntityIds = entityIds;
        LinkIds = linkIds;
        Entity = entity;
        Link = link;
        EntityLabels = entityLabels;
        LinkLabels = linkLabels;
    }

    /// <summary>Row id of each entity (its number is the index).</summary>
    public long[] EntityIds { get; }

    /// <summary>Row id of each link.</summary>
    public long[] LinkIds { get; }

    /// <summary>Entity number of each pair.</summary>
    public int[] Entity { get; }

    /// <summary>Link number of each pair.</summary>
    public int[] Link { get; }

    /// <summary>Text of each entity (null for numeric ids, which get labels from elsewhere, e.g. movie titles).</summary>
    public string?[] EntityLabels { get; }

    /// <summary>Text of each link.</summary>
    public string[] LinkLabels { get; }

    /// <summary>Number of pairs.</summary>
    public int Count => Entity.Length;

    /// <summary>Lines skipped as malformed (with <see cref="LinkReaderOptions.SkipBadRows"/>).</summary>
    public int SkippedRows { get; init; }

    /// <summary>Pairs dropped because their link was seen with fewer than <see cref="LinkReaderOptions.MinLinkEntities"/> entities.</summary>
    public int DroppedRare { get; init; }

    /// <summary>Pairs dropped because their link is on the stop list.</summary>
    public int DroppedStopped { get; init; }

    /// <summary>Pairs given more than once in the file (counted once).</summary>
    public int Repeated { get; init; }

    /// <summary>The pairs <paramref name="indices"/> of this set, with the same entity and link numbering.</summary>
    public LinkPairs Subset(ReadOnlySpan<int> indices)
    {
        var e = new int[indices.Length];
        var l = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            e[i] = Entity[indices[i]];
            l[i] = Link[indices[i]];
        }

        return new LinkPairs(EntityIds, LinkIds, e, l, EntityLabels, LinkLabels);
    }

    /// <summary>
    /// Holds out about <paramref name="fraction"/> of the pairs for validation, seeded, choosing only pairs whose
    /// entity and link keep at least one training pair each: a held-out pair then tests what training learned about
    /// both sides instead of scoring an untrained row.
    /// </summary>
    public (LinkPairs Train, LinkPairs Validation) Split(double fraction, int seed)
    {
        if (!(fraction >= 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The validation fraction must be in [0, 1).");
        }

        var entityLeft = new int[EntityIds.Length];
        var linkLeft = new int[LinkIds.Length];
        for (int i = 0; i < Count; i++)
        {
            entityLeft[Entity[i]]++;
            linkLeft[Link[i]]++;
        }

        int[] order = [.. Enumerable.Range(0, Count)];
        new Random(seed).Shuffle(order);
        int target = (int)Math.Round(Count * fraction);
        var held = new List<int>(target);
        var kept = new List<int>(Count - target);
        foreach (int i in order)
        {
            if (held.Count < target && entityLeft[Entity[i]] > 1 && linkLeft[Link[i]] > 1)
            {
                entityLeft[Entity[i]]--;
                linkLeft[Link[i]]--;
                held.Add(i);
            }
            else
            {
                kept.Add(i);
            }
        }

        kept.Sort();
        held.Sort();
        return (Subset([.. kept]), Subset([.. held]));
    }
}
