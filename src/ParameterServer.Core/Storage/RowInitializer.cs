using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Storage;

/// <summary>How new rows are filled.</summary>
public enum InitializerKind
{
    /// <summary>Normal(0, scale).</summary>
    Normal = 0,

    /// <summary>Uniform(-scale, scale).</summary>
    Uniform = 1,

    /// <summary>All zeros (biases).</summary>
    Zeros = 2,
}

/// <summary>
/// Fills a new row deterministically from (table seed, row id): the same row gets the same start on any shard,
/// silo or run. Uses a SplitMix64 stream; no allocation.
/// </summary>
public readonly record struct RowInitializer(InitializerKind Kind, float Scale, long Seed)
{
    /// <summary>The names accepted by <see cref="ParseKind"/>.</summary>
    public static readonly IReadOnlyList<string> KindNames = ["normal", "uniform", "zeros"];

    /// <summary>Parses an initializer name; an unknown name gets an error that lists the valid ones.</summary>
    public static InitializerKind ParseKind(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "normal" => InitializerKind.Normal,
        "uniform" => InitializerKind.Uniform,
        "zeros" or "zero" => InitializerKind.Zeros,
        _ => throw new ArgumentException($"Unknown initializer '{name}'. Valid initializers: {string.Join(", ", KindNames)}."),
    };

    /// <summary>Writes the initial values of row <paramref name="id"/> into <paramref name="row"/>.</summary>
    public void Fill(long id, Span<float> row)
    {
        if (Kind == InitializerKind.Zeros || Scale == 0f)
        {
            row.Clear();
            return;
        }

        ulong state = Mix64.Mix((ulong)Seed ^ Mix64.Mix((ulong)id + 0x9E3779B97F4A7C15UL));
        if (Kind == InitializerKind.Uniform)
        {
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = (float)(((2.0 * NextUnit(ref state)) - 1.0) * Scale);
            }

            return;
        }

        for (int i = 0; i < row.Length; i += 2)
        {
            // Box-Muller: two normals per pair of uniforms.
            double u1 = 1.0 - NextUnit(ref state);
            double u2 = NextUnit(ref state);
            double r = Math.Sqrt(-2.0 * Math.Log(u1)) * Scale;
            row[i] = (float)(r * Math.Cos(2.0 * Math.PI * u2));
            if (i + 1 < row.Length)
            {
                row[i + 1] = (float)(r * Math.Sin(2.0 * Math.PI * u2));
            }
        }
    }

    private static double NextUnit(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return (Mix64.Mix(state) >> 11) * (1.0 / (1UL << 53));
    }
}
