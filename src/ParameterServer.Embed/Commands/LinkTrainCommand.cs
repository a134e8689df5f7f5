using System.CommandLine;
using System.Globalization;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Embed.Options;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed train --model link</c>: entity and link embeddings from (entity, link) pairs with negative sampling.</summary>
internal sealed class LinkTrainCommand
{
    private readonly Option<FileInfo?> _pairs = new("--pairs") { Description = "Link model: (entity, link) pairs, delimited text with a header (see --entity-column, --link-column) or NDJSON (.ndjson/.jsonl, or --pairs-format ndjson)." };
    private readonly Option<string> _format = new("--pairs-format") { Description = "auto (by extension: .ndjson/.jsonl are NDJSON), csv or ndjson.", DefaultValueFactory = _ => "auto" };
    private readonly Option<string> _entityColumn = new("--entity-column") { Description = "Link model: entity column (header name or 0-based index) or NDJSON field.", DefaultValueFactory = _ => "entity" };
    private readonly Option<string> _linkColumn = new("--link-column") { Description = "Link model: link column or NDJSON field (a string or an array of strings).", DefaultValueFactory = _ => "link" };
    private readonly Option<string?> _linkSeparator = new("--link-separator") { Description = "Link model: split a link cell into several links at this character (e.g. '|' for MovieLens genres)." };
    private readonly Option<int> _minLinkEntities = new("--min-link-entities") { Description = "Link model: drop links seen with fewer entities than this.", DefaultValueFactory = _ => 1 };
    private readonly Option<FileInfo?> _stopList = new("--stop-list") { Description = "Link model: a file of links to drop, one per line, compared ignoring case." };
    private readonly Option<string> _entityIds = new("--entity-ids") { Description = "Link model: auto (integers are row ids, e.g. movie ids; otherwise hashed), numeric, or hash (stable hash of the text, which becomes the label).", DefaultValueFactory = _ => "auto" };
    private readonly Option<int> _negatives = new("--negatives") { Description = "Link model: random negatives per positive, checked not to be true pairs.", DefaultValueFactory = _ => 4 };
    private readonly Option<string> _score = new("--score") { Description = "Link model: cosine or dot of the entity and link embeddings.", DefaultValueFactory = _ => "cosine" };
    private readonly Option<string> _loss = new("--loss") { Description = "Link model: mse (squared error against labels ±1, suits cosine) or logistic (labels 0/1, suits dot).", DefaultValueFactory = _ => "mse" };
    private readonly Option<string?> _freeze = new("--freeze") { Description = "Link model: keep one table fixed: entities (e.g. imported word vectors) or links." };
    private readonly Option<string?> _entityTable = new("--entity-table") { Description = "Link model: an existing table to use as the entity table (e.g. one filled by embed import); its dim is used." };
    private readonly Option<int> _recallK = new("--recall-k") { Description = "Link model: k of recall@k.", DefaultValueFactory = _ => 10 };

