using System.Text.Json;

namespace ParameterServer.Embed.Tests;

/// <summary><c>embed train --model link</c> end to end on the embedded silo, and its bad input through the console.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class LinkCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ps-link-cmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, string contents)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, contents);
        return path;
    }

    [Fact]
    public async Task A_link_job_on_ndjson_reports_auc_and_recall_as_json()
    {
        // Two planted groups of books; each links to most pages of its own group.
        var rng = new Random(4);
        var lines = new List<string>();
        for (int b = 0; b < 60; b++)
        {
            int g = b % 2;
            var pages = Enumerable.Range(0, 12).OrderBy(_ => rng.Next()).Take(8).Select(p => $"\"page {g}-{p}\"");
            lines.Add($"{{\"title\": \"book {b}\", \"links\": [{string.Join(", ", pages)}]}}");
        }

        string pairs = File("books.ndjson", string.Join('\n', lines));
        var (code, output, error) = await ConsoleRun.RunAsync("train", "--model", "link", "--pairs", pairs, "--entity-column", "title", "--link-column", "links",
            "--dim", "8", "--epochs", "15", "--batch-size", "32", "--validation", "0.1", "--json");
        Assert.True(code == 0, error);
        using var report = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        Assert.Equal("link", report.RootElement.GetProperty("model").GetString());
        Assert.Equal("links.entities", report.RootElement.GetProperty("entity_table").GetString());
        Assert.True(report.RootElement.GetProperty("validation_auc").GetDouble() > 0.8);
        Assert.Equal(60, report.RootElement.GetProperty("entities").GetInt32());
        Assert.Equal(24, report.RootElement.GetProperty("links").GetInt32());
    }

    [Theory]
    [InlineData("empty", "the file is empty; expected a header line naming the columns")]
    [InlineData("header-only", "the file holds no pairs")]
    [InlineData("unknown-column", "no entity column 'movieId'; the header has: entity, link")]
    [InlineData("missing", "does not exist")]
    public async Task Bad_pair_files_exit_2_with_a_message_naming_the_file(string kind, string fragment)
    {
        string path = kind switch
        {
            "empty" => File("empty.csv", ""),
            "header-only" => File("header.csv", "movieId,link\n"),
            "unknown-column" => File("pairs.csv", "entity,link\na,b\n"),
            _ => Path.Combine(_dir, "nope.csv"),
        };
        var (code, _, error) = await ConsoleRun.RunAsync("train", "--model", "link", "--pairs", path, "--entity-column", "movieId", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains(fragment, error);
        Assert.Contains(Path.GetFileName(path), error);
    }

    [Theory]
    [InlineData(new[] { "--model", "bogus", "--ratings", "x.csv" }, "Unknown model 'bogus'. Valid models: dot, dot-bias, mf, bpr, link, tabular.")]
    [InlineData(new[] { "--model", "mf" }, "--ratings is required for model mf.")]
    [InlineData(new[] { "--model", "link" }, "--pairs is required for model link.")]
    [InlineData(new[] { "--model", "link", "--pairs", "x.csv", "--freeze", "both" }, "--freeze 'both' must be entities or links.")]
    [InlineData(new[] { "--model", "link", "--pairs", "x.csv", "--score", "l1" }, "Unknown score 'l1'. Valid scores: dot, cosine.")]
    [InlineData(new[] { "--model", "mf", "--ratings", "x.csv", "--wire", "fp8" }, "--wire 'fp8' is not a wire format: f32 or bf16.")]
    [InlineData(new[] { "--model", "link", "--pairs", "x.csv", "--wire", "bf16" }, "--wire bf16 applies to rating models (dot, dot-bias, mf); model link sends float32.")]
    public async Task Bad_options_exit_2_naming_the_option(string[] args, string message)
    {
        var (code, _, error) = await ConsoleRun.RunAsync(["train", .. args]);
        Assert.Equal(2, code);
        Assert.Equal($"error: {message}", error.Trim());
    }

    [Theory]
    [InlineData(new[] { "--model", "link", "--pairs", "x.csv" }, "embed cv cross-validates rating models (dot, dot-bias, mf, bpr); not link.")]
    [InlineData(new[] { "--model", "mf", "--ratings", "x.csv", "--plot", "c.png" }, "embed cv makes its own validation folds and draws no curve: leave out --validation-file and --plot.")]
    public async Task Cross_validation_refuses_what_it_cannot_do(string[] args, string message)
    {
        var (code, _, error) = await ConsoleRun.RunAsync(["cv", .. args]);
        Assert.Equal(2, code);
        Assert.Equal($"error: {message}", error.Trim());
    }
}
