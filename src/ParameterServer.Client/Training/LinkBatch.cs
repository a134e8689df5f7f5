using ParameterServer.Core.Data;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// One worker loop's reusable buffers for a link minibatch: its samples (positives and drawn negatives), the distinct
/// entity and link rows they touch, pulled values and summed gradients. Distinct rows are found with stamp arrays
/// over the vocabularies (no hashing, nothing allocated per batch).
/// </summary>
internal sealed class LinkBatch
{
    private readonly int[] _entityStamp;
    private readonly int[] _entityLocal;
    private readonly int[] _linkStamp;
    private readonly int[] _linkLocal;
    private int _stamp;

    public LinkBatch(int entities, int links, int batchSize, int negatives, int dim)
    {
        Dim = dim;
        _entityStamp = new int[entities];
        _entityLocal = new int[entities];
        _linkStamp = new int[links];
        _linkLocal = new int[links];
        int samples = batchSize * (1 + negatives);
        int distinctLinks = Math.Min(samples, links);
        EntityIds = new long[Math.Min(batchSize, entities)];
        LinkIds = new long[distinctLinks];
        EntityValues = new float[EntityIds.Length * dim];
        EntityGrad = new float[EntityIds.Length * dim];
        LinkValues = new float[distinctLinks * dim];
        LinkGrad = new float[distinctLinks * dim];
        SampleEntity = new int[samples];
        SampleLink = new int[samples];
        SamplePositive = new bool[samples];
    }

    public int Dim { get; }

    public int Count { get; private set; }

    public int Entities { get; private set; }

    public int Links { get; private set; }

    public long[] EntityIds { get; }

    public long[] LinkIds { get; }

    public float[] EntityValues { get; }

    public float[] EntityGrad { get; }

    public float[] LinkValues { get; }

    public float[] LinkGrad { get; }

    /// <summary>Each sample's index into the batch's distinct entities.</summary>
    public int[] SampleEntity { get; }

    /// <summary>Each sample's index into the batch's distinct links.</summary>
    public int[] SampleLink { get; }

    /// <summary>Whether each sample is a true pair.</summary>
    public bool[] SamplePositive { get; }

    /// <summary>Loads the positives <paramref name="positives"/> of <paramref name="pairs"/>, each followed by <paramref name="negatives"/> drawn negatives.</summary>
    public void Load(LinkPairs pairs, NegativeSampler sampler, ReadOnlySpan<int> positives, int negatives, Random random)
    {
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_entityStamp);
            Array.Clear(_linkStamp);
            _stamp = 1;
        }

        Entities = Links = Count = 0;
        foreach (int p in positives)
        {
            int e = pairs.Entity[p];
            int je = Local(e, _entityStamp, _entityLocal, EntityIds, pairs.EntityIds, Entities);
            if (je == Entities)
            {
                Entities++;
            }

            Add(je, pairs.Link[p], true, pairs);
            for (int r = 0; r < negatives; r++)
            {
                Add(je, sampler.Draw(e, random), false, pairs);
            }
        }
    }

    /// <summary>Zeroes the gradient sums of the current batch.</summary>
    public void ClearGradients()
    {
        EntityGrad.AsSpan(0, Entities * Dim).Clear();
        LinkGrad.AsSpan(0, Links * Dim).Clear();
    }

    private void Add(int entityLocal, int link, bool positive, LinkPairs pairs)
    {
        int jl = Local(link, _linkStamp, _linkLocal, LinkIds, pairs.LinkIds, Links);
        if (jl == Links)
        {
            Links++;
        }

        SampleEntity[Count] = entityLocal;
        SampleLink[Count] = jl;
        SamplePositive[Count] = positive;
        Count++;
    }

    /// <summary>The batch-local index of vocabulary entry <paramref name="n"/>, or <paramref name="next"/> after adding it.</summary>
    private int Local(int n, int[] stamp, int[] local, long[] batchIds, long[] ids, int next)
    {
        if (stamp[n] == _stamp)
        {
            return local[n];
        }

        stamp[n] = _stamp;
        local[n] = next;
        batchIds[next] = ids[n];
        return next;
    }
}
