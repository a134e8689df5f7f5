using System.Numerics.Tensors;
using ParameterServer.Core.Data;

namespace ParameterServer.Client.Training;

/// <summary>
/// One worker loop's minibatch of a tabular model: the distinct rows of every categorical column, each sample's
/// index into them, the pulled head and its gradient, and one sample's input, input gradient and scratch. Sized once
/// for the batch; the hot loop allocates nothing.
/// </summary>
internal sealed class TabularBatch : IBatchStep
{
    private readonly TabularTables _tables;
    private readonly TabularData _data;
    private readonly int[][] _index;
    private readonly int[] _samples;
    private readonly float[] _input;
    private readonly float[] _inputGrad;
    private readonly float[] _scratch;

    public TabularBatch(TabularTables tables, TabularData data, int batchSize)
    {
        _tables = tables;
        _data = data;
        var model = tables.Model;
        var columns = model.Schema.Categorical;
        Columns = [.. columns.Select(c => new DistinctRows(batchSize, c.Dim))];
        _index = [.. columns.Select(_ => new int[batchSize])];
        _samples = new int[batchSize];
        Head = new float[model.Head.ParameterCount];
        HeadGrad = new float[model.Head.ParameterCount];
        _input = new float[model.InputWidth];
        _inputGrad = new float[model.InputWidth];
        _scratch = new float[model.ScratchLength];
    }

    /// <summary>The distinct rows of each categorical column.</summary>
    public DistinctRows[] Columns { get; }

    /// <summary>The pulled head parameters.</summary>
    public float[] Head { get; }

    /// <summary>The head's gradient: the mean over the batch.</summary>
    public float[] HeadGrad { get; }

    /// <summary>Samples loaded.</summary>
    public int Count { get; private set; }

    /// <inheritdoc />
    public int Samples => Count;

    /// <summary>Distinct embedding rows of the batch, plus the head's rows (pulled whole every step).</summary>
    public int Rows
    {
        get
        {
            int rows = _tables.HeadRows;
            foreach (var c in Columns)
            {
                rows += c.Count;
            }

            return rows;
        }
    }

    public void Load(ReadOnlySpan<int> samples)
    {
        foreach (var rows in Columns)
        {
            rows.Clear();
        }

        for (int c = 0; c < Columns.Length; c++)
        {
            var ids = _data.Categories[c];
            var rows = Columns[c];
            var index = _index[c];
            for (int k = 0; k < samples.Length; k++)
            {
                index[k] = rows.Add(ids[samples[k]]);
            }
        }

        samples.CopyTo(_samples);
        Count = samples.Length;
    }

    public Task PullAsync() => ForEachTable((rows, table) => rows.PullAsync(table), _tables.PullHeadAsync(Head));

    /// <summary>
    /// Forward and backward over the loaded batch. Embedding rows get the sum of their samples' gradients (the
    /// per-sample semantics of the rating models); the head, which every sample touches, gets the batch mean, so its
    /// learning rate means the same at any batch size. Returns the summed loss.
    /// </summary>
    public double Compute()
    {
        foreach (var rows in Columns)
        {
            rows.ClearGradients();
        }

        Array.Clear(HeadGrad);
        var model = _tables.Model;
        double loss = 0;
        for (int k = 0; k < Count; k++)
        {
            LoadInput(k);
            loss += model.Backward(_input, _data.Targets[_samples[k]], Head, HeadGrad, _inputGrad, _scratch);
            for (int c = 0; c < Columns.Length; c++)
            {
                var g = Columns[c].Gradient(_index[c][k]);
                TensorPrimitives.Add(g, _inputGrad.AsSpan(model.ColumnOffset(c), g.Length), g);
            }
        }

        if (Count > 0)
        {
            TensorPrimitives.Multiply(HeadGrad, 1f / Count, HeadGrad);
        }

        return loss;
    }

    public Task PushAsync() => ForEachTable((rows, table) => rows.PushAsync(table), _tables.PushHeadAsync(HeadGrad));

    /// <summary>The model's outputs (prediction or probability) for the loaded samples, rows already pulled.</summary>
    public void Predict(Span<float> outputs)
    {
        var model = _tables.Model;
        for (int k = 0; k < Count; k++)
        {
            LoadInput(k);
            outputs[k] = model.Predict(_input, Head, _scratch);
        }
    }

    /// <summary>Sample k's input: its embedding rows, then its numeric columns.</summary>
    private void LoadInput(int k)
    {
        var model = _tables.Model;
        for (int c = 0; c < Columns.Length; c++)
        {
            Columns[c].Row(_index[c][k]).CopyTo(_input.AsSpan(model.ColumnOffset(c)));
        }

        int m = _data.NumericCount;
        _data.Numeric.AsSpan(_samples[k] * m, m).CopyTo(_input.AsSpan(model.NumericOffset));
    }

    /// <summary>Calls every column's table with its distinct rows, beside the head's call.</summary>
    private Task ForEachTable(Func<DistinctRows, TableClient, Task> column, Task head)
    {
        var calls = new Task[Columns.Length + 1];
        for (int c = 0; c < Columns.Length; c++)
        {
            calls[c] = column(Columns[c], _tables.Columns[c]);
        }

        calls[^1] = head;
        return Task.WhenAll(calls);
    }
}
