using System.Globalization;
using ParameterServer.Abstractions;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Client.Training;

/// <summary>
/// The tables of a tabular model. Each categorical column is a table <c>{prefix}.{column}</c> of its own dimension
/// (characters a table name cannot hold become '_'), one row per value, keyed by the value's
/// <see cref="Core.Hashing.StableHash"/> and labelled with its text. The dense head is held like any other table:
/// layer l's weights are table <c>{prefix}.head.{l}</c> (l = 1 for the first hidden layer, the last for the output),
/// one row per input unit holding its weights to every output unit (dim = the layer's outputs, so rows stay far
/// below <see cref="TableSpec.MaxDim"/> however wide the input grows), and the biases are table
/// <c>{prefix}.head.bias</c>, one row per layer. Every step pulls the head whole and pushes its gradient; the
/// server's optimizer updates it like the embeddings.
/// </summary>
/// <remarks>
/// Initialization: one weight table per layer lets each layer start Glorot-uniform, U(±√(6 / (fan_in + fan_out))),
/// through the table's own seeded <see cref="InitializerKind.Uniform"/> initializer, so the head's start is as
/// deterministic as any row (same seed, same values) and no worker has to write it. One scale for a single head
/// table would not fit: the first layer's fan-in grows with the embedding dimensions while the output layer's
/// fan-out is 1. Biases start at zero in a table of their own (<see cref="InitializerKind.Zeros"/>).
/// </remarks>
public sealed class TabularTables
{
    private readonly long[][] _layerRows;
    private readonly long[] _biasRows;

    private TabularTables(TableClient[] columns, TableClient[] layers, TableClient bias, TabularModel model, NumericScaling scaling, float targetMin, float targetMax)
    {
        Scaling = scaling;
        Columns = columns;
        Layers = layers;
        Bias = bias;
        Model = model;
        TargetMin = targetMin;
        TargetMax = targetMax;
        _layerRows = [.. layers.Select((_, l) => RowIds(model.Head.FanIn(l)))];
        _biasRows = RowIds(model.Head.Layers);
        HeadRows = _layerRows.Sum(r => r.Length) + _biasRows.Length;
    }

    /// <summary>One embedding table per categorical column, in schema order.</summary>
    public IReadOnlyList<TableClient> Columns { get; }

    /// <summary>The head's weight tables, first hidden layer first, output layer last.</summary>
    public IReadOnlyList<TableClient> Layers { get; }

    /// <summary>The head's biases, one row per layer.</summary>
    public TableClient Bias { get; }

    /// <summary>The model over these tables.</summary>
    public TabularModel Model { get; }

    /// <summary>How the model standardizes its numeric columns (the training split's moments).</summary>
    public NumericScaling Scaling { get; }

    /// <summary>Lowest training target: regression predictions are clipped to [<see cref="TargetMin"/>, <see cref="TargetMax"/>].</summary>
    public float TargetMin { get; }

    /// <summary>Highest training target.</summary>
    public float TargetMax { get; }

    /// <summary>Every table of the model.</summary>
    public IEnumerable<TableClient> All => Columns.Concat(Layers).Append(Bias);

    /// <summary>The table of categorical column <paramref name="column"/>.</summary>
    public static string ColumnTable(string prefix, string column) =>
        prefix + "." + string.Concat(column.Trim().Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' ? ch : '_'));

    /// <summary>The weight table of head layer <paramref name="layer"/> (0-based).</summary>
    public static string LayerTable(string prefix, int layer) => $"{prefix}.head.{(layer + 1).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The head's bias table.</summary>
    public static string BiasTable(string prefix) => prefix + ".head.bias";

    /// <summary>Every table name of a model of <paramref name="schema"/>, with what it holds.</summary>
    public static IEnumerable<(string Table, string What)> Names(TabularSchema schema, string prefix, int hiddenLayers)
    {
        ArgumentNullException.ThrowIfNull(schema);
        foreach (var c in schema.Categorical)
        {
            yield return (ColumnTable(prefix, c.Name), $"categorical column '{c.Name}'");
        }

        for (int l = 0; l <= hiddenLayers; l++)
        {
            yield return (LayerTable(prefix, l), $"head layer {l + 1}");
        }

        yield return (BiasTable(prefix), "the head's biases");
    }

    /// <summary>Creates (or finds) the tables of a job and records the model, its scaling and its targets' range with the bias table.</summary>
    public static async Task<TabularTables> CreateAsync(ParameterServerClient ps, TrainingOptions o, TabularOptions t, TabularModel model, NumericScaling scaling, float targetMin, float targetMax)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scaling);
        TableSpec Spec(string name, int dim, int shards, InitializerKind init, float scale, int seedOffset, float weightDecay) => new()
        {
            Name = name,
            Dim = dim,
            Shards = shards,
            Initializer = init,
            InitScale = scale,
            Seed = o.Seed + seedOffset,
            Optimizer = o.Optimizer,
            LearningRate = o.LearningRate,
            WeightDecay = weightDecay,
            Epsilon = OptimizerSettings.DefaultEpsilon(o.Optimizer),
        };

        var schema = model.Schema;
        var head = model.Head;
        var columns = new TableClient[schema.Categorical.Count];
        for (int c = 0; c < columns.Length; c++)
        {
            var col = schema.Categorical[c];
            columns[c] = await ps.CreateTableAsync(Spec(ColumnTable(o.TablePrefix, col.Name), col.Dim, o.Shards, InitializerKind.Normal, o.InitScale, c, o.WeightDecay));
        }

