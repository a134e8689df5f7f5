using System.Collections.Concurrent;
using System.Globalization;
using ParameterServer.Client.Training;
using Spectre.Console;

namespace ParameterServer.Embed.Views;

/// <summary>How a training job shows itself.</summary>
internal enum TrainingOutput
{
    /// <summary>Plain lines, no colour, no escape codes, no carriage returns: logs, pipes, CI.</summary>
    Plain,

    /// <summary>A live progress bar per epoch, coloured epoch lines and summary tables: an interactive terminal.</summary>
    Live,

    /// <summary>Nothing at all (<c>--json</c> prints the report instead).</summary>
    Quiet,
}

/// <summary>Rows, bytes and row updates of one of the job's tables, for the summary.</summary>
internal sealed record TableFigures(string Name, long Rows, long Bytes, long RowUpdates);

/// <summary>
/// Shows a training job: the epoch lines, a progress bar while an epoch runs (live mode only) and the summary.
/// Feed it the trainer's events through <see cref="OnProgress"/> (any thread) and <see cref="OnEpoch"/>.
/// </summary>
internal sealed class TrainingView
{
    private const double RefreshSeconds = 0.25;
    private readonly IAnsiConsole _console;
    private readonly TextWriter _out;
    private readonly string _floor;
    private readonly EpochMeter _meter = new();
    private readonly ConcurrentQueue<EpochReport> _finished = new();
    private double _best = double.PositiveInfinity;

