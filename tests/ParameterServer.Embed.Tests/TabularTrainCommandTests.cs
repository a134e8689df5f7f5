using System.CommandLine;
using System.Text.Json;
using ParameterServer.Embed.Commands;

namespace ParameterServer.Embed.Tests;

/// <summary><c>embed train --model tabular</c> and the per-model checks of <c>embed train</c>.</summary>
public sealed class TabularTrainCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ps-worker-tabular-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string File(string name, string content)
    {
        string path = Path.Combine(_folder, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static Task<int> Train(params string[] args) =>
        TrainCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    [Theory]
    [InlineData("--model mf", "--ratings is required for model mf.")]
    [InlineData("--model dot-bias", "--ratings is required for model dot-bias.")]
    [InlineData("--model link2", "Unknown model 'link2'. Valid models: dot, dot-bias, mf, bpr, link, tabular.")]
    [InlineData("--model tabular", "--data is required for model tabular.")]
    [InlineData("--model tabular --data x.csv --categorical a:2", "--target is required for model tabular.")]
    [InlineData("--model tabular --data x.csv --ratings r.csv", "--ratings and --items belong to the rating models; --model tabular reads --data.")]
    [InlineData("--model tabular --data x.csv --categorical a:0 --target y", "--categorical 'a:0': the dimension '0' is not a positive integer")]
    [InlineData("--model tabular --data x.csv --categorical a:2 --target y --task multiclass", "Unknown task 'multiclass'. Valid tasks: regression, binary.")]
    [InlineData("--model tabular --data x.csv --categorical a:2 --target y --hidden 64,32,16", "has 3 layers")]
    [InlineData("--model tabular --data x.csv --categorical a:2 --target y --derive year", "--derive 'year' is not name=function(column)")]
    [InlineData("--model TABULAR --data missing.csv --categorical a:2 --target y", "Data file")]
    public async Task Bad_command_lines_are_refused_with_what_is_wrong(string args, string message)
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Train(args.Split(' ')));
        Assert.True(e is ArgumentException or FileNotFoundException, e.ToString());
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_column_names_the_file_and_lists_its_header()
    {
        string data = File("t.csv", "a,b,y\nx,p,1\n");
        var e = await Assert.ThrowsAsync<Core.Data.DataFormatException>(() => Train("--model", "tabular", "--data", data, "--categorical", "a:2,c:2", "--target", "y"));
        Assert.Equal($"{data}:1: no categorical column 'c'; the header has: a, b, y.", e.Message);
    }

    [Fact]
    public async Task Help_lists_the_tabular_options()
    {
        var output = new StringWriter();
        await new RootCommand { TrainCommand.Create() }.Parse(["train", "--help"]).InvokeAsync(new InvocationConfiguration { Output = output });
        foreach (string option in new[] { "--data", "--categorical", "--numeric", "--target", "--task", "--hidden", "--head-weight-decay", "--derive", "--ratings" })
        {
            Assert.Contains(option, output.ToString(), StringComparison.Ordinal);
        }

        // The description is wrapped to the terminal: compare with its words joined by single spaces.
        Assert.Contains("With --model tabular", string.Join(' ', output.ToString().Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_groups_the_options_by_model_and_ends_with_examples()
    {
        var output = new StringWriter();
        await new RootCommand { TrainCommand.Create() }.Parse(["train", "--help"]).InvokeAsync(new InvocationConfiguration { Output = output });
        string help = output.ToString();
        string[] titles = ["Rating models (--model dot, dot-bias, mf, bpr) on --ratings:", "Link embeddings (--model link) on --pairs:", "Entity embeddings of tabular data (--model tabular) on --data:", "Every model: training, optimizer, tables, cluster and output:", "Examples:"];
        int[] at = [.. titles.Select(t => help.IndexOf(t, StringComparison.Ordinal))];
        Assert.All(at, i => Assert.True(i >= 0));
        Assert.Equal(at.Order(), at); // in this order
        // Each option once, under its model: --ratings with the rating models, --pairs with link, --dim shared.
        Assert.True(help.IndexOf("  --ratings <ratings>", StringComparison.Ordinal) < at[1]);
        Assert.InRange(help.IndexOf("  --pairs <pairs>", StringComparison.Ordinal), at[1], at[2]);
        Assert.InRange(help.IndexOf("  --dim <dim>", StringComparison.Ordinal), at[3], at[4]);
        Assert.Single(help.Split('\n'), l => l.StartsWith("  --dim <dim>", StringComparison.Ordinal));

        var cv = new StringWriter();
        await new RootCommand { TrainCommand.Create(crossValidation: true) }.Parse(["cv", "--help"]).InvokeAsync(new InvocationConfiguration { Output = cv });
        Assert.Contains("  --folds <folds>", cv.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("  --pairs <pairs>", cv.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tabular_job_on_an_embedded_silo_reads_the_shared_options_and_writes_its_report()
    {
        var rng = new Random(2);
        var lines = Enumerable.Range(0, 400).Select(i => $"u{i % 9},{1_500_000_000 + (i * 86_400 * 40)},{rng.NextDouble():F3},{i % 9 / 3.0 + rng.NextDouble():F3}");
        string data = File("jobs.csv", "user,ts,x,y\n" + string.Join("\n", lines) + "\n");
        string report = Path.Combine(_folder, "report.json");
        int rc = await Train(
            "--model", "tabular", "--data", data, "--derive", "year=year(ts)", "--categorical", "user:3,year", "--dim", "2", "--numeric", "x", "--target", "y",
            "--hidden", "4,3", "--epochs", "2", "--patience", "5", "--batch-size", "32", "--workers", "1", "--staleness", "0", "--optimizer", "adagrad", "--lr", "0.03",
            "--weight-decay", "0.1", "--validation", "0.25", "--seed", "9", "--shards", "2", "--report", report);
        Assert.Equal(0, rc);

        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(report));
        var r = json.RootElement;
        Assert.Equal("tabular", r.GetProperty("model").GetString());
        Assert.Equal("regression", r.GetProperty("task").GetString());
        Assert.Equal(3 + 2 + 1, r.GetProperty("dim").GetInt32());
        Assert.Equal(32, r.GetProperty("batch_size").GetInt32());
        Assert.Equal(1, r.GetProperty("workers").GetInt32());
        Assert.Equal(0, r.GetProperty("staleness").GetInt32());
        Assert.Equal("adagrad", r.GetProperty("optimizer").GetString());
        Assert.Equal(0.03, r.GetProperty("learning_rate").GetDouble(), 1e-6);
        Assert.Equal(0.1, r.GetProperty("weight_decay").GetDouble(), 1e-6);
        Assert.Equal((300, 100), (r.GetProperty("train_samples").GetInt32(), r.GetProperty("validation_samples").GetInt32()));
        Assert.Equal(2, r.GetProperty("epochs").GetArrayLength());
        Assert.Equal("embedded", r.GetProperty("cluster").GetString());
        Assert.False(r.TryGetProperty("validation_logloss", out _));
    }
}
