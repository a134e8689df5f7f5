using System.Runtime.InteropServices;

namespace ParameterServer.Core.Data;

/// <summary>
/// Rating triples held row-wise, one 24-byte record per sample. Training reads samples in a shuffled order, so each
/// read misses the cache: column-wise (<see cref="Ratings"/>) a sample costs three misses (user, item, value), here one
/// (two for the third of records that straddle a line). The copy costs 24 bytes per sample for as long as a job runs.
/// </summary>
public sealed class PackedRatings
{
    private PackedRatings(RatingSample[] samples) => Samples = samples;

    /// <summary>The samples, in the order of the source.</summary>
    public RatingSample[] Samples { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Samples.Length;

    /// <summary>The samples of <paramref name="data"/>, in its order.</summary>
    public static PackedRatings Of(Ratings data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var samples = GC.AllocateUninitializedArray<RatingSample>(data.Count);
        long[] users = data.Users, items = data.Items;
        float[] values = data.Values;
        for (int i = 0; i < samples.Length; i++)
        {
            samples[i] = new RatingSample(users[i], items[i], values[i]);
        }

        return new PackedRatings(samples);
    }
}

/// <summary>One rating: user id, item id, value (24 bytes with padding).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct RatingSample(long user, long item, float value)
{
    /// <summary>User id.</summary>
    public readonly long User = user;

    /// <summary>Item id.</summary>
    public readonly long Item = item;

    /// <summary>Rating.</summary>
    public readonly float Value = value;
}
