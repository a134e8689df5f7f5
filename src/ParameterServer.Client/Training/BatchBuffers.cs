using ParameterServer.Core.Data;
using ParameterServer.Core.Kernels;

namespace ParameterServer.Client.Training;

/// <summary>
/// One worker loop's reusable buffers for a rating minibatch: the distinct users and items (with their bias values
/// and gradients at the same positions), each sample's index into them and the targets. Sized once for the batch
/// size; nothing is allocated per row.
/// </summary>
internal sealed class BatchBuffers
{
    public BatchBuffers(int batchSize, int dim)
    {
        Dim = dim;
        Users = new DistinctRows(batchSize, dim);
        Items = new DistinctRows(batchSize, dim);
        UserIndex = new int[batchSize];
        ItemIndex = new int[batchSize];
        Targets = new float[batchSize];
        UserBias = new float[batchSize];
        ItemBias = new float[batchSize];
        UserBiasGrad = new float[batchSize];
        ItemBiasGrad = new float[batchSize];
        _userIds = new long[batchSize];
        _itemIds = new long[batchSize];
    }

    // The batch's user and item ids in sample order, gathered before they are deduplicated (see Load).
    private readonly long[] _userIds;
    private readonly long[] _itemIds;

    public int Dim { get; }

    public int Count { get; private set; }

    public DistinctRows Users { get; }

    public DistinctRows Items { get; }

    public int[] UserIndex { get; }

    public int[] ItemIndex { get; }

    public float[] Targets { get; }

    public float[] UserBias { get; }

    public float[] ItemBias { get; }

    public float[] UserBiasGrad { get; }

    public float[] ItemBiasGrad { get; }

    /// <summary>How many samples ahead the Load methods prefetches a sample's user, item and rating.</summary>
    private const int PrefetchDistance = 16;

    /// <summary>Loads samples <c>order[start..start+count]</c> of <paramref name="data"/> and finds the distinct rows.</summary>
    public void Load(Ratings data, ReadOnlySpan<int> order)
    {
        Users.Clear();
        Items.Clear();
        // Gather first: the order is shuffled, so each read of the (millions long) sample arrays is a cache miss.
        // Prefetched some samples ahead, those misses overlap; inside the dictionary loop they would queue.
        long[] users = data.Users, items = data.Items;
        float[] values = data.Values;
        for (int k = 0; k < order.Length; k++)
        {
            if (k + PrefetchDistance < order.Length)
            {
                int f = order[k + PrefetchDistance];
                Prefetch.Line(in users[f]);
                Prefetch.Line(in items[f]);
                Prefetch.Line(in values[f]);
            }

            int s = order[k];
            _userIds[k] = users[s];
            _itemIds[k] = items[s];
            Targets[k] = values[s];
        }

        for (int k = 0; k < order.Length; k++)
        {
            UserIndex[k] = Users.Add(_userIds[k]);
            ItemIndex[k] = Items.Add(_itemIds[k]);
        }

        Count = order.Length;
    }

    /// <summary>
    /// As <see cref="Load(Ratings, ReadOnlySpan{int})"/>, from samples packed one record each: a shuffled read costs one
    /// cache miss instead of three (training reads every sample once per epoch in a new order).
    /// </summary>
    public void Load(PackedRatings data, ReadOnlySpan<int> order)
    {
        Users.Clear();
        Items.Clear();
        RatingSample[] samples = data.Samples;
        for (int k = 0; k < order.Length; k++)
        {
            if (k + PrefetchDistance < order.Length)
            {
                // A record may straddle two lines: fetch both ends.
                ref readonly RatingSample ahead = ref samples[order[k + PrefetchDistance]];
                Prefetch.Line(in ahead.User);
                Prefetch.Line(in ahead.Value);
            }

            ref readonly RatingSample s = ref samples[order[k]];
            _userIds[k] = s.User;
            _itemIds[k] = s.Item;
            Targets[k] = s.Value;
        }

        for (int k = 0; k < order.Length; k++)
        {
            UserIndex[k] = Users.Add(_userIds[k]);
            ItemIndex[k] = Items.Add(_itemIds[k]);
        }

        Count = order.Length;
    }

}
