namespace ParameterServer.Testing;

/// <summary>Numerical derivatives that gradient tests compare a backward pass against.</summary>
public static class FiniteDifference
{
    /// <summary>
    /// Central difference of <paramref name="loss"/> with respect to <c>x[i]</c>, using the steps actually
    /// representable in float (x ± <paramref name="step"/> rounded), and leaving <c>x[i]</c> as it was.
    /// </summary>
    public static double Central(float[] x, int i, Func<double> loss, double step)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(loss);
        float keep = x[i];
        x[i] = (float)(keep + step);
        double up = x[i] - (double)keep;
        double lp = loss();
        x[i] = (float)(keep - step);
        double down = keep - (double)x[i];
        double lm = loss();
        x[i] = keep;
        return (lp - lm) / (up + down);
    }
}
