using System.Diagnostics;
using ParameterServer.Core.Data;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// The <c>bpr</c> model: implicit feedback (the ratings at or above <see cref="TrainingOptions.RelevantThreshold"/>
/// are the interactions), a negative drawn per positive, the pairwise BPR loss, on the same epoch loop as every model
/// (<see cref="BprStep"/>). Each epoch's NDCG@k on the validation users decides early stopping.
/// </summary>
public sealed partial class RatingTrainer
{
    /// <summary>The interactions of <paramref name="data"/>: its rows rated at or above <paramref name="threshold"/>.</summary>
    internal static Ratings Positives(Ratings data, double threshold)
    {
        int[] keep = [.. Enumerable.Range(0, data.Count).Where(r => data.Values[r] >= threshold)];
        return keep.Length == data.Count ? data : data.Select(keep);
    }

    private async Task<TrainingReport> TrainBprAsync(RatingTables tables, Ratings train, Ratings validation, TrainingEventPublisher events, Stopwatch wall, CancellationToken ct)
    {
        var o = Options;
        var sampler = new ItemNegativeSampler(train);
        int next = 0;
        var result = await RunEpochsAsync(
            [tables.Users, tables.Items, tables.ItemBias!],
            train.Count,
            () =>
            {
                // Each step draws its own negatives from its own seeded stream (steps run on different threads).
                int seed = (int)Mix64.Mix(((ulong)(uint)((o.WorkerIndex * o.Workers * EpochDriver.StepsPerLoop(Ps.Steps)) + next++) << 32) | (uint)o.Seed);
                return new BprStep(Ps.Steps, tables, train, sampler, new BprBatch(o.BatchSize, o.Dim), new Random(seed), o.Wire);
            },
            async loss =>
            {
                if (o.RankK == 0 || validation.Count == 0)
                {
                    return new ValidationFigures(double.NaN, Objective: loss);
                }

                var ranking = await RatingRanking.EvaluateAsync(Ps, tables, train, validation, o.RankK, o.RelevantThreshold, o.RankUsers, o.Seed);
                return ranking is null ? new ValidationFigures(double.NaN, Objective: loss) : new ValidationFigures(double.NaN, Objective: 1 - ranking.Model.Ndcg, Ndcg: ranking.Model.Ndcg);
            },
            events,
            ct);
        await RecordInteractionsAsync(train);
        var report = result.ToReport("bpr", o.Dim, o, train.Count, validation.Count, wall.Elapsed);
        return o.RankK > 0 && validation.Count > 0
            ? report with { Ranking = await RatingRanking.EvaluateAsync(Ps, tables, train, validation, o.RankK, o.RelevantThreshold, o.RankUsers, o.Seed) }
            : report;
    }
}
