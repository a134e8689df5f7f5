using ParameterServer.Abstractions;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;

namespace ParameterServer.Client.Training;

/// <summary>Settings of a tabular job besides the <see cref="TrainingOptions"/> every job has.</summary>
public sealed record TabularOptions
{
    /// <summary>Units of the head's hidden layers (one or two). Default one layer of 64.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [64];

    /// <summary>
    /// L2 weight decay of the head's weights. The head's gradient is the batch mean (a dense layer's usual loss),
    /// while embedding rows get per-sample sums, so the head takes a decay of its own. Default 0.
    /// </summary>
    public float HeadWeightDecay { get; init; }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first setting out of range or the first table name that
    /// is not valid or used twice, for the tables of <paramref name="schema"/> under <paramref name="prefix"/>.
    /// </summary>
    public void Validate(TabularSchema schema, string prefix)
    {
        ArgumentNullException.ThrowIfNull(schema);
        schema.Validate();
        if (Hidden.Count is < 1 or > TabularModel.MaxHiddenLayers || Hidden.Any(h => h is < 1 or > TableSpec.MaxDim))
        {
            throw new ArgumentException($"--hidden {string.Join(",", Hidden)}: a tabular head has 1 or {TabularModel.MaxHiddenLayers} hidden layers of 1..{TableSpec.MaxDim} units.");
        }

        if (!(HeadWeightDecay >= 0 && float.IsFinite(HeadWeightDecay)))
        {
            throw new ArgumentException($"--head-weight-decay {HeadWeightDecay} must be a finite number of at least 0.");
        }

        foreach (var c in schema.Categorical.Where(c => c.Dim > TableSpec.MaxDim))
        {
            throw new ArgumentException($"--categorical {c.Name}:{c.Dim}: the dimension must be in 1..{TableSpec.MaxDim}.");
        }

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (table, what) in TabularTables.Names(schema, prefix, Hidden.Count))
        {
            TableSpec.ValidateName(table);
            if (!names.TryAdd(table, what))
            {
                throw new ArgumentException($"{names[table]} and {what} would both be table '{table}'; rename a column or choose another --table-prefix.");
            }
        }
    }
}
