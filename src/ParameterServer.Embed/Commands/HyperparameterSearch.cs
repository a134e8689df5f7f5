using System.Globalization;
using System.Text.Json.Serialization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary>One trial of a search: its settings and what it reached on the validation split.</summary>
internal sealed record TuneTrial(
    [property: JsonPropertyName("trial")] int Trial,
    [property: JsonPropertyName("learning_rate")] double LearningRate,
    [property: JsonPropertyName("weight_decay")] double WeightDecay,
    [property: JsonPropertyName("dim")] int Dim,
    [property: JsonPropertyName("validation_rmse"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Rmse,
    [property: JsonPropertyName("validation_ndcg_at_k"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Ndcg,
    [property: JsonPropertyName("best_epoch")] int BestEpoch,
    [property: JsonPropertyName("wall_seconds")] double Seconds);

/// <summary>What <c>embed tune</c> reports: every trial, and the best.</summary>
internal sealed record TuneReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("criterion")] string Criterion,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("trials")] TuneTrial[] Trials,
    [property: JsonPropertyName("best")] TuneTrial Best);

/// <summary>The ranges <c>embed tune</c> draws from.</summary>
/// <param name="LearningRate">Lowest and highest learning rate (drawn log-uniformly).</param>
/// <param name="WeightDecay">Lowest and highest weight decay (drawn log-uniformly).</param>
/// <param name="Dims">Dimensions to choose from (uniformly).</param>
internal sealed record SearchSpace((float Min, float Max) LearningRate, (float Min, float Max) WeightDecay, int[] Dims)
{
    /// <summary>Parses "a,b" as a positive range; <paramref name="option"/> names it in errors.</summary>
    public static (float Min, float Max) Range(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !float.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float lo) || !float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float hi)
            || !(lo > 0) || !(hi >= lo) || !float.IsFinite(hi))
        {
            throw new ArgumentException($"{option} '{text}' must be two positive numbers, lowest first, e.g. 0.001,0.02.");
        }

        return (lo, hi);
    }

    /// <summary>Parses "16,32,64" as dimensions.</summary>
    public static int[] ParseDims(string text) =>
        [.. text.Split(',', StringSplitOptions.TrimEntries).Select(d => int.TryParse(d, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v is >= 1 and <= 4096
            ? v
            : throw new ArgumentException($"--dims '{text}': '{d}' is not a dimension in 1..4096."))];
}

/// <summary>
/// <c>embed tune</c>: a seeded random search over the learning rate and weight decay (log-uniform) and the dimension
/// of a rating model. Every trial trains a fresh model (tables <c>{prefix}-tuneN.*</c>, dropped afterwards) on the same
/// training split and is judged on the same validation split: by RMSE, or by NDCG@k for bpr. The best trial's settings
/// are what to train with.
/// </summary>
internal static class HyperparameterSearch
{
    public static async Task<TuneReport> RunAsync(ClusterConnection connection, TrainingOptions options, Ratings train, Ratings validation, int trials, SearchSpace space, TextWriter human, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trials, 1);
        bool ranking = options.Model == RatingModelKind.Bpr;
        var rng = new Random(options.Seed);
        var results = new List<TuneTrial>();
        for (int t = 1; t <= trials; t++)
        {
            var trial = options with
            {
                LearningRate = LogUniform(rng, space.LearningRate),
                WeightDecay = LogUniform(rng, space.WeightDecay),
                Dim = space.Dims[rng.Next(space.Dims.Length)],
                TablePrefix = $"{options.TablePrefix}-tune{t}",
                RecordHistory = false,
            };
            var report = await TrainingConsole.RunScratchAsync(connection, trial, train, validation, ct);
            var result = new TuneTrial(t, JobOptions.Reported(trial.LearningRate), JobOptions.Reported(trial.WeightDecay), trial.Dim, ranking ? null : report.ValidationRmse, report.ValidationNdcg, report.BestEpoch, report.WallSeconds);
            results.Add(result);
            human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trial {t}/{trials}: lr {result.LearningRate}, weight decay {result.WeightDecay}, dim {result.Dim}: {Figure(result)} (best epoch {result.BestEpoch}, {result.Seconds:F1} s)"));
        }

        var best = ranking ? results.MaxBy(r => r.Ndcg ?? double.NegativeInfinity)! : results.MinBy(r => r.Rmse ?? double.PositiveInfinity)!;
        return new TuneReport(RatingModel.NameOf(options.Model), ranking ? "validation NDCG@k (higher is better)" : "validation RMSE (lower is better)", options.Seed, [.. results], best);
    }

    public static string Figure(TuneTrial t) => t.Ndcg is { } n && t.Rmse is null
        ? string.Create(CultureInfo.InvariantCulture, $"validation NDCG@k {n:F4}")
        : string.Create(CultureInfo.InvariantCulture, $"validation RMSE {t.Rmse:F4}");

    // Three significant digits: settings a person can read and type again (0.00876, not 0.008759454).
    private static float LogUniform(Random rng, (float Min, float Max) range)
    {
        double v = Math.Exp(Math.Log(range.Min) + (rng.NextDouble() * (Math.Log(range.Max) - Math.Log(range.Min))));
        return float.Parse(v.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
