namespace ParameterServer.Core.Models;

/// <summary>
/// Fits one user's vector (and bias) against frozen item rows, in double precision: the fold-in of a user who was not
/// in the training data. The objective is the training loss of that user's ratings with L2 regularization:
/// <c>½ Σ_i (pred_i − r_i)² + ½ λ (‖u‖² + b_u²)</c>.
/// <list type="bullet">
/// <item><c>mf</c> (<c>mu + b_u + b_i + u·v</c>): ridge least squares in closed form on <c>[u; b_u]</c> with features
/// <c>[v_i; 1]</c> and target <c>r_i − mu − b_i</c>: <c>(XᵀX + λI) w = Xᵀy</c>, solved by Cholesky.</item>
/// <item><c>dot</c> (<c>u·v</c>): the same without the bias column.</item>
/// <item><c>dot-bias</c> (sigmoid link): damped Gauss-Newton (Levenberg-Marquardt) steps from zero, each accepted only
/// when it lowers the objective.</item>
/// </list>
/// </summary>
public static class FoldInSolver
{
    /// <summary>Default most Gauss-Newton iterations for <c>dot-bias</c>.</summary>
    public const int DefaultSteps = 25;

    /// <summary>Most Gauss-Newton iterations accepted by <see cref="Fit"/>.</summary>
    public const int MaxSteps = 1000;

    /// <summary>
    /// The L2 weight that matches training's weight decay for a user of <paramref name="ratings"/> ratings: the server
    /// adds <paramref name="weightDecay"/>·u to a row's gradient at every step that touches the row, so at training's
    /// fixed point the penalty is <c>weightDecay × k</c>, k the steps of an epoch that hold one of the user's ratings:
    /// <c>B (1 − (1 − 1/B)ⁿ)</c> for <paramref name="batchesPerEpoch"/> = B batches of uniformly shuffled samples, or
    /// n when B is unknown (null or below 1), as if every rating came in a step of its own.
    /// </summary>
    public static double MatchingL2(double weightDecay, int ratings, double? batchesPerEpoch)
    {
        double steps = batchesPerEpoch is { } b && b >= 1 ? b * (1 - Math.Pow(1 - (1 / b), ratings)) : ratings;
        return weightDecay * steps;
    }

    /// <summary>
    /// Fits the user of <paramref name="ratings"/>: <paramref name="ratings"/>[i] is the rating of the item whose row is
    /// <paramref name="itemVectors"/>[i·dim .. (i+1)·dim) with bias <paramref name="itemBiases"/>[i] (ignored for
    /// <c>dot</c>). <paramref name="lambda"/> ≥ 0 is the L2 weight; <paramref name="steps"/> bounds the
    /// <c>dot-bias</c> iterations.
    /// </summary>
    /// <exception cref="ArgumentException">Empty or mismatched inputs, a negative λ, or a singular system (λ = 0 with too few ratings).</exception>
    public static FoldInFit Fit(RatingModel model, ReadOnlySpan<float> itemVectors, ReadOnlySpan<float> itemBiases, ReadOnlySpan<float> ratings, int dim, double lambda, int steps = DefaultSteps)
    {
        int n = ratings.Length;
        if (n == 0)
        {
            throw new ArgumentException("No ratings to fold in.");
        }

        if (dim <= 0 || itemVectors.Length != n * dim || (model.HasBiases && itemBiases.Length != n))
        {
            throw new ArgumentException($"{n} ratings need {n * dim} item values of dim {dim} and {n} item biases; got {itemVectors.Length} and {itemBiases.Length}.");
        }

        if (!(lambda >= 0) || double.IsInfinity(lambda))
        {
            throw new ArgumentException($"The L2 weight {lambda} must be a finite number ≥ 0.");
        }

        if (steps < 1 || steps > MaxSteps)
        {
            throw new ArgumentException($"The number of steps {steps} must be in 1..{MaxSteps}.");
        }

        int p = model.HasBiases ? dim + 1 : dim;
        var x = Features(itemVectors, n, dim, p);
        double[] w;
        int iterations = 1;
        if (model.Kind == RatingModelKind.DotBias)
        {
            (w, iterations) = GaussNewtonSigmoid(x, itemBiases, ratings, n, p, model.Min, model.Max, lambda, steps);
        }
        else
        {
            var y = new double[n];
            for (int i = 0; i < n; i++)
            {
                y[i] = model.Kind == RatingModelKind.Mf ? (double)ratings[i] - model.Mean - itemBiases[i] : ratings[i];
            }

            w = SolveRidge(x, y, p, lambda);
        }

        var u = new float[dim];
        for (int j = 0; j < dim; j++)
        {
            u[j] = (float)w[j];
        }

        float bu = model.HasBiases ? (float)w[dim] : 0f;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float pred = Math.Clamp(model.Predict(u, itemVectors.Slice(i * dim, dim), bu, model.HasBiases ? itemBiases[i] : 0f), model.Min, model.Max);
            double e = pred - ratings[i];
            sum += e * e;
        }

