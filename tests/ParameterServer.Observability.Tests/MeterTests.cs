using ParameterServer.Abstractions;
using ParameterServer.Client.Query;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Search;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Observability.Tests;

/// <summary>The ParameterServer meter moves by exactly what known pulls, pushes, queries and training did.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MeterTests(ClusterFixture fixture)
{
    private static (string, string) T(string table) => (TableTag, table);

    private static (string, string) Op(string operation) => (OperationTag, operation);

    [Fact]
    public async Task Pulls_pushes_and_refusals_are_counted_per_table()
    {
        using var metrics = new MetricsCapture();
        var spec = new TableSpec { Name = ClusterFixture.UniqueName("meter"), Dim = 8, Shards = 4, Optimizer = OptimizerKind.Sgd, LearningRate = 0.1f };
        var table = await fixture.Client.CreateTableAsync(spec);
        long[] ids = [.. Enumerable.Range(0, 300).Select(i => (long)i)];
        var values = new float[ids.Length * 8];
        long callsBefore = table.Calls;
        await table.PullAsync(ids, values);
        await table.PullAsync(ids.AsMemory(0, 50), values.AsMemory(0, 400));
        long pullCalls = table.Calls - callsBefore;

        Assert.Equal(350, metrics.Sum("ps.rows.pulled", T(spec.Name)));
        Assert.Equal(pullCalls, metrics.Count("ps.shard.rows_per_call", T(spec.Name), Op("pull")));
        Assert.Equal(350, metrics.HistogramSum("ps.shard.rows_per_call", T(spec.Name), Op("pull")));
        Assert.Equal(pullCalls, metrics.Count("ps.shard.duration", T(spec.Name), Op("pull")));
        Assert.Equal(2, metrics.Count("ps.client.duration", T(spec.Name), Op("pull")));
        Assert.Equal(300, metrics.Gauge("ps.table.rows", isLong: true, T(spec.Name)));
        Assert.True(metrics.Gauge("ps.table.bytes", isLong: true, T(spec.Name)) >= 300 * 8 * sizeof(float));

        await table.PushAsync(ids.AsMemory(0, 120), new float[120 * 8]);
        Assert.Equal(120, metrics.Sum("ps.rows.pushed", T(spec.Name)));
        Assert.Equal(120, metrics.Sum("ps.optimizer.steps", T(spec.Name)));
        Assert.Equal(1, metrics.Count("ps.client.duration", T(spec.Name), Op("push")));

        // A push with a NaN and a push with a repeated id are refused whole before any shard sees them:
        // counted, nothing sent, no optimizer step, and no row of any shard changed.
        var before = new float[20 * 8];
        await table.PullAsync(ids.AsMemory(0, 20), before);
        var bad = new float[20 * 8];
        bad[17 * 8] = float.NaN;
        await Assert.ThrowsAsync<ArgumentException>(() => table.PushAsync(ids.AsMemory(0, 20), bad));
        long[] dup = [1, 2, 3, 7, 9, 7];
        await Assert.ThrowsAsync<ArgumentException>(() => table.PushAsync(dup, new float[6 * 8]));
        Assert.Equal(1, metrics.Sum("ps.pushes.refused", T(spec.Name), (ReasonTag, "duplicate")));
        Assert.Equal(1, metrics.Sum("ps.pushes.refused", T(spec.Name), (ReasonTag, "non_finite")));
        Assert.Equal(120, metrics.Sum("ps.optimizer.steps", T(spec.Name)));
        Assert.Equal(120, metrics.Sum("ps.rows.pushed", T(spec.Name)));
        var after = new float[20 * 8];
        await table.PullAsync(ids.AsMemory(0, 20), after);
        Assert.Equal(before, after);

        // A shard refuses what reaches it directly, and says why.
        var shard = fixture.Grains.GetGrain<IShardGrain>(ShardKey.Of(spec.Name, 0));
        await Assert.ThrowsAsync<ArgumentException>(() => shard.Push(new PushRequest([1, 1], RowBlock.From(new float[16], 2, 8))));
        Assert.Equal(2, metrics.Sum("ps.pushes.refused", T(spec.Name), (ReasonTag, "duplicate")));
        Assert.Equal(122, metrics.Sum("ps.rows.pushed", T(spec.Name)));
        Assert.Equal(120, metrics.Sum("ps.optimizer.steps", T(spec.Name)));
    }

    [Fact]
    public async Task Queries_are_counted_per_vector_and_timed_per_request()
    {
        using var metrics = new MetricsCapture();
        var spec = new TableSpec { Name = ClusterFixture.UniqueName("metq"), Dim = 4, Shards = 5 };
        var table = await fixture.Client.CreateTableAsync(spec);
        long[] ids = [.. Enumerable.Range(0, 40).Select(i => (long)i)];
        await table.PullAsync(ids, new float[40 * 4]);
        var query = new QueryClient(fixture.Client);
        await query.SearchAsync(spec.Name, new float[3 * 4] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0 }, 4, 5, SimilarityMetric.Cosine);
        await query.SearchAsync(spec.Name, new float[] { 1, 2, 3, 4 }, 4, 5, SimilarityMetric.Dot);

        Assert.Equal(3, metrics.Sum("ps.queries", T(spec.Name), (MetricTag, "cosine")));
        Assert.Equal(1, metrics.Sum("ps.queries", T(spec.Name), (MetricTag, "dot")));
        Assert.Equal(2, metrics.Count("ps.query.duration", T(spec.Name)));
        Assert.Equal(2 * 5, metrics.Count("ps.shard.duration", T(spec.Name), Op("search")));
        Assert.Equal(2, metrics.Count("ps.client.duration", T(spec.Name), Op("search")));
    }

    [Fact]
    public async Task Training_reports_samples_staleness_loss_and_rmse_per_job()
    {
        using var metrics = new MetricsCapture();
        string job = ClusterFixture.UniqueName("metjob");
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 200, Items: 100, Count: 20_000, Seed: 3)).Data;
        var (train, valid) = data.Split(0.2, 3);
        var options = new TrainingOptions { Model = RatingModelKind.Mf, Dim = 8, Epochs = 3, Patience = 10, BatchSize = 512, Workers = 2, Staleness = 2, TablePrefix = job, Seed = 3 };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);

        var j = (JobTag, job);
        Assert.Equal(3L * train.Count, metrics.Sum("ps.training.samples", j));
        Assert.Equal(3, metrics.Sum("ps.training.epochs", j));
        Assert.Equal(report.Steps, metrics.Count("ps.training.staleness", j));
        Assert.InRange(metrics.HistogramSum("ps.training.staleness", j), 0, report.Steps * options.Staleness);
        Assert.Equal(report.Epochs[^1].TrainLoss, metrics.Gauge("ps.training.loss", isLong: false, j), 12);
        Assert.Equal(report.Epochs[^1].ValidationRmse, metrics.Gauge("ps.training.validation.rmse", isLong: false, j), 12);
    }

    [Fact]
    public async Task A_link_job_of_two_worker_processes_records_each_epochs_validation_auc()
    {
        // Every Record of the AUC gauge, as a dashboard's scrape of each epoch would see it.
        string job = ClusterFixture.UniqueName("metlink");
        var recorded = new System.Collections.Concurrent.ConcurrentQueue<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "ps.training.validation.auc")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == JobTag && Equals(tag.Value, job))
                {
                    recorded.Enqueue(value);
                }
            }
        });
        listener.Start();

        // Four groups of 30 entities, each linked to 6 of its group's 20 links.
        var rng = new Random(7);
        var entity = new List<int>();
        var link = new List<int>();
        for (int e = 0; e < 120; e++)
        {
            foreach (int k in Enumerable.Range(0, 20).OrderBy(_ => rng.Next()).Take(6))
            {
                entity.Add(e);
                link.Add((e / 30 * 20) + k);
            }
        }

        var pairs = new LinkPairs([.. Enumerable.Range(0, 120).Select(i => 500L + i)], [.. Enumerable.Range(0, 80).Select(i => 70_000L + i)], [.. entity], [.. link], new string?[120], [.. Enumerable.Range(0, 80).Select(i => $"l{i}")]);
        var (train, valid) = pairs.Split(0.1, 7);
        var options = new LinkTrainingOptions { Dim = 8, Epochs = 12, Patience = 20, BatchSize = 32, LearningRate = 0.05f, Workers = 2, Seed = 7, TablePrefix = job, WorkerCount = 2 };
        var reports = await Task.WhenAll(
            new LinkTrainer(fixture.Client, options with { WorkerIndex = 0 }).TrainAsync(train, valid),
            new LinkTrainer(fixture.Client, options with { WorkerIndex = 1 }).TrainAsync(train, valid));
        listener.Dispose();

        // Each process trained its half of the pairs (each positive with its negatives) for every epoch, kept the last
        // epoch (no rollback while another process trains) and recorded that epoch's AUC once.
        long pairsTrained = 0;
        foreach (var report in reports)
        {
            Assert.Equal(2, report.WorkerCount);
            Assert.Equal(options.Epochs, report.Epochs.Count);
            Assert.Equal(options.Epochs, report.BestEpoch);
            Assert.True(report.StepP50Ms > 0 && report.StepP99Ms >= report.StepP50Ms, $"step p50 {report.StepP50Ms} ms, p99 {report.StepP99Ms} ms");
            pairsTrained += (long)(report.Epochs[0].SamplesPerSecond * report.Epochs[0].Seconds / (1 + options.Negatives) + 0.5);
        }

        Assert.Equal(train.Count, pairsTrained);
        var expected = reports.SelectMany(r => r.Epochs.Select(e => e.ValidationAuc)).Order().ToArray();
        Assert.Equal(expected, recorded.Order().ToArray());
        Assert.All(expected, auc => Assert.InRange(auc, 0.0, 1.0));
        Assert.True(reports.Max(r => r.ValidationAuc) > 0.75, $"validation AUC {reports.Max(r => r.ValidationAuc):F3}");
    }
}
