namespace ParameterServer.Grains;

/// <summary>
/// The moves that give every silo its share of one table's shards: with S shards on N silos, each silo holds
/// ⌊S/N⌋ or ⌈S/N⌉. The ⌈S/N⌉ places go first to the silos holding most already, so as few shards move as possible;
/// a shard on a silo not in the list (it is leaving, or gone) always moves.
/// </summary>
public static class ShardBalance
{
    /// <summary>
    /// Moves as (shard, index into <paramref name="silos"/>) for a table whose shard <c>i</c> lives on
    /// <paramref name="placement"/>[i] (a silo identity, or null when not known: such a shard is left alone).
    /// </summary>
    public static List<(int Shard, int To)> Plan(IReadOnlyList<string?> placement, IReadOnlyList<string> silos)
    {
        var moves = new List<(int, int)>();
        int n = silos.Count;
        if (n == 0)
        {
            return moves;
        }

        var slot = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (int j = 0; j < n; j++)
        {
            slot[silos[j]] = j;
        }

        var held = new List<int>[n];
        for (int j = 0; j < n; j++)
        {
            held[j] = [];
        }

        var homeless = new List<int>();
        int known = 0;
        for (int i = 0; i < placement.Count; i++)
        {
            if (placement[i] is not { } silo)
            {
                continue;
            }

            known++;
            if (slot.TryGetValue(silo, out int j))
            {
                held[j].Add(i);
            }
            else
            {
                homeless.Add(i);
            }
        }

        // Quotas: ⌊known/n⌋ each, and the remainder's extra places to the silos holding most (stable by index).
        int share = known / n, extra = known % n;
        var quota = new int[n];
        foreach (int j in Enumerable.Range(0, n).OrderByDescending(j => held[j].Count).ThenBy(j => j))
        {
            quota[j] = share + (extra-- > 0 ? 1 : 0);
        }

        var leaving = new Queue<int>(homeless);
        for (int j = 0; j < n; j++)
        {
            for (int k = quota[j]; k < held[j].Count; k++)
            {
                leaving.Enqueue(held[j][k]);
            }
        }

        for (int j = 0; j < n && leaving.Count > 0; j++)
        {
            for (int k = held[j].Count; k < quota[j] && leaving.Count > 0; k++)
            {
                moves.Add((leaving.Dequeue(), j));
            }
        }

        return moves;
    }
}
