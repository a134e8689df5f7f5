using System.Runtime.Serialization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Abstractions;

/// <summary>
/// Everything that defines an embedding table: its name, row dimension, number of virtual shards, how rows
/// start and how pushes update them. Defaults: 8 shards, Normal(0, 0.01) rows, Adam with learning rate 0.001.
/// </summary>
[GenerateSerializer, Immutable, Alias("ps.TableSpec")]
public sealed partial record TableSpec
{
    /// <summary>The largest row dimension accepted.</summary>
    public const int MaxDim = 4096;

    /// <summary>The largest number of shards a table may have.</summary>
    public const int MaxShards = 1024;

    /// <summary>The longest table name accepted.</summary>
    public const int MaxNameLength = 128;

    /// <summary>Largest initializer scale: rows drawn wider than this start far outside any useful embedding.</summary>
    public const float MaxInitScale = 10f;

    /// <summary>Table name: letters, digits, '.', '_' and '-', at most <see cref="MaxNameLength"/> characters.</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>Values per row, 1..<see cref="MaxDim"/>.</summary>
    [Id(1)] public required int Dim { get; init; }

    /// <summary>Virtual shards, 1..<see cref="MaxShards"/>; more shards than silos lets Orleans spread them. Default 8.</summary>
    [Id(2)] public int Shards { get; init; } = 8;

    /// <summary>How new rows are filled. Default Normal.</summary>
    [Id(3)] public InitializerKind Initializer { get; init; } = InitializerKind.Normal;

    /// <summary>Standard deviation (Normal) or half-width (Uniform) of new rows, 0..<see cref="MaxInitScale"/>. Default 0.01.</summary>
    [Id(4)] public float InitScale { get; init; } = 0.01f;

    /// <summary>Seed of row initialization: row values depend on (seed, row id) only. Default 42.</summary>
    [Id(5)] public long Seed { get; init; } = 42;

    /// <summary>Server-side optimizer. Default Adam.</summary>
    [Id(6)] public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>Learning rate. Default 0.001.</summary>
    [Id(7)] public float LearningRate { get; init; } = 0.001f;

    /// <summary>L2 weight decay of touched rows. Default 0.</summary>
    [Id(8)] public float WeightDecay { get; init; }

    /// <summary>Adam beta1. Default 0.9.</summary>
    [Id(9)] public float Beta1 { get; init; } = 0.9f;

    /// <summary>Adam beta2. Default 0.999.</summary>
    [Id(10)] public float Beta2 { get; init; } = 0.999f;

    /// <summary>Denominator epsilon of Adagrad and Adam. Default 1e-8.</summary>
    [Id(11)] public float Epsilon { get; init; } = 1e-8f;

    // The two views below are computed from the fields above and are never stored: grain storage writes a table's
    // state as JSON with type names, and a silo that had not written such a view itself refused the type name of a
    // Core type when it read the record (a table's grain that moved to a silo that joined later could not start).

    /// <summary>The optimizer settings of this table.</summary>
    [IgnoreDataMember, JsonIgnore]
    public OptimizerSettings OptimizerSettings => new(Optimizer, LearningRate, WeightDecay, Beta1, Beta2, Epsilon);

    /// <summary>The row initializer of this table.</summary>
    [IgnoreDataMember, JsonIgnore]
    public RowInitializer RowInitializer => new(Initializer, InitScale, Seed);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        ValidateName(Name);
        if (Dim < 1 || Dim > MaxDim)
        {
            throw new ArgumentException($"Table '{Name}': dim {Dim} is out of range; it must be in 1..{MaxDim}.");
        }

        if (Shards < 1 || Shards > MaxShards)
        {
            throw new ArgumentException($"Table '{Name}': shard count {Shards} is out of range; it must be in 1..{MaxShards}.");
        }

        if (!(InitScale >= 0 && InitScale <= MaxInitScale) || !Enum.IsDefined(Initializer))
        {
            throw new ArgumentException($"Table '{Name}': initializer {Initializer} with scale {InitScale} is not valid; the scale must be in [0, {MaxInitScale}].");
        }

        try
        {
            OptimizerSettings.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Table '{Name}': {e.Message}", e);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="name"/> is not a valid table name.</summary>
    public static void ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("A table name must not be empty.");
        }

        if (name.Length > MaxNameLength)
        {
            throw new ArgumentException($"Table name '{name[..32]}...' is {name.Length} characters long; the limit is {MaxNameLength}.");
        }

        if (!NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"Table name '{name}' has illegal characters; use letters, digits, '.', '_' and '-'.");
        }

        if (name.Trim('.').Length == 0)
        {
            // "." and ".." would name directories of their own in a checkpoint store.
            throw new ArgumentException($"Table name '{name}' must have a letter, digit, '_' or '-' besides dots.");
        }
    }

    /// <summary>Describes how this spec differs from <paramref name="other"/>, or null when they define the same table.</summary>
    public string? DifferenceFrom(TableSpec other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Dim != other.Dim)
        {
            return $"it has dim {Dim}, not {other.Dim}";
        }

        if (Shards != other.Shards)
        {
            return $"it has {Shards} shards, not {other.Shards}";
        }

        // The optimizer and the initializer live with the rows (the optimizer state, and how missing rows start): a
        // job that asked for others would say it trains with them and silently train with the stored ones.
        if (Optimizer != other.Optimizer || LearningRate != other.LearningRate || WeightDecay != other.WeightDecay
            || Beta1 != other.Beta1 || Beta2 != other.Beta2 || Epsilon != other.Epsilon)
        {
            return $"it trains with {Describe(this)}, not {Describe(other)}";
        }

        if (Initializer != other.Initializer || InitScale != other.InitScale || Seed != other.Seed)
        {
            return $"its rows start {Init(this)}, not {Init(other)}";
        }

        return null;

        static string Describe(TableSpec s) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{s.Optimizer.ToString().ToLowerInvariant()} lr {s.LearningRate} weight decay {s.WeightDecay}{(s.Optimizer == OptimizerKind.Adam ? $" betas {s.Beta1}/{s.Beta2}" : "")} epsilon {s.Epsilon}");
        static string Init(TableSpec s) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{s.Initializer.ToString().ToLowerInvariant()}({s.InitScale}) with seed {s.Seed}");
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex NamePattern();
}