        // The head is a few rows pulled whole every step: one shard each keeps that to one call per table.
        var layers = new TableClient[head.Layers];
        for (int l = 0; l < layers.Length; l++)
        {
            float glorot = MathF.Sqrt(6f / (head.FanIn(l) + head.FanOut(l)));
            layers[l] = await ps.CreateTableAsync(Spec(LayerTable(o.TablePrefix, l), head.FanOut(l), 1, InitializerKind.Uniform, glorot, 1000 + l, t.HeadWeightDecay));
        }

        var bias = await ps.CreateTableAsync(Spec(BiasTable(o.TablePrefix), head.BiasStride, 1, InitializerKind.Zeros, 0, 2000, t.HeadWeightDecay));
        string meta = BiasTable(o.TablePrefix);
        var grain = ps.TableGrain(meta);
        await grain.SetMetadata("model", "tabular");
        await grain.SetMetadata("task", TabularSchema.NameOf(schema.Task));
        await grain.SetMetadata("categorical", string.Join(",", schema.Categorical.Select(c => $"{c.Name}:{c.Dim}")));
        await grain.SetMetadata("numeric", string.Join(",", schema.Numeric));
        await grain.SetMetadata("numeric_mean", string.Join(",", scaling.Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        await grain.SetMetadata("numeric_std", string.Join(",", scaling.Std.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        await grain.SetMetadata("target", schema.Target);
        await grain.SetMetadata("hidden", string.Join(",", head.Hidden));
        await ps.SetNumberAsync(meta, "offset", model.Offset);
        await ps.SetNumberAsync(meta, "min", targetMin);
        await ps.SetNumberAsync(meta, "max", targetMax);
        return new TabularTables(columns, layers, bias, model, scaling, targetMin, targetMax);
    }

    /// <summary>Opens the tables of a trained tabular model; the model comes from the bias table's metadata.</summary>
    public static async Task<TabularTables> OpenAsync(ParameterServerClient ps, string prefix)
    {
        ArgumentNullException.ThrowIfNull(ps);
        var bias = await ps.OpenTableAsync(BiasTable(prefix));
        var meta = await ps.TableGrain(bias.Spec.Name).GetMetadata();
        if (!meta.TryGetValue("model", out string? name) || name != TabularTrainer.ModelName)
        {
            throw new InvalidOperationException($"Table '{bias.Spec.Name}' records no tabular model; was it trained by embed train --model tabular?");
        }

        static float[] Numbers(string text) => text.Length == 0 ? [] : [.. text.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture))];
        float Number(string key) => float.Parse(meta[key], CultureInfo.InvariantCulture);
        var schema = new TabularSchema
        {
            Categorical = TabularSchema.ParseCategorical(meta["categorical"], 1),
            Numeric = TabularSchema.ParseNumeric(meta["numeric"]),
            Target = meta["target"],
            Task = TabularSchema.ParseTask(meta["task"]),
        };
        var model = new TabularModel(schema, TabularModel.ParseHidden(meta["hidden"]), Number("offset"));
        var columns = new TableClient[schema.Categorical.Count];
        for (int c = 0; c < columns.Length; c++)
        {
            columns[c] = await ps.OpenTableAsync(ColumnTable(prefix, schema.Categorical[c].Name));
        }

        var layers = new TableClient[model.Head.Layers];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = await ps.OpenTableAsync(LayerTable(prefix, l));
        }

        var scaling = new NumericScaling(Numbers(meta["numeric_mean"]), Numbers(meta["numeric_std"]));
        return new TabularTables(columns, layers, bias, model, scaling, Number("min"), Number("max"));
    }

    /// <summary>Rows of the head tables (every layer's and the biases'), all pulled and pushed at every step.</summary>
    internal int HeadRows { get; }

    /// <summary>Pulls the whole head into <paramref name="head"/> (laid out as <see cref="MlpHead"/> says).</summary>
    internal Task PullHeadAsync(float[] head) => ForEachHeadTable(head, (table, ids, values) => table.PullAsync(ids, values));

    /// <summary>Pushes a gradient of the whole head (laid out as <see cref="MlpHead"/> says).</summary>
    internal Task PushHeadAsync(float[] gradient) => ForEachHeadTable(gradient, (table, ids, values) => table.PushAsync(ids, values));

    /// <summary>Calls every head table at once with its rows and their part of <paramref name="buffer"/>.</summary>
    private Task ForEachHeadTable(float[] buffer, Func<TableClient, long[], Memory<float>, Task> call)
    {
        var h = Model.Head;
        var calls = new Task[Layers.Count + 1];
        for (int l = 0; l < Layers.Count; l++)
        {
            calls[l] = call(Layers[l], _layerRows[l], buffer.AsMemory(h.WeightOffset(l), h.FanIn(l) * h.FanOut(l)));
        }

        calls[^1] = call(Bias, _biasRows, buffer.AsMemory(h.BiasBase, h.Layers * h.BiasStride));
        return Task.WhenAll(calls);
    }

    private static long[] RowIds(int count)
    {
        var ids = new long[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = i;
        }

        return ids;
    }
}