    /// <summary>A view writing to <paramref name="console"/> (plain lines go straight to its writer).</summary>
    public TrainingView(IAnsiConsole console, TrainingOutput output, double? noiseFloor)
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _out = console.Profile.Out.Writer;
        Output = output;
        _floor = noiseFloor is { } f ? "  (noise floor " + f.ToString("F4", CultureInfo.InvariantCulture) + ")" : "";
    }

    /// <summary>The mode this view renders in.</summary>
    public TrainingOutput Output { get; }

    /// <summary>
    /// The job's most epochs, when known: epochs then read "n/N" and each says how long the rest of the job takes at
    /// most (early stopping may end it sooner). 0: unknown.
    /// </summary>
    public int MaxEpochs { get; set; }

    private double _epochSeconds;

    /// <summary>The view for this process's stdout: quiet for <c>--json</c>, live only on an interactive terminal.</summary>
    public static TrainingView ForStdout(bool json, double? noiseFloor) =>
        new(AnsiConsole.Console, Detect(AnsiConsole.Console, Console.IsOutputRedirected, json), noiseFloor);

    /// <summary>Live only when stdout is an interactive terminal that understands escape codes and no JSON was asked for.</summary>
    public static TrainingOutput Detect(IAnsiConsole console, bool outputRedirected, bool json)
    {
        ArgumentNullException.ThrowIfNull(console);
        if (json)
        {
            return TrainingOutput.Quiet;
        }

        var caps = console.Profile.Capabilities;
        return outputRedirected || !caps.Interactive || !caps.Ansi ? TrainingOutput.Plain : TrainingOutput.Live;
    }

    /// <summary>A step of the running epoch: <paramref name="samples"/> samples with mean squared error <paramref name="meanSquaredError"/>. Thread-safe.</summary>
    public void OnProgress(long samples, double meanSquaredError) => _meter.Add(samples, meanSquaredError);

    /// <summary>An epoch finished (no step of the next one has started).</summary>
    public void OnEpoch(EpochReport epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        _meter.Reset();
        switch (Output)
        {
            case TrainingOutput.Plain:
                _out.WriteLine(EpochLine(epoch));
                break;
            case TrainingOutput.Live:
                // The live loop owns the console: it prints the line above the bars.
                _finished.Enqueue(epoch);
                break;
        }
    }

    /// <summary>Runs <paramref name="train"/> under the header, with a progress bar per epoch in live mode.</summary>
    public async Task<TrainingReport> RunAsync(long samplesPerEpoch, Func<Task<TrainingReport>> train)
    {
        ArgumentNullException.ThrowIfNull(train);
        switch (Output)
        {
            case TrainingOutput.Quiet:
                return await train();
            case TrainingOutput.Plain:
                _out.WriteLine(Header);
                return await train();
        }

        _console.MarkupLine("[bold]" + Markup.Escape(Header) + "[/]");
        return await _console.Progress()
            .AutoRefresh(false)
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(ctx => LiveAsync(ctx, samplesPerEpoch, train()));
    }

    /// <summary>The job's figures and its tables: plain lines, or tables in live mode.</summary>
    public void Summary(TrainingReport report, IReadOnlyList<TableFigures> tables)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(tables);
        switch (Output)
        {
            case TrainingOutput.Plain:
                _out.WriteLine(Invariant($"best epoch {report.BestEpoch}: {(report.ValidationNdcg is { } ndcg ? Invariant($"validation NDCG@k {ndcg:F4}") : Invariant($"validation RMSE {report.ValidationRmse:F4}"))}{Binary(report.ValidationLogLoss, report.ValidationAccuracy, report.ValidationAuc, ", ")}; {report.SamplesPerSecond:N0} samples/s; {report.WallSeconds:F1} s wall"));
                if (report.Ranking is { } ranking)
                {
                    _out.WriteLine(RankingLine(ranking));
                }

                foreach (var t in tables)
                {
                    _out.WriteLine(Invariant($"table {t.Name}: {t.Rows:N0} rows, {t.Bytes / 1048576.0:F1} MiB, {t.RowUpdates:N0} row updates"));
                }

                break;
            case TrainingOutput.Live:
                var job = new Table { Title = new TableTitle("training"), Border = TableBorder.Rounded };
                job.AddColumns(new TableColumn("best epoch").RightAligned(), new TableColumn("validation RMSE").RightAligned(), new TableColumn("samples/s").RightAligned(), new TableColumn("wall seconds").RightAligned());
                job.AddRow(Invariant($"{report.BestEpoch} of {report.Epochs.Count}"), Invariant($"[green]{Valid(report.ValidationRmse)}[/]"), Invariant($"{report.SamplesPerSecond:N0}"), Invariant($"{report.WallSeconds:F1}"));
                if (report.ValidationLogLoss is not null)
                {
                    job.Caption = new TableTitle(Markup.Escape(Binary(report.ValidationLogLoss, report.ValidationAccuracy, report.ValidationAuc, "validation ").Trim()));
                }

                _console.Write(job);
                if (report.Ranking is { } rank)
                {
                    var grid = new Table { Title = new TableTitle(Invariant($"ranking@{rank.K}: {rank.Users:N0} validation users, {(rank.Threshold is { } t ? Invariant($"relevant = rating ≥ {t:0.##}") : "relevant = held-out pairs")}, {rank.CandidateItems:N0} items")), Border = TableBorder.Rounded };
                    grid.AddColumns(new TableColumn("recommender"), new TableColumn("precision").RightAligned(), new TableColumn("recall").RightAligned(), new TableColumn("NDCG").RightAligned(), new TableColumn("MAP").RightAligned(), new TableColumn("coverage").RightAligned());
                    foreach (var (name, scores) in new[] { ("model", rank.Model), ("most popular", rank.MostPopular) })
                    {
                        grid.AddRow(name, Invariant($"{scores.Precision:F4}"), Invariant($"{scores.Recall:F4}"), Invariant($"{scores.Ndcg:F4}"), Invariant($"{scores.Map:F4}"), Invariant($"{scores.Coverage:P1}"));
                    }

                    _console.Write(grid);
                }

                if (tables.Count > 0)
                {
                    var grid = new Table { Title = new TableTitle("tables"), Border = TableBorder.Rounded };
                    grid.AddColumns(new TableColumn("table"), new TableColumn("rows").RightAligned(), new TableColumn("MiB").RightAligned(), new TableColumn("row updates").RightAligned());
                    foreach (var t in tables)
                    {
                        grid.AddRow(Markup.Escape(t.Name), Invariant($"{t.Rows:N0}"), Invariant($"{t.Bytes / 1048576.0:F1}"), Invariant($"{t.RowUpdates:N0}"));
                    }

                    _console.Write(grid);
                }

                break;
        }
    }

    /// <summary>The ranking figures as one plain line: the model's, then the most-popular baseline's.</summary>
    internal static string RankingLine(RankingReport r, string users = "validation users", string items = "items")
    {
        static string Of(RankingScores s) => Invariant($"precision {s.Precision:F4}, recall {s.Recall:F4}, NDCG {s.Ndcg:F4}, MAP {s.Map:F4}, coverage {s.Coverage:P1}");
        string relevant = r.Threshold is { } t ? Invariant($"relevant = rating ≥ {t:0.##}") : "relevant = held-out pairs";
        return Invariant($"ranking@{r.K} ({r.Users:N0} {users}, {relevant}, {r.CandidateItems:N0} {items}): model {Of(r.Model)}; most popular {Of(r.MostPopular)}");
    }

    private static string Header => $"{"epoch",5} {"train loss",11} {"valid RMSE",11} {"samples/s",11} {"seconds",8}";

    private string EpochLine(EpochReport e) =>
        Invariant($"{Epoch(e.Epoch, MaxEpochs),5} {e.TrainLoss,11:F4} {Valid(e.ValidationRmse),11} {e.SamplesPerSecond,11:N0} {e.Seconds,8:F2}{_floor}{Binary(e.ValidationLogLoss, e.ValidationAccuracy, e.ValidationAuc, "  ")}{Ranking(e.ValidationNdcg)}{JobLeft(e)}");

    private static string Epoch(int epoch, int max) => max > 0 ? Invariant($"{epoch}/{max}") : Invariant($"{epoch}");

    /// <summary>"  job ≤ 1:20": the epochs left at the mean epoch time so far (an upper bound: early stopping may come first).</summary>
    private string JobLeft(EpochReport e)
    {
        _epochSeconds += e.Seconds;
        return MaxEpochs > e.Epoch ? "  job ≤ " + Eta(TimeSpan.FromSeconds(_epochSeconds / e.Epoch * (MaxEpochs - e.Epoch))) : "";
    }

    // A model without ratings (bpr) has no RMSE: a dash, not NaN.
    private static string Valid(double rmse) => double.IsNaN(rmse) ? "-" : Invariant($"{rmse:F4}");

    private static string Ranking(double? ndcg) => ndcg is { } n ? Invariant($"  NDCG@k {n:F4}") : "";

    /// <summary>A binary task's validation log loss, accuracy and AUC after <paramref name="lead"/>; empty for other models.</summary>
    private static string Binary(double? logLoss, double? accuracy, double? auc, string lead) =>
        logLoss is { } l ? Invariant($"{lead}logloss {l:F4} accuracy {accuracy ?? double.NaN:F4} AUC {auc ?? double.NaN:F4}") : "";

    /// <summary>The live loop: polls the meter, moves the bar, and turns finished epochs into lines.</summary>
    private async Task<TrainingReport> LiveAsync(ProgressContext ctx, long samplesPerEpoch, Task<TrainingReport> run)
    {
        int epoch = 1;
        ProgressTask? bar = ctx.AddTask(Describe(epoch, default, samplesPerEpoch, MaxEpochs), maxValue: Math.Max(1, samplesPerEpoch));
        while (true)
        {
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(RefreshSeconds)));
            while (_finished.TryDequeue(out var e))
            {
                if (bar is not null)
                {
                    bar.Value = bar.MaxValue;
                    bar.StopTask();
                    bar = null;
                }

                _console.MarkupLine(LiveEpochLine(e));
                epoch = e.Epoch + 1;
            }

            if (run.IsCompleted)
            {
                bar?.StopTask();
                ctx.Refresh();
                return await run;
            }

            var reading = _meter.Read();
            if (bar is null && reading.Samples > 0)
            {
                bar = ctx.AddTask(Describe(epoch, reading, samplesPerEpoch, MaxEpochs), maxValue: Math.Max(1, samplesPerEpoch));
            }

            if (bar is not null)
            {
                bar.Value = Math.Min(reading.Samples, bar.MaxValue);
                bar.Description = Describe(epoch, reading, samplesPerEpoch, MaxEpochs);
            }

            ctx.Refresh();
        }
    }

    private string LiveEpochLine(EpochReport e)
    {
        // Green when the epoch improved what early stopping watches (a binary task's log loss, else the RMSE).
        double criterion = e.ValidationLogLoss ?? (1 - e.ValidationNdcg) ?? e.ValidationRmse;
        bool best = criterion < _best;
        _best = Math.Min(_best, criterion);
        string rmse = Invariant($"{Valid(e.ValidationRmse),11}");
        return Invariant($"{Epoch(e.Epoch, MaxEpochs),5} {e.TrainLoss,11:F4} ") + (best ? "[green]" + rmse + "[/]" : "[yellow]" + rmse + "[/]")
            + Invariant($" {e.SamplesPerSecond,11:N0} {e.Seconds,8:F2}") + (_floor.Length > 0 ? "[grey]" + Markup.Escape(_floor) + "[/]" : "")
            + Markup.Escape(Binary(e.ValidationLogLoss, e.ValidationAccuracy, e.ValidationAuc, "  ") + Ranking(e.ValidationNdcg) + JobLeft(e));
    }

    /// <summary>The bar's description: epoch, rate, running loss and time left.</summary>
    internal static string Describe(int epoch, EpochReading reading, long samplesPerEpoch, int maxEpochs = 0)
    {
        string rate = reading.SamplesPerSecond > 0 ? Invariant($"{reading.SamplesPerSecond,11:N0} samples/s") : $"{"",11} samples/s";
        string loss = double.IsNaN(reading.Loss) || reading.Samples == 0 ? "      " : Invariant($"{reading.Loss:F4}");
        var left = reading.Remaining(samplesPerEpoch);
        string eta = left is { } l ? Eta(l) : "?";
        // The job: this epoch's rest and every epoch after it at this rate (at most: early stopping may come first).
        string job = maxEpochs > epoch && left is { } el && reading.SamplesPerSecond > 0
            ? "  job ≤ " + Eta(el + TimeSpan.FromSeconds((maxEpochs - epoch) * (double)samplesPerEpoch / reading.SamplesPerSecond))
            : "";
        return maxEpochs > 0
            ? Invariant($"epoch {epoch,3}/{maxEpochs}  {rate}  loss {loss}  ETA {eta}{job}")
            : Invariant($"epoch {epoch,3}  {rate}  loss {loss}  ETA {eta}");
    }

    /// <summary>Tenths of a second under a minute (epochs of small data sets take less than one), then m:ss or h:mm:ss.</summary>
    private static string Eta(TimeSpan left) => left.TotalMinutes < 1 ? Invariant($"{left.TotalSeconds:F1} s")
        : left.TotalHours < 1 ? Invariant($"{left.Minutes}:{left.Seconds:D2}")
        : Invariant($"{(int)left.TotalHours}:{left.Minutes:D2}:{left.Seconds:D2}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
