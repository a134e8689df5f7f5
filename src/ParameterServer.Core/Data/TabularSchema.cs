using System.Globalization;

namespace ParameterServer.Core.Data;

/// <summary>What a tabular model predicts.</summary>
public enum TabularTask
{
    /// <summary>A real target; squared error, validation RMSE.</summary>
    Regression = 0,

    /// <summary>A 0/1 target; logistic loss, validation log loss, accuracy and AUC.</summary>
    Binary = 1,
}

/// <summary>A categorical column and the dimension of its embeddings.</summary>
/// <param name="Name">The column's name in the file's header (or a derived column's name).</param>
/// <param name="Dim">Values per embedding row.</param>
public sealed record CategoricalColumn(string Name, int Dim);

/// <summary>
/// The columns a tabular model reads: categorical columns (each with its own embedding table and dimension),
/// numeric columns (standardized) and the target.
/// </summary>
public sealed record TabularSchema
{
    /// <summary>The names accepted by <see cref="ParseTask"/>.</summary>
    public static readonly IReadOnlyList<string> TaskNames = ["regression", "binary"];

    /// <summary>Categorical columns, in the order their embeddings are concatenated.</summary>
    public required IReadOnlyList<CategoricalColumn> Categorical { get; init; }

    /// <summary>Numeric columns, concatenated after the embeddings.</summary>
    public IReadOnlyList<string> Numeric { get; init; } = [];

    /// <summary>The target column.</summary>
    public required string Target { get; init; }

    /// <summary>Regression or binary classification.</summary>
    public TabularTask Task { get; init; }

    /// <summary>Width of a model's input: the embedding dimensions plus the numeric columns.</summary>
    public int InputWidth => Categorical.Sum(c => c.Dim) + Numeric.Count;

    /// <summary>The canonical name of <paramref name="task"/>.</summary>
    public static string NameOf(TabularTask task) => TaskNames[(int)task];

    /// <summary>
    /// Parses <c>col:dim,col:dim,...</c>; a column without <c>:dim</c> gets <paramref name="defaultDim"/>. An
    /// empty list, a dimension that is not a positive integer or a column named twice is an
    /// <see cref="ArgumentException"/> that quotes the part at fault.
    /// </summary>
    public static IReadOnlyList<CategoricalColumn> ParseCategorical(string? spec, int defaultDim)
    {
        var columns = new List<CategoricalColumn>();
        foreach (string part in SplitList(spec, "--categorical", "col:dim,col:dim (e.g. userId:32,movieId:32)"))
        {
            int colon = part.LastIndexOf(':');
            string name = (colon < 0 ? part : part[..colon]).Trim();
            int dim = defaultDim;
            if (colon >= 0)
            {
                string text = part[(colon + 1)..].Trim();
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out dim) || dim < 1)
                {
                    throw new ArgumentException($"--categorical '{part}': the dimension '{text}' is not a positive integer; write column:dim, e.g. {(name.Length > 0 ? name : "colA")}:8.");
                }
            }

            if (name.Length == 0)
            {
                throw new ArgumentException($"--categorical '{part}': the column name is empty; write column:dim, e.g. colA:8.");
            }

            if (columns.Any(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"--categorical: column '{name}' is given twice.");
            }

            columns.Add(new CategoricalColumn(name, dim));
        }

        return columns;
    }

    /// <summary>Parses <c>col,col,...</c> (none for null or blank); a column named twice is an <see cref="ArgumentException"/>.</summary>
    public static IReadOnlyList<string> ParseNumeric(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            return [];
        }

        var names = new List<string>();
        foreach (string name in SplitList(spec, "--numeric", "col,col (e.g. age,income)"))
        {
            if (names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"--numeric: column '{name}' is given twice.");
            }

            names.Add(name);
        }

        return names;
    }

    /// <summary>Parses a task name; an unknown one gets an error listing the valid ones.</summary>
    public static TabularTask ParseTask(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "regression" => TabularTask.Regression,
        "binary" or "logistic" => TabularTask.Binary,
        _ => throw new ArgumentException($"Unknown task '{name}'. Valid tasks: {string.Join(", ", TaskNames)}."),
    };

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when there is no categorical column, the target is not named, or a
    /// column plays two roles (categorical, numeric, target).
    /// </summary>
    public void Validate()
    {
        if (Categorical.Count == 0)
        {
            throw new ArgumentException("--categorical names no column; a tabular model needs at least one categorical column.");
        }

        if (string.IsNullOrWhiteSpace(Target))
        {
            throw new ArgumentException("--target names no column.");
        }

        var roles = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, role) in Categorical.Select(c => (c.Name, "--categorical")).Concat(Numeric.Select(n => (n, "--numeric"))).Append((Target, "--target")))
        {
            if (!roles.TryAdd(name.Trim(), role))
            {
                throw new ArgumentException($"Column '{name}' is given to both {roles[name.Trim()]} and {role}; a column plays one role.");
            }
        }
    }

    private static IEnumerable<string> SplitList(string? spec, string option, string form)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new ArgumentException($"{option} is empty; write {form}.");
        }

        foreach (string raw in spec.Split(','))
        {
            string part = raw.Trim();
            if (part.Length == 0)
            {
                throw new ArgumentException($"{option} '{spec}' has an empty entry; write {form}.");
            }

            yield return part;
        }
    }
}