    /// <summary>Adds the link options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        Option[] all = [_pairs, _format, _entityColumn, _linkColumn, _linkSeparator, _minLinkEntities, _stopList, _entityIds, _negatives, _score, _loss, _freeze, _entityTable, _recallK];
        foreach (var option in all)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Runs the link job the parsed options describe.</summary>
    public async Task<int> RunAsync(ParseResult p, TrainOptions shared, Option<FileInfo?> items, CancellationToken ct)
    {
        var pairsFile = p.GetValue(_pairs) ?? throw new ArgumentException("--pairs is required for model link.");
        var opt = OptimizerSettings.ParseKind(p.GetValue(shared.Optimizer)!);
        string freeze = p.GetValue(_freeze)?.Trim().ToLowerInvariant() ?? "";
        if (freeze is not ("" or "entities" or "links"))
        {
            throw new ArgumentException($"--freeze '{p.GetValue(_freeze)}' must be entities or links.");
        }

        // Link jobs take smaller batches and a larger rate than rating jobs: a pair file is often small, and each
        // positive already brings its negatives. Given values win.
        var prefixResult = p.GetResult(shared.TablePrefix);
        var batchResult = p.GetResult(shared.BatchSize);
        var options = new LinkTrainingOptions
        {
            Score = LinkModel.ParseScore(p.GetValue(_score)!),
            Loss = LinkModel.ParseLoss(p.GetValue(_loss)!),
            Dim = p.GetValue(shared.Dim),
            Epochs = p.GetValue(shared.Epochs),
            BatchSize = batchResult is null || batchResult.Implicit ? 128 : p.GetValue(shared.BatchSize),
            Negatives = p.GetValue(_negatives),
            Optimizer = opt,
            LearningRate = p.GetValue(shared.LearningRate) ?? (opt == OptimizerKind.Adam ? 0.02f : TrainCommand.DefaultLearningRate(opt)),
            WeightDecay = p.GetValue(shared.WeightDecay) ?? 0f,
            InitScale = p.GetValue(shared.InitScale),
            Workers = p.GetValue(shared.Workers),
            Staleness = p.GetValue(shared.Staleness),
            WorkerIndex = p.GetValue(shared.WorkerIndex),
            WorkerCount = p.GetValue(shared.WorkerCount),
            Seed = p.GetValue(shared.Seed),
            Patience = p.GetValue(shared.Patience),
            Shards = p.GetValue(shared.Shards),
            TablePrefix = prefixResult is null || prefixResult.Implicit ? "links" : p.GetValue(shared.TablePrefix)!,
            EntityTable = p.GetValue(_entityTable),
            FreezeEntities = freeze == "entities",
            FreezeLinks = freeze == "links",
            RecallK = p.GetValue(_recallK),
        };
        options.Validate();
        string format = p.GetValue(_format)!.Trim().ToLowerInvariant();
        bool ndjson = format switch
        {
            "auto" => pairsFile.Extension.ToLowerInvariant() is ".ndjson" or ".jsonl",
            "ndjson" or "jsonl" => true,
            "csv" or "tsv" or "delimited" => false,
            _ => throw new ArgumentException($"--pairs-format '{format}' must be auto, csv or ndjson."),
        };
        string? separator = p.GetValue(_linkSeparator);
        var readerOptions = new LinkReaderOptions
        {
            Ndjson = ndjson,
            Delimiter = TrainCommand.ParseDelimiter(p.GetValue(shared.Delimiter)!),
            HasHeader = !p.GetValue(shared.NoHeader),
            EntityColumn = p.GetValue(_entityColumn)!,
            LinkColumn = p.GetValue(_linkColumn)!,
            LinkSeparator = string.IsNullOrEmpty(separator) ? null : separator.Length == 1 ? separator[0] : throw new ArgumentException($"--link-separator '{separator}' must be a single character."),
            MinLinkEntities = p.GetValue(_minLinkEntities),
            StopList = p.GetValue(_stopList) is { } stop ? ReadStopList(stop) : null,
            SkipBadRows = p.GetValue(shared.SkipBadRows),
            EntityIds = p.GetValue(_entityIds)!.Trim().ToLowerInvariant() switch
            {
                "auto" => EntityIdMode.Auto,
                "numeric" => EntityIdMode.Numeric,
                "hash" => EntityIdMode.Hash,
                var other => throw new ArgumentException($"--entity-ids '{other}' must be auto, numeric or hash."),
            },
        };

        bool asJson = p.GetValue(shared.Json);
        var human = asJson ? TextWriter.Null : Console.Out;
        var data = LinkPairsReader.Read(pairsFile.FullName, readerOptions);
        var (train, valid) = data.Split(p.GetValue(shared.Validation), options.Seed);
        human.WriteLine($"data: {data.Count:N0} pairs of {data.EntityIds.Length:N0} entities and {data.LinkIds.Length:N0} links ({Dropped(data)}); train {train.Count:N0}, validation {valid.Count:N0}");
        await using var exporters = await shared.Telemetry.Start(p);
        await using var connection = await ClusterConnection.StartAsync(p.GetValue(shared.Cluster), ct);
        human.WriteLine($"cluster: {connection.Description}; link model, {options.Score.ToString().ToLowerInvariant()} score, {options.Loss.ToString().ToLowerInvariant()} loss, {options.Negatives} negatives per positive, {opt.ToString().ToLowerInvariant()} lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}, batch {options.BatchSize} positives, workers {options.Workers}{(options.WorkerCount > 1 ? $", worker process {options.WorkerIndex + 1} of {options.WorkerCount}" : "")}");
        var trainer = new LinkTrainer(connection.Client, options);
        human.WriteLine("epoch   train loss   validation AUC   samples/s   seconds");
        trainer.EpochFinished += e => human.WriteLine($"{e.Epoch,5}   {e.TrainLoss,10:F4}   {e.ValidationAuc,14:F4}   {e.SamplesPerSecond,9:N0}   {e.Seconds,7:F1}");
        var result = await trainer.TrainAsync(train, valid, ct);
        if (p.GetValue(items) is { } itemsFile)
        {
            var titles = TitlesReader.Read(itemsFile.FullName);
            var entities = await connection.Client.OpenTableAsync(options.EntityTableName);
            var known = new HashSet<long>(data.EntityIds);
            await connection.Client.SetLabelsAsync(entities, titles.Where(t => known.Contains(t.Key)).ToDictionary());
            human.WriteLine($"labels: titles set on table {entities.Spec.Name}");
        }

        result = result with { Cluster = connection.Description };
        if (result.Ranking is { } ranking)
        {
            human.WriteLine(TrainingView.RankingLine(ranking, "entities with held-out links", "links"));
        }

        human.WriteLine($"best epoch {result.BestEpoch}: validation AUC {result.ValidationAuc:F4}, recall@{result.RecallK} {result.RecallAtK:F4} over {result.RecallPairs:N0} held-out pairs ranked against {result.Links:N0} links; {result.SamplesPerSecond:N0} samples/s, step p50 {result.StepP50Ms:F2} ms, p99 {result.StepP99Ms:F2} ms; tables {result.EntityTable}, {result.LinkTable}");
        if (p.GetValue(shared.Report) is { } reportFile)
        {
            await File.WriteAllTextAsync(reportFile.FullName, ReportJson.Serialize(result, indented: true), ct);
            human.WriteLine($"report: {reportFile.FullName}");
        }

        if (asJson)
        {
            Console.WriteLine(ReportJson.Serialize(result, indented: false));
        }

        return 0;
    }

    private static string Dropped(LinkPairs data) =>
        $"{data.DroppedRare:N0} pairs of rare links, {data.DroppedStopped:N0} stop-listed, {data.Repeated:N0} repeats, {data.SkippedRows:N0} malformed lines dropped";

    private static HashSet<string> ReadStopList(FileInfo file) => file.Exists
        ? new HashSet<string>(File.ReadLines(file.FullName).Select(l => l.Trim()).Where(l => l.Length > 0), StringComparer.OrdinalIgnoreCase)
        : throw new FileNotFoundException($"Stop list '{file.FullName}' does not exist.", file.FullName);
}