        return new FoldInFit(u, bu, lambda, Math.Sqrt(sum / n), iterations);
    }

    /// <summary>
    /// The ridge solution <c>w = (XᵀX + λI)⁻¹ Xᵀy</c> for <paramref name="x"/> (<c>n × p</c>, row-major) and
    /// <paramref name="y"/>, by a Cholesky factorization of the normal equations.
    /// </summary>
    /// <exception cref="ArgumentException">The system is singular (λ = 0 and <c>XᵀX</c> not of full rank).</exception>
    public static double[] SolveRidge(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int p, double lambda)
    {
        int n = y.Length;
        if (p <= 0 || x.Length != n * p)
        {
            throw new ArgumentException($"Features hold {x.Length} values; {n} rows of {p} need {n * p}.");
        }

        var a = new double[p * p];
        var b = new double[p];
        Accumulate(x, n, p, a);
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * p, p);
            for (int j = 0; j < p; j++)
            {
                b[j] += row[j] * y[i];
            }
        }

        for (int j = 0; j < p; j++)
        {
            a[(j * p) + j] += lambda;
        }

        CholeskySolve(a, b, p);
        return b;
    }

    /// <summary>Rows <c>[v_i; 1]</c> (or <c>v_i</c> when <paramref name="p"/> equals <paramref name="dim"/>) in double.</summary>
    private static double[] Features(ReadOnlySpan<float> itemVectors, int n, int dim, int p)
    {
        var x = new double[n * p];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < dim; j++)
            {
                x[(i * p) + j] = itemVectors[(i * dim) + j];
            }

            if (p > dim)
            {
                x[(i * p) + dim] = 1.0;
            }
        }

        return x;
    }

    /// <summary>Adds <c>XᵀX</c> (full, symmetric) to <paramref name="a"/>.</summary>
    private static void Accumulate(ReadOnlySpan<double> x, int n, int p, double[] a, ReadOnlySpan<double> weights = default)
    {
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * p, p);
            double wi = weights.IsEmpty ? 1.0 : weights[i];
            for (int j = 0; j < p; j++)
            {
                double s = wi * row[j];
                for (int k = j; k < p; k++)
                {
                    a[(j * p) + k] += s * row[k];
                }
            }
        }

        for (int j = 0; j < p; j++)
        {
            for (int k = 0; k < j; k++)
            {
                a[(j * p) + k] = a[(k * p) + j];
            }
        }
    }

    /// <summary>Solves <c>A z = b</c> in place (<paramref name="b"/> becomes z) for symmetric positive definite <paramref name="a"/>, which is overwritten.</summary>
    private static void CholeskySolve(double[] a, double[] b, int p)
    {
        double scale = 0;
        for (int j = 0; j < p; j++)
        {
            scale = Math.Max(scale, Math.Abs(a[(j * p) + j]));
        }

        // Lower factor L in the lower triangle: A = L Lᵀ.
        for (int j = 0; j < p; j++)
        {
            double d = a[(j * p) + j];
            for (int k = 0; k < j; k++)
            {
                d -= a[(j * p) + k] * a[(j * p) + k];
            }

            if (!(d > 1e-12 * Math.Max(scale, 1e-300)))
            {
                throw new ArgumentException("The fold-in system is singular: the rated items do not determine every component of the user's vector. Give an L2 weight above 0 or more ratings.");
            }

            d = Math.Sqrt(d);
            a[(j * p) + j] = d;
            for (int i = j + 1; i < p; i++)
            {
                double s = a[(i * p) + j];
                for (int k = 0; k < j; k++)
                {
                    s -= a[(i * p) + k] * a[(j * p) + k];
                }

                a[(i * p) + j] = s / d;
            }
        }

        for (int i = 0; i < p; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++)
            {
                s -= a[(i * p) + k] * b[k];
            }

            b[i] = s / a[(i * p) + i];
        }

        for (int i = p - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < p; k++)
            {
                s -= a[(k * p) + i] * b[k];
            }

            b[i] = s / a[(i * p) + i];
        }
    }

    /// <summary>
    /// Minimizes <c>½ Σ (σ(x_i·w + b_i)·R + min − r_i)² + ½ λ ‖w‖²</c> by Levenberg-Marquardt: Gauss-Newton systems
    /// <c>(JᵀJ + λI + μI) δ = −∇</c>, the damping μ shrinking after a step that lowers the objective and growing
    /// after one that does not.
    /// </summary>
    private static (double[] W, int Iterations) GaussNewtonSigmoid(double[] x, ReadOnlySpan<float> itemBiases, ReadOnlySpan<float> ratings, int n, int p, float min, float max, double lambda, int steps)
    {
        double range = max - min;
        var w = new double[p];
        var trial = new double[p];
        var jw = new double[n];
        var resid = new double[n];
        double f = SigmoidObjective(x, itemBiases, ratings, p, min, range, lambda, w);
        double mu = 1e-3;
        int accepted = 0;
        for (int it = 0; it < steps; it++)
        {
            // Residuals and Jacobian weights at w: J_i = range·σ'(z_i)·x_i.
            var grad = new double[p];
            for (int i = 0; i < n; i++)
            {
                double s = Sigmoid(Dot(x.AsSpan(i * p, p), w) + itemBiases[i]);
                resid[i] = (s * range) + min - ratings[i];
                jw[i] = range * s * (1 - s);
                for (int j = 0; j < p; j++)
                {
                    grad[j] += resid[i] * jw[i] * x[(i * p) + j];
                }
            }

            double gnorm = 0;
            for (int j = 0; j < p; j++)
            {
                grad[j] += lambda * w[j];
                gnorm = Math.Max(gnorm, Math.Abs(grad[j]));
            }

            if (gnorm < 1e-10)
            {
                break;
            }

            var weights = new double[n];
            for (int i = 0; i < n; i++)
            {
                weights[i] = jw[i] * jw[i];
            }

            bool improved = false;
            for (int tries = 0; tries < 30 && !improved; tries++)
            {
                var a = new double[p * p];
                Accumulate(x, n, p, a, weights);
                var step = new double[p];
                for (int j = 0; j < p; j++)
                {
                    a[(j * p) + j] += lambda + mu;
                    step[j] = -grad[j];
                }

                try
                {
                    CholeskySolve(a, step, p);
                }
                catch (ArgumentException)
                {
                    mu *= 10;
                    continue;
                }

                for (int j = 0; j < p; j++)
                {
                    trial[j] = w[j] + step[j];
                }

                double ft = SigmoidObjective(x, itemBiases, ratings, p, min, range, lambda, trial);
                if (ft < f)
                {
                    (w, trial) = (trial, w);
                    f = ft;
                    mu = Math.Max(mu / 3, 1e-12);
                    improved = true;
                    accepted++;
                }
                else
                {
                    mu *= 4;
                }
            }

            if (!improved)
            {
                break;
            }
        }

        return (w, Math.Max(accepted, 1));
    }

    /// <summary><c>½ Σ (σ(x_i·w + b_i)·range + min − r_i)² + ½ λ ‖w‖²</c>.</summary>
    private static double SigmoidObjective(double[] x, ReadOnlySpan<float> itemBiases, ReadOnlySpan<float> ratings, int p, float min, double range, double lambda, double[] w)
    {
        double sum = 0;
        for (int i = 0; i < ratings.Length; i++)
        {
            double e = (Sigmoid(Dot(x.AsSpan(i * p, p), w) + itemBiases[i]) * range) + min - ratings[i];
            sum += e * e;
        }

        return (0.5 * sum) + (0.5 * lambda * Dot(w, w));
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++)
        {
            s += a[j] * b[j];
        }

        return s;
    }

    private static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));
}

/// <summary>A folded-in user.</summary>
/// <param name="Vector">The user's vector.</param>
/// <param name="Bias">The user's bias (0 for <c>dot</c>).</param>
/// <param name="Lambda">The L2 weight used.</param>
/// <param name="TrainRmse">RMSE of the fitted predictions (clipped to the rating range) on the ratings fitted.</param>
/// <param name="Iterations">Gauss-Newton steps taken (<c>dot-bias</c>); 1 for the closed form.</param>
public sealed record FoldInFit(float[] Vector, float Bias, double Lambda, double TrainRmse, int Iterations);
