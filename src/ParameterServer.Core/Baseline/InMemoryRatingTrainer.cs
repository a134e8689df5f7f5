using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Core.Baseline;

/// <summary>
/// The baseline of <c>embed bench train</c>: the same rating model, loss and optimizer trained in one thread on plain
/// arrays indexed by id, one sample at a time, with no parameter server, no batching and no copies. What the
/// parameter server achieves is reported as a fraction of this loop's samples per second, measured in the same run.
/// Ids must lie in 0..maxId (synthetic data sets number users and items from 1).
/// </summary>
public sealed class InMemoryRatingTrainer
{
    private readonly RatingModel _model;
    private readonly OptimizerSettings _optimizer;
    private readonly int _dim;
    private readonly int _slots;
    private readonly float[] _users;
    private readonly float[] _items;
    private readonly float[] _userState;
    private readonly float[] _itemState;
    private readonly float[] _userBias;
    private readonly float[] _itemBias;
    private readonly float[] _userBiasState;
    private readonly float[] _itemBiasState;
    private readonly long[] _userSteps;
    private readonly long[] _itemSteps;

    /// <summary>Allocates rows for user ids 0..<paramref name="maxUser"/> and item ids 0..<paramref name="maxItem"/>.</summary>
    public InMemoryRatingTrainer(RatingModel model, int maxUser, int maxItem, int dim, OptimizerSettings optimizer, RowInitializer initializer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        optimizer.Validate();
        if (!model.PredictsRatings)
        {
            throw new ArgumentException($"The in-memory baseline trains rating models (dot, dot-bias, mf), not {RatingModel.NameOf(model.Kind)}.", nameof(model));
        }
        _model = model;
        _optimizer = optimizer;
        _dim = dim;
        _slots = optimizer.StateSlots;
        _users = new float[(maxUser + 1) * dim];
        _items = new float[(maxItem + 1) * dim];
        _userState = new float[_users.Length * _slots];
        _itemState = new float[_items.Length * _slots];
        _userBias = new float[maxUser + 1];
        _itemBias = new float[maxItem + 1];
        _userBiasState = new float[_userBias.Length * _slots];
        _itemBiasState = new float[_itemBias.Length * _slots];
        _userSteps = new long[maxUser + 1];
        _itemSteps = new long[maxItem + 1];
        for (int u = 0; u <= maxUser; u++)
        {
            initializer.Fill(u, _users.AsSpan(u * dim, dim));
        }

        var items = initializer with { Seed = initializer.Seed + 1 };
        for (int i = 0; i <= maxItem; i++)
        {
            items.Fill(i, _items.AsSpan(i * dim, dim));
        }
    }

    /// <summary>One pass over the samples <paramref name="order"/> of <paramref name="data"/>; returns the summed squared error.</summary>
    public double TrainEpoch(Ratings data, ReadOnlySpan<int> order)
    {
        ArgumentNullException.ThrowIfNull(data);
        int d = _dim;
        Span<float> gu = stackalloc float[d];
        Span<float> gv = stackalloc float[d];
        Span<float> gb = stackalloc float[2];
        double sum = 0;
        foreach (int s in order)
        {
            int u = (int)data.Users[s], i = (int)data.Items[s];
            var pu = _users.AsSpan(u * d, d);
            var qi = _items.AsSpan(i * d, d);
            gu.Clear();
            gv.Clear();
            gb.Clear();
            sum += _model.Backward(pu, qi, _userBias[u], _itemBias[i], data.Values[s], 0.5f, gu, gv, ref gb[0], ref gb[1]);
            long us = ++_userSteps[u], its = ++_itemSteps[i];
            _optimizer.Apply(pu, _userState.AsSpan(u * d * _slots, d * _slots), gu, us);
            _optimizer.Apply(qi, _itemState.AsSpan(i * d * _slots, d * _slots), gv, its);
            if (_model.HasBiases)
            {
                _optimizer.Apply(_userBias.AsSpan(u, 1), _userBiasState.AsSpan(u * _slots, _slots), gb[..1], us);
                _optimizer.Apply(_itemBias.AsSpan(i, 1), _itemBiasState.AsSpan(i * _slots, _slots), gb[1..], its);
            }
        }

        return sum;
    }

    /// <summary>RMSE of the current rows on <paramref name="data"/>, predictions clipped to the model's range.</summary>
    public double Rmse(Ratings data)
    {
        ArgumentNullException.ThrowIfNull(data);
        double sum = 0;
        for (int s = 0; s < data.Count; s++)
        {
            int u = (int)data.Users[s], i = (int)data.Items[s];
            float p = Math.Clamp(_model.Predict(_users.AsSpan(u * _dim, _dim), _items.AsSpan(i * _dim, _dim), _userBias[u], _itemBias[i]), _model.Min, _model.Max);
            sum += (p - data.Values[s]) * (double)(p - data.Values[s]);
        }

        return data.Count == 0 ? double.NaN : Math.Sqrt(sum / data.Count);
    }
}
