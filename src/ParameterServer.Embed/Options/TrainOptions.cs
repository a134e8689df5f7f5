using System.CommandLine;

namespace ParameterServer.Embed.Options;

/// <summary>The options of <c>embed train</c> that every model takes.</summary>
internal sealed class TrainOptions
{
    public Option<int> Dim { get; } = new("--dim") { Description = "Embedding dimension.", DefaultValueFactory = _ => 64 };

    public Option<int> Epochs { get; } = new("--epochs") { Description = "Most epochs (early stopping may end sooner).", DefaultValueFactory = _ => 40 };

    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Samples per minibatch (link: positive pairs per minibatch, each with its negatives; default 128 there).", DefaultValueFactory = _ => 1024 };

    public Option<string> Optimizer { get; } = new("--optimizer") { Description = "Server-side optimizer: sgd, adagrad or adam (lazy: only touched rows step).", DefaultValueFactory = _ => "adam" };

    public Option<float?> LearningRate { get; } = new("--lr") { Description = "Learning rate (default: adam 0.005 (link: 0.02), adagrad 0.05, sgd 0.01). Gradients are of per-sample losses summed over the batch, so rates keep their per-sample meaning at any batch size." };

    public Option<float?> WeightDecay { get; } = new("--weight-decay") { Description = "L2 weight decay the server adds to the gradient of touched rows (default: 0.25 for mf and dot-bias, 0.1 for dot, 0 for link)." };

    public Option<float> InitScale { get; } = new("--init-scale") { Description = "Standard deviation of the initial embedding values.", DefaultValueFactory = _ => 0.1f };

    public Option<int> Workers { get; } = new("--workers") { Description = "Concurrent worker loops, each with its own minibatch stream.", DefaultValueFactory = _ => 2 };

    public Option<int> Staleness { get; } = new("--staleness") { Description = "Steps whose pushes a worker loop may have outstanding (0 = synchronous).", DefaultValueFactory = _ => 2 };

    public Option<int> WorkerIndex { get; } = new("--worker-index") { Description = "This process's number (0-based) among --worker-count processes training one job on the same tables: it trains every n-th sample from its index. Give every process the same data, --seed and --table-prefix.", DefaultValueFactory = _ => 0 };

    public Option<int> WorkerCount { get; } = new("--worker-count") { Description = "Worker processes training this job together (asynchronously, each with its --workers loops). With more than one, the tables keep the last epoch's updates instead of rolling back to a best epoch.", DefaultValueFactory = _ => 1 };

    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of the split, the initialization, the shuffling and the negatives.", DefaultValueFactory = _ => 42 };

    public Option<int> Patience { get; } = new("--patience") { Description = "Epochs without a better validation figure (RMSE, or AUC for link) before stopping; the best epoch's rows are kept.", DefaultValueFactory = _ => 3 };

    public Option<int> Shards { get; } = new("--shards") { Description = "Virtual shards per table.", DefaultValueFactory = _ => 8 };

    public Option<string> TablePrefix { get; } = new("--table-prefix") { Description = "Prefix of the model's table names: {prefix}.users, .items, .user_bias, .item_bias (default prefix ratings); link: {prefix}.entities and .links (default prefix links).", DefaultValueFactory = _ => "ratings" };

    public Option<string?> Cluster { get; } = CommonOptions.Cluster();

    public Option<FileInfo?> Report { get; } = new("--report") { Description = "Write the job's figures as JSON to this file." };

    public Option<string> Delimiter { get; } = new("--delimiter") { Description = "Field delimiter of the input file ('\\t' for tab).", DefaultValueFactory = _ => "," };

    public Option<bool> NoHeader { get; } = new("--no-header") { Description = "The input file has no header line (give columns by 0-based index)." };

    public Option<bool> SkipBadRows { get; } = new("--skip-bad-rows") { Description = "Skip and count malformed lines instead of stopping at the first." };

    public Option<bool> Json { get; } = new("--json") { Description = "Print nothing but the job's report as one JSON line at the end (no progress, no tables)." };

    public Option<double> Validation { get; } = new("--validation") { Description = "Fraction held out for validation by a seeded random split (ratings; link: pairs whose entity and link keep a training pair).", DefaultValueFactory = _ => 0.2 };

    public TelemetryOptions Telemetry { get; } = CommonOptions.Telemetry();

    /// <summary>Adds every shared option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        Option[] all = [Dim, Epochs, BatchSize, Optimizer, LearningRate, WeightDecay, InitScale, Workers, Staleness, WorkerIndex, WorkerCount, Seed, Patience, Shards, TablePrefix, Cluster, Report, Delimiter, NoHeader, SkipBadRows, Json, Validation];
        foreach (var option in all)
        {
            command.Options.Add(option);
        }

        Telemetry.AddTo(command);
    }
}
