using System.Text.Json;
using ParameterServer.Embed.Commands;

namespace ParameterServer.Embed.Tests;

/// <summary>embed tune: its ranges are checked, it refuses what it cannot do, and a small search reports every trial and the best.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class TuneCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ps-tune-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("0.01,0.001")]
    [InlineData("0,0.1")]
    [InlineData("a,b")]
    [InlineData("0.01")]
    public void A_range_must_be_two_positive_numbers_lowest_first(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => SearchSpace.Range(text, "--lr-range"));
        Assert.StartsWith($"--lr-range '{text}' must be two positive numbers", e.Message, StringComparison.Ordinal);
        Assert.Equal((0.001f, 0.02f), SearchSpace.Range("0.001, 0.02", "--lr-range"));
        Assert.Equal([16, 64], SearchSpace.ParseDims("16,64"));
        Assert.Throws<ArgumentException>(() => SearchSpace.ParseDims("16,x"));
    }

    [Theory]
    [InlineData(new[] { "--model", "link", "--pairs", "x.csv" }, "embed tune searches settings of rating models (dot, dot-bias, mf, bpr); not link.")]
    [InlineData(new[] { "--model", "mf", "--ratings", "x.csv", "--plot", "c.png" }, "embed tune draws no curve: leave out --plot (train the best setting with --plot).")]
    public async Task It_refuses_what_it_cannot_do(string[] args, string message)
    {
        var (code, _, error) = await ConsoleRun.RunAsync(["tune", .. args]);
        Assert.Equal(2, code);
        Assert.Equal($"error: {message}", error.Trim());
    }

    [Fact]
    public async Task A_small_search_reports_every_trial_and_the_best()
    {
        string ratings = Path.Combine(_folder, "r.csv");
        var (gen, _, genError) = await ConsoleRun.RunAsync("generate", "--out", ratings, "--users", "60", "--items", "40", "--ratings", "2000", "--seed", "3");
        Assert.True(gen == 0, genError);
        var (code, stdout, error) = await ConsoleRun.RunAsync("tune", "--ratings", ratings, "--trials", "3", "--epochs", "2", "--dims", "4,8", "--seed", "5", "--json");
        Assert.True(code == 0, error);
        using var report = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var trials = report.RootElement.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(3, trials.Count);
        double best = trials.Min(t => t.GetProperty("validation_rmse").GetDouble());
        Assert.Equal(best, report.RootElement.GetProperty("best").GetProperty("validation_rmse").GetDouble());
        Assert.All(trials, t => Assert.Contains(t.GetProperty("dim").GetInt32(), new[] { 4, 8 }));
        Assert.All(trials, t => Assert.InRange(t.GetProperty("learning_rate").GetDouble(), 0.001, 0.02));
    }
}
