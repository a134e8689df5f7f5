using System.Runtime.InteropServices;
using ParameterServer.Core.Data;

namespace ParameterServer.Client.Training;

/// <summary>
/// One worker loop's reusable buffers for a minibatch: the distinct users and items, each sample's index into
/// them, pulled rows and summed gradients. Sized once for the batch size; nothing is allocated per row.
/// </summary>
internal sealed class BatchBuffers
{
    private readonly Dictionary<long, int> _userMap;
    private readonly Dictionary<long, int> _itemMap;

    public BatchBuffers(int batchSize, int dim)
    {
        Dim = dim;
        _userMap = new Dictionary<long, int>(batchSize);
        _itemMap = new Dictionary<long, int>(batchSize);
        UserIds = new long[batchSize];
        ItemIds = new long[batchSize];
        UserIndex = new int[batchSize];
        ItemIndex = new int[batchSize];
        Targets = new float[batchSize];
        UserValues = new float[batchSize * dim];
        ItemValues = new float[batchSize * dim];
        UserBias = new float[batchSize];
        ItemBias = new float[batchSize];
        UserGrad = new float[batchSize * dim];
        ItemGrad = new float[batchSize * dim];
        UserBiasGrad = new float[batchSize];
        ItemBiasGrad = new float[batchSize];
    }

    public int Dim { get; }

    public int Count { get; private set; }

    public int Users { get; private set; }

    public int Items { get; private set; }

    public long[] UserIds { get; }

    public long[] ItemIds { get; }

    public int[] UserIndex { get; }

    public int[] ItemIndex { get; }

    public float[] Targets { get; }

    public float[] UserValues { get; }

    public float[] ItemValues { get; }

    public float[] UserBias { get; }

    public float[] ItemBias { get; }

    public float[] UserGrad { get; }

    public float[] ItemGrad { get; }

    public float[] UserBiasGrad { get; }

    public float[] ItemBiasGrad { get; }

    /// <summary>Loads samples <c>order[start..start+count]</c> of <paramref name="data"/> and finds the distinct rows.</summary>
    public void Load(Ratings data, ReadOnlySpan<int> order)
    {
        _userMap.Clear();
        _itemMap.Clear();
        int nu = 0, ni = 0;
        for (int k = 0; k < order.Length; k++)
        {
            int s = order[k];
            long u = data.Users[s];
            ref int ju = ref CollectionsMarshal.GetValueRefOrAddDefault(_userMap, u, out bool uExists);
            if (!uExists)
            {
                ju = nu;
                UserIds[nu++] = u;
            }

            long it = data.Items[s];
            ref int ji = ref CollectionsMarshal.GetValueRefOrAddDefault(_itemMap, it, out bool iExists);
            if (!iExists)
            {
                ji = ni;
                ItemIds[ni++] = it;
            }

            UserIndex[k] = ju;
            ItemIndex[k] = ji;
            Targets[k] = data.Values[s];
        }

        Count = order.Length;
        Users = nu;
        Items = ni;
    }

    /// <summary>Zeroes the gradient sums of the current batch.</summary>
    public void ClearGradients()
    {
        UserGrad.AsSpan(0, Users * Dim).Clear();
        ItemGrad.AsSpan(0, Items * Dim).Clear();
        UserBiasGrad.AsSpan(0, Users).Clear();
        ItemBiasGrad.AsSpan(0, Items).Clear();
    }
}
