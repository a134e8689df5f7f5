using System.Buffers;

namespace ParameterServer.Core.Search;

/// <summary>
/// The best k (key, id) pairs seen so far: a bounded binary heap whose root is the worst kept pair. Higher keys
/// rank first; equal keys rank by lower id, so results are deterministic. Each pair may carry an int tag
/// (for example where its label is). Arrays come from <see cref="ArrayPool{T}"/>; dispose to return them.
/// </summary>
public sealed class TopKHeap : IDisposable
{
    private float[] _keys;
    private long[] _ids;
    private int[] _tags;

    /// <summary>Creates a heap that keeps <paramref name="k"/> pairs.</summary>
    public TopKHeap(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        K = k;
        _keys = ArrayPool<float>.Shared.Rent(k);
        _ids = ArrayPool<long>.Shared.Rent(k);
        _tags = ArrayPool<int>.Shared.Rent(k);
    }

    /// <summary>How many pairs it keeps at most.</summary>
    public int K { get; }

    /// <summary>Pairs kept.</summary>
    public int Count { get; private set; }

    /// <summary>The key a new pair must reach to be considered: minus infinity until the heap is full, then the worst kept key.</summary>
    public float Threshold => Count < K ? float.NegativeInfinity : _keys[0];

    /// <summary>Whether (<paramref name="key"/>, <paramref name="id"/>) would be kept: the heap is not full or it beats the worst.</summary>
    public bool Accepts(float key, long id) => Count < K || key > _keys[0] || (key == _keys[0] && id < _ids[0]);

    /// <summary>Offers a pair; keeps it if it is among the best k so far. NaN keys are ignored.</summary>
    public void Offer(float key, long id, int tag = 0)
    {
        if (float.IsNaN(key) || !Accepts(key, id))
        {
            return;
        }

        if (Count < K)
        {
            int i = Count++;
            _keys[i] = key;
            _ids[i] = id;
            _tags[i] = tag;
            SiftUp(i);
            return;
        }

        _keys[0] = key;
        _ids[0] = id;
        _tags[0] = tag;
        SiftDown(0);
    }

    /// <summary>Writes the kept pairs best first and empties the heap. Returns how many were written.</summary>
    public int Drain(Span<long> ids, Span<float> keys, Span<int> tags = default)
    {
        int n = Count;
        if (ids.Length < n || keys.Length < n || (!tags.IsEmpty && tags.Length < n))
        {
            throw new ArgumentException($"Drain needs room for {n} pairs.");
        }

        // Pop the worst into the last free position until empty: best ends up first.
        for (int pos = n - 1; pos >= 0; pos--)
        {
            ids[pos] = _ids[0];
            keys[pos] = _keys[0];
            if (!tags.IsEmpty)
            {
                tags[pos] = _tags[0];
            }

            int last = --Count;
            _keys[0] = _keys[last];
            _ids[0] = _ids[last];
            _tags[0] = _tags[last];
            SiftDown(0);
        }

        return n;
    }

    /// <summary>Empties the heap.</summary>
    public void Clear() => Count = 0;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_keys.Length == 0)
        {
            return;
        }

        ArrayPool<float>.Shared.Return(_keys);
        ArrayPool<long>.Shared.Return(_ids);
        ArrayPool<int>.Shared.Return(_tags);
        _keys = [];
        _ids = [];
        _tags = [];
        Count = 0;
    }

    // a ranks below b: lower key, or the same key and a higher id.
    private bool Worse(int a, int b) => _keys[a] < _keys[b] || (_keys[a] == _keys[b] && _ids[a] > _ids[b]);

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Worse(i, parent))
            {
                return;
            }

            Swap(i, parent);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            int l = (2 * i) + 1;
            if (l >= Count)
            {
                return;
            }

            int worst = l + 1 < Count && Worse(l + 1, l) ? l + 1 : l;
            if (!Worse(worst, i))
            {
                return;
            }

            Swap(i, worst);
            i = worst;
        }
    }

    private void Swap(int a, int b)
    {
        (_keys[a], _keys[b]) = (_keys[b], _keys[a]);
        (_ids[a], _ids[b]) = (_ids[b], _ids[a]);
        (_tags[a], _tags[b]) = (_tags[b], _tags[a]);
    }
}
