namespace ParameterServer.Embed.Tests;

/// <summary>
/// Errors of the console read as one line each and exit 2: a value of the wrong type or out of range, an unknown
/// option, a data file whose bad field is huge (quoted clipped, not whole), a titles file that is bad (before any
/// training).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleErrorTests
{
    [Fact]
    public async Task A_key_out_of_range_is_an_error_line_not_the_help()
    {
        var (code, stdout, stderr) = await ConsoleRun.RunAsync("query", "--table", "t", "--key", "99999999999999999999");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("error: Cannot parse argument '99999999999999999999' for option '--key' as a whole number from -9223372036854775808 to 9223372036854775807.", stderr, StringComparison.Ordinal);
        Assert.Contains("'embed query --help' lists the options.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approximate_search_options_out_of_place_are_one_line_before_any_silo_starts()
    {
        var (code, stdout, stderr) = await ConsoleRun.RunAsync("query", "--table", "t", "--key", "1", "--approx", "--nprobe", "0");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("error: --nprobe must be between 1 and 65536; got 0.", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await ConsoleRun.RunAsync("query", "--table", "t", "--positive", "a", "--approx");
        Assert.Equal(2, code);
        Assert.Contains("error: --approx searches from a row or a vector; an analogy (--positive) is always exact.", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await ConsoleRun.RunAsync("bench", "query", "--rows", "100", "--approx", "--batch", "64");
        Assert.Equal(2, code);
        Assert.Contains("error: --approx compares single-query searches: --batch must include 1.", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fresh_with_several_worker_processes_is_refused_before_anything_is_dropped()
    {
        var (code, stdout, stderr) = await ConsoleRun.RunAsync("train", "--ratings", "missing.csv", "--fresh", "--worker-count", "2", "--table-prefix", "job");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("error: --fresh with --worker-count 2: every worker process would drop the tables the others train; drop them once first (embed tables drop --prefix job)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_option_names_itself_and_where_help_is()
    {
        var (code, stdout, stderr) = await ConsoleRun.RunAsync("tables", "list", "--clusterr", "x");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("error: Unrecognized command or argument '--clusterr'.", stderr, StringComparison.Ordinal);
        Assert.Contains("'embed tables list --help'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bench_peer_that_is_unknown_or_missing_is_one_line_before_any_silo_starts()
    {
        var (code, stdout, stderr) = await ConsoleRun.RunAsync("bench", "query", "--rows", "100", "--peer", "annoy");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("error: --peer: 'annoy' is not a known peer; the one known is faiss.", stderr, StringComparison.Ordinal);

        (code, stdout, stderr) = await ConsoleRun.RunAsync("bench", "query", "--rows", "100", "--peer", "faiss", "--peer-python", "/nonexistent/python3");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("error: --peer faiss needs a Python 3 with faiss and numpy (/nonexistent/python3 has none)", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("bench:", stderr, StringComparison.Ordinal); // no table was filled, no silo started
    }

    [Fact]
    public async Task A_huge_bad_field_is_quoted_clipped()
    {
        string path = Path.Combine(Path.GetTempPath(), $"huge-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(path, "userId,movieId,rating,timestamp\n1,2," + new string('x', 1_000_000) + ",0\n");
        try
        {
            var (code, _, stderr) = await ConsoleRun.RunAsync("train", "--ratings", path, "--epochs", "1", "--dim", "4");
            Assert.Equal(2, code);
            Assert.Contains($"{path}:2: rating 'xxx", stderr, StringComparison.Ordinal);
            Assert.Contains("(1,000,002 characters)", stderr, StringComparison.Ordinal);
            Assert.True(stderr.Length < 1_000, $"{stderr.Length} characters on stderr");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_bad_titles_file_stops_the_job_before_it_trains()
    {
        string ratings = Path.Combine(Path.GetTempPath(), $"r-{Guid.NewGuid():N}.csv"), titles = Path.Combine(Path.GetTempPath(), $"t-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(ratings, "userId,movieId,rating,timestamp\n1,1,4,0\n2,1,3,0\n1,2,5,0\n2,2,1,0\n");
        await File.WriteAllTextAsync(titles, "movieId,title,genres\n1,\"Toy\nStory\",Animation\n");
        try
        {
            var (code, stdout, stderr) = await ConsoleRun.RunAsync("train", "--ratings", ratings, "--items", titles, "--epochs", "1", "--dim", "4");
            Assert.Equal(2, code);
            Assert.Contains($"{titles}:2:", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("epoch", stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(ratings);
            File.Delete(titles);
        }
    }
}
