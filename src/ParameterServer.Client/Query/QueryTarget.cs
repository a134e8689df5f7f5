namespace ParameterServer.Client.Query;

/// <summary>What a neighbour query starts from: a row by id, a row by label, or a raw vector. Exactly one is set.</summary>
public sealed record QueryTarget
{
    private QueryTarget(long? key, string? label, float[]? vector)
    {
        Key = key;
        Label = label;
        Vector = vector;
    }

    /// <summary>A row id.</summary>
    public long? Key { get; }

    /// <summary>A row label (exact match first, then ignoring case).</summary>
    public string? Label { get; }

    /// <summary>A raw query vector.</summary>
    public float[]? Vector { get; }

    /// <summary>The row with id <paramref name="id"/>.</summary>
    public static QueryTarget ById(long id) => new(id, null, null);

    /// <summary>The row labelled <paramref name="label"/>.</summary>
    public static QueryTarget ByLabel(string label)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        return new(null, label, null);
    }

    /// <summary>A raw vector.</summary>
    public static QueryTarget ByVector(float[] vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return new(null, null, vector);
    }

    /// <summary>Parses <c>"0.1,0.2,..."</c> (commas or spaces); a bad number is an error naming its position.</summary>
    public static float[] ParseVector(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split([',', ' ', ';', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new ArgumentException("--vector is empty; give comma-separated numbers such as \"0.1,0.2,0.3\".");
        }

        var v = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out v[i]) || !float.IsFinite(v[i]))
            {
                throw new ArgumentException($"--vector: value {i + 1} '{parts[i]}' is not a finite number.");
            }
        }

        return v;
    }
}
