using System.Text.Json;
using System.Text.Json.Serialization;
using ParameterServer.Abstractions;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Grains;

/// <summary>
/// A table's spec and metadata as the JSON file kept beside its shards' checkpoints (<c>table.json</c>), so that the
/// table comes back after its metadata store lost it (a restarted silo with in-memory metadata, a Redis restarted
/// empty). Readable by people and scripts; <c>format</c> says which layout it is.
/// </summary>
internal static class TableRecord
{
    private const int Format = 1;

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private sealed record Spec(string Name, int Dim, int Shards, InitializerKind Initializer, float InitScale, long Seed,
        OptimizerKind Optimizer, float LearningRate, float WeightDecay, float Beta1, float Beta2, float Epsilon);

    private sealed record File(int Format, Spec Spec, Dictionary<string, string> Metadata, bool ShardsCheckpointed = false);

    /// <summary>The record of <paramref name="spec"/> and <paramref name="metadata"/>, as UTF-8 JSON.</summary>
    public static byte[] Write(TableSpec spec, Dictionary<string, string> metadata, bool shardsCheckpointed) => JsonSerializer.SerializeToUtf8Bytes(
        new File(Format, new Spec(spec.Name, spec.Dim, spec.Shards, spec.Initializer, spec.InitScale, spec.Seed, spec.Optimizer, spec.LearningRate,
            spec.WeightDecay, spec.Beta1, spec.Beta2, spec.Epsilon), metadata, shardsCheckpointed), Options);

    /// <summary>
    /// Reads a record of table <paramref name="table"/>; an <see cref="InvalidDataException"/> says what is wrong
    /// (not JSON, another format, another table, a spec that does not validate).
    /// </summary>
    public static (TableSpec Spec, Dictionary<string, string> Metadata, bool ShardsCheckpointed) Read(byte[] json, string table)
    {
        File? file;
        try
        {
            file = JsonSerializer.Deserialize<File>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not a table record: {e.Message}", e);
        }

        if (file?.Spec is not { } s)
        {
            throw new InvalidDataException("not a table record: it has no spec");
        }

        if (file.Format != Format)
        {
            throw new InvalidDataException($"format {file.Format}; this build reads format {Format}");
        }

        if (s.Name != table)
        {
            throw new InvalidDataException($"it describes table '{s.Name}'");
        }

        var spec = new TableSpec
        {
            Name = s.Name,
            Dim = s.Dim,
            Shards = s.Shards,
            Initializer = s.Initializer,
            InitScale = s.InitScale,
            Seed = s.Seed,
            Optimizer = s.Optimizer,
            LearningRate = s.LearningRate,
            WeightDecay = s.WeightDecay,
            Beta1 = s.Beta1,
            Beta2 = s.Beta2,
            Epsilon = s.Epsilon,
        };
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"its spec is invalid: {e.Message}", e);
        }

        return (spec, file.Metadata ?? [], file.ShardsCheckpointed);
    }
}
