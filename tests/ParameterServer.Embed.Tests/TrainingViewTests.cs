using System.Globalization;
using ParameterServer.Client.Training;
using ParameterServer.Embed.Views;
using Spectre.Console;

namespace ParameterServer.Embed.Tests;

public sealed class TrainingViewTests
{
    private static IAnsiConsole Console(StringWriter writer, bool interactive) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = interactive ? AnsiSupport.Yes : AnsiSupport.Detect,
        ColorSystem = interactive ? ColorSystemSupport.TrueColor : ColorSystemSupport.Detect,
        Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
    });

    /// <summary>A fake job: each epoch's steps come from several threads at once, then the epoch line.</summary>
    private static async Task<TrainingReport> TrainAsync(TrainingView view, TrainingReport report, TimeSpan perEpoch)
    {
        foreach (var epoch in report.Epochs)
        {
            await Parallel.ForAsync(0, 8, async (worker, ct) =>
            {
                for (int step = 0; step < 10; step++)
                {
                    view.OnProgress(1000, epoch.TrainLoss);
                    await Task.Delay(perEpoch / 10, ct);
                }
            });
            view.OnEpoch(epoch);
        }

        return report;
    }

    private static readonly TableFigures[] Tables = [new("ratings.items", 9724, 8_500_000, 319_758), new("ratings.users", 610, 1_700_000, 136_054)];

    [Fact]
    public async Task NonInteractiveOutputIsTodaysPlainLines()
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var console = Console(writer, interactive: false);
        var output = TrainingView.Detect(console, outputRedirected: false, json: false);
        Assert.Equal(TrainingOutput.Plain, output);

        var view = new TrainingView(console, output, noiseFloor: 0.5);
        var report = Reports.Create(3);
        var result = await view.RunAsync(80_000, () => TrainAsync(view, report, TimeSpan.Zero));
        view.Summary(result, Tables);

        string text = writer.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\r', text);
        Assert.Equal(
            [
                "epoch  train loss  valid RMSE   samples/s  seconds",
                "    1      1.0000      0.9500     501,000     0.20  (noise floor 0.5000)",
                "    2      0.5000      0.9000     502,000     0.20  (noise floor 0.5000)",
                "    3      0.3333      0.8833     503,000     0.20  (noise floor 0.5000)",
                "best epoch 3: validation RMSE 0.8833; 503,000 samples/s; 3.5 s wall",
                "table ratings.items: 9,724 rows, 8.1 MiB, 319,758 row updates",
                "table ratings.users: 610 rows, 1.6 MiB, 136,054 row updates",
            ],
            text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_binary_jobs_lines_add_log_loss_accuracy_and_auc()
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var view = new TrainingView(Console(writer, interactive: false), TrainingOutput.Plain, noiseFloor: null);
        var epochs = Reports.Epochs(2).Select((e, i) => e with { ValidationLogLoss = 0.4 - (0.1 * i), ValidationAccuracy = 0.8 + (0.05 * i), ValidationAuc = 0.9 }).ToArray();
        var report = Reports.Create(2) with { Model = "tabular", Task = "binary", Epochs = epochs, BestEpoch = 2, ValidationLogLoss = 0.3, ValidationAccuracy = 0.85, ValidationAuc = 0.9 };
        var result = await view.RunAsync(80_000, () => TrainAsync(view, report, TimeSpan.Zero));
        view.Summary(result, []);
        Assert.Equal(
            [
                "epoch  train loss  valid RMSE   samples/s  seconds",
                "    1      1.0000      0.9500     501,000     0.20  logloss 0.4000 accuracy 0.8000 AUC 0.9000",
                "    2      0.5000      0.9000     502,000     0.20  logloss 0.3000 accuracy 0.8500 AUC 0.9000",
                "best epoch 2: validation RMSE 0.9000, logloss 0.3000 accuracy 0.8500 AUC 0.9000; 503,000 samples/s; 3.5 s wall",
            ],
            writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData(true, false, false, "Live")]
    [InlineData(true, true, false, "Plain")]
    [InlineData(false, false, false, "Plain")]
    [InlineData(true, false, true, "Quiet")]
    [InlineData(false, true, true, "Quiet")]
    public void LiveOnlyOnAnInteractiveTerminalWithoutJson(bool interactive, bool redirected, bool json, string expected) =>
        Assert.Equal(Enum.Parse<TrainingOutput>(expected), TrainingView.Detect(Console(new StringWriter(CultureInfo.InvariantCulture), interactive), redirected, json));

    [Fact]
    public async Task QuietPrintsNothing()
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var view = new TrainingView(Console(writer, interactive: true), TrainingOutput.Quiet, noiseFloor: null);
        var result = await view.RunAsync(80_000, () => TrainAsync(view, Reports.Create(2), TimeSpan.Zero));
        view.Summary(result, Tables);
        Assert.Equal("", writer.ToString());
    }

    [Fact]
    public async Task LiveShowsEveryEpochAndTheSummaryTables()
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var view = new TrainingView(Console(writer, interactive: true), TrainingOutput.Live, noiseFloor: null);
        var report = Reports.Create(2);
        var result = await view.RunAsync(80_000, () => TrainAsync(view, report, TimeSpan.FromMilliseconds(600)));
        view.Summary(result, Tables);

        Assert.Same(report, result);
        string text = writer.ToString();
        Assert.Contains("0.9500", text, StringComparison.Ordinal);
        Assert.Contains("0.9000", text, StringComparison.Ordinal);
        Assert.Contains("samples/s", text, StringComparison.Ordinal);
        Assert.Contains("ratings.users", text, StringComparison.Ordinal);
        Assert.Contains('\u001b', text);
    }

    [Fact]
    public void TheMeterAddsStepsFromManyThreads()
    {
        var meter = new EpochMeter();
        Parallel.For(0, 64, i =>
        {
            for (int k = 0; k < 1000; k++)
            {
                meter.Add(10, i % 2 == 0 ? 1.0 : 3.0);
            }
        });

        var reading = meter.Read();
        Assert.Equal(640_000, reading.Samples);
        Assert.Equal(2.0, reading.Loss, 1e-9);
        meter.Reset();
        Assert.Equal(0, meter.Read().Samples);
        Assert.True(double.IsNaN(meter.Read().Loss));
    }

    [Fact]
    public async Task With_the_jobs_epochs_known_plain_lines_say_n_of_N_and_the_time_the_job_may_still_take()
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var view = new TrainingView(Console(writer, interactive: false), TrainingOutput.Plain, noiseFloor: null) { MaxEpochs = 5 };
        var report = Reports.Create(3);
        await view.RunAsync(80_000, () => TrainAsync(view, report, TimeSpan.Zero));
        string[] lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Each epoch of the fake report takes 0.20 s: after epoch 1, 4 more at most (0.8 s); after 3, 2 more (0.4 s).
        Assert.StartsWith("  1/5 ", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("job ≤ 0.8 s", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("  3/5 ", lines[3], StringComparison.Ordinal);
        Assert.EndsWith("job ≤ 0.4 s", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public void TheBarSaysRateLossAndTimeLeft()
    {
        string text = TrainingView.Describe(3, new EpochReading(40_000, 0.81234, 20_000), 80_000);
        Assert.Contains("epoch   3", text, StringComparison.Ordinal);
        Assert.Contains("20,000 samples/s", text, StringComparison.Ordinal);
        Assert.Contains("loss 0.8123", text, StringComparison.Ordinal);
        Assert.EndsWith("ETA 2.0 s", text, StringComparison.Ordinal);
        Assert.EndsWith("ETA 2:05", TrainingView.Describe(3, new EpochReading(40_000, 0.8, 320), 80_000), StringComparison.Ordinal);
        Assert.EndsWith("ETA 1:23:20", TrainingView.Describe(3, new EpochReading(40_000, 0.8, 8), 80_000), StringComparison.Ordinal);
        Assert.EndsWith("ETA ?", TrainingView.Describe(1, default, 80_000), StringComparison.Ordinal);

        // With the job's most epochs: n/N, and the rest of the job at this rate (epoch 3's 2 s, then 37 × 4 s).
        string job = TrainingView.Describe(3, new EpochReading(40_000, 0.8, 20_000), 80_000, maxEpochs: 40);
        Assert.Contains("epoch   3/40", job, StringComparison.Ordinal);
        Assert.EndsWith("ETA 2.0 s  job ≤ 2:30", job, StringComparison.Ordinal);
        Assert.DoesNotContain("job", TrainingView.Describe(40, new EpochReading(40_000, 0.8, 20_000), 80_000, maxEpochs: 40), StringComparison.Ordinal);
    }
}
