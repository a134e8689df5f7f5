using System.Globalization;
using System.Text.Json.Serialization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary>Mean and sample standard deviation of one figure over the folds, and each fold's value.</summary>
internal sealed record FoldFigure(
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("std")] double Std,
    [property: JsonPropertyName("folds")] double[] Folds)
{
    public static FoldFigure Of(IEnumerable<double> values)
    {
        double[] v = [.. values];
        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return new FoldFigure(mean, std, v);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Mean:F4} ± {Std:F4}");
}

/// <summary>What <c>embed cv</c> reports: the figures of every fold, and their mean ± std.</summary>
internal sealed record CrossValidationReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("folds")] int Folds,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("validation_rmse"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FoldFigure? Rmse,
    [property: JsonPropertyName("precision_at_k"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FoldFigure? Precision,
    [property: JsonPropertyName("recall_at_k"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FoldFigure? Recall,
    [property: JsonPropertyName("ndcg_at_k"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FoldFigure? Ndcg,
    [property: JsonPropertyName("best_epochs")] int[] BestEpochs,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds);

/// <summary>
/// <c>embed cv</c>: K-fold cross-validation of a rating model (as Surprise's <c>cross_validate</c>). The ratings are cut
/// into K seeded folds; each fold trains a fresh model on the other folds (tables <c>{prefix}-cvN.*</c>, dropped
/// afterwards) and validates on its own; the figures of the folds are reported with their mean ± std.
/// </summary>
internal static class CrossValidation
{
    public static async Task<CrossValidationReport> RunAsync(ClusterConnection connection, TrainingOptions options, Ratings data, int folds, TextWriter human, CancellationToken ct)
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var reports = new List<TrainingReport>();
        int f = 0;
        foreach (var (train, valid) in data.Folds(folds, options.Seed))
        {
            f++;
            var fold = options with { TablePrefix = $"{options.TablePrefix}-cv{f}" };
            human.WriteLine($"fold {f}/{folds}: training on {train.Count:N0} ratings, validating on {valid.Count:N0}");
            var report = await TrainingConsole.RunScratchAsync(connection, fold, train, valid, ct);
            reports.Add(report);
            human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fold {f}/{folds}: best epoch {report.BestEpoch}, {(report.ValidationNdcg is { } n ? $"validation NDCG@{options.RankK} {n:F4}" : $"validation RMSE {report.ValidationRmse:F4}")}{(report.Ranking is { } r ? $", precision@{r.K} {r.Model.Precision:F4}, recall@{r.K} {r.Model.Recall:F4}, NDCG@{r.K} {r.Model.Ndcg:F4}" : "")}; {report.WallSeconds:F1} s"));
        }

        var ranked = reports.Where(r => r.Ranking is not null).ToList();
        bool allRanked = ranked.Count == reports.Count;
        return new CrossValidationReport(
            reports[0].Model,
            folds,
            options.Seed,
            reports.All(r => !double.IsNaN(r.ValidationRmse)) ? FoldFigure.Of(reports.Select(r => r.ValidationRmse)) : null,
            allRanked ? FoldFigure.Of(ranked.Select(r => r.Ranking!.Model.Precision)) : null,
            allRanked ? FoldFigure.Of(ranked.Select(r => r.Ranking!.Model.Recall)) : null,
            allRanked ? FoldFigure.Of(ranked.Select(r => r.Ranking!.Model.Ndcg)) : null,
            [.. reports.Select(r => r.BestEpoch)],
            wall.Elapsed.TotalSeconds);
    }

    /// <summary>The summary lines of a cross-validation.</summary>
    public static IEnumerable<string> Summary(CrossValidationReport r, int k)
    {
        if (r.Rmse is { } rmse)
        {
            yield return $"{r.Folds}-fold cross-validation of {r.Model}: validation RMSE {rmse}";
        }

        if (r.Ndcg is { } ndcg)
        {
            yield return $"{r.Folds}-fold cross-validation of {r.Model}: precision@{k} {r.Precision}, recall@{k} {r.Recall}, NDCG@{k} {ndcg}";
        }

        yield return string.Create(CultureInfo.InvariantCulture, $"best epochs {string.Join(", ", r.BestEpochs)}; {r.WallSeconds:F1} s wall");
    }
}
