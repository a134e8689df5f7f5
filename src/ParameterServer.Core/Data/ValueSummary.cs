namespace ParameterServer.Core.Data;

/// <summary>Mean (summed in double precision), lowest and highest of a column of values.</summary>
public static class ValueSummary
{
    /// <summary>Mean, lowest and highest of <paramref name="values"/> (0 when empty).</summary>
    public static (float Mean, float Min, float Max) Of(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return (0f, 0f, 0f);
        }

        double sum = 0;
        float min = float.MaxValue, max = float.MinValue;
        foreach (float v in values)
        {
            sum += v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return ((float)(sum / values.Length), min, max);
    }
}
