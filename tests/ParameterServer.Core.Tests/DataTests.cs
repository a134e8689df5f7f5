using ParameterServer.Core.Data;

namespace ParameterServer.Core.Tests;

public sealed class DataTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (string f in _files)
        {
            File.Delete(f);
        }
    }

    private string Temp(string content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"ps-core-tests-{Guid.NewGuid():N}.csv");
        _files.Add(path);
        File.WriteAllText(path, content);
        return path;
    }

    private static (long U, long I, float R)[] Triples(Ratings r) => Enumerable.Range(0, r.Count).Select(i => (r.Users[i], r.Items[i], r.Values[i])).ToArray();

    [Fact]
    public void ReadsMovieLensFormat()
    {
        string path = Temp("userId,movieId,rating,timestamp\n1,1,4.0,964982703\r\n1,3,4.5,964981247\n\n610,170875,0.5,1493846415\n");
        var r = RatingsReader.Read(path);
        Assert.Equal([(1L, 1L, 4.0f), (1L, 3L, 4.5f), (610L, 170875L, 0.5f)], Triples(r));
        Assert.Equal(0, r.SkippedRows);
        var (mean, min, max) = r.Summary();
        Assert.Equal(3.0f, mean, 1e-5);
        Assert.Equal(0.5f, min);
        Assert.Equal(4.5f, max);
    }

    [Theory]
    [InlineData('\t')]
    [InlineData(';')]
    public void ReadsHeaderlessTriplesByIndexWithCustomDelimiter(char d)
    {
        string path = Temp($"3{d}x{d}7{d}2.5\n-4{d}y{d}9000000000{d}1e0\n");
        var r = RatingsReader.Read(path, new RatingsReaderOptions { Delimiter = d, HasHeader = false, UserColumn = "0", ItemColumn = "2", RatingColumn = "3" });
        Assert.Equal([(3L, 7L, 2.5f), (-4L, 9000000000L, 1f)], Triples(r));
    }

    [Fact]
    public void ReadsColumnsByNameInAnotherOrder()
    {
        string path = Temp("\uFEFFscore;Item;extra;User\n5;20;a;10\n1.5;21;b;11\n");
        var r = RatingsReader.Read(path, new RatingsReaderOptions { Delimiter = ';', UserColumn = "user", ItemColumn = "item", RatingColumn = "score" });
        Assert.Equal([(10L, 20L, 5f), (11L, 21L, 1.5f)], Triples(r));
    }

    [Theory]
    [InlineData("1,2\n", "expected at least")]
    [InlineData("x,2,3.0,0\n", "user id 'x'")]
    [InlineData("1,2.5,3.0,0\n", "item id '2.5'")]
    [InlineData("1,2,abc,0\n", "rating 'abc'")]
    [InlineData("1,2,NaN,0\n", "rating 'NaN'")]
    [InlineData("1,2,Infinity,0\n", "finite")]
    [InlineData("1,\"2,3.0,0\n", "unclosed quote")]
    public void MalformedLineNamesFileAndLine(string bad, string problem)
    {
        string path = Temp("userId,movieId,rating,timestamp\n1,1,4.0,0\n2,2,3.0,0\n" + bad + "3,3,1.0,0\n");
        var ex = Assert.Throws<DataFormatException>(() => RatingsReader.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(":4:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, ex.Line);
        Assert.Equal(path, ex.Path);
    }

    [Fact]
    public void SkipBadRowsSkipsAndCounts()
    {
        string path = Temp("userId,movieId,rating,timestamp\n1,1,4.0,0\n1,2\nx,2,3.0,0\n2,2,abc,0\n2,3,NaN,0\n5,6,2.0,0\n");
        var r = RatingsReader.Read(path, new RatingsReaderOptions { SkipBadRows = true });
        Assert.Equal(4, r.SkippedRows);
        Assert.Equal([(1L, 1L, 4.0f), (5L, 6L, 2.0f)], Triples(r));

        string allBad = Temp("userId,movieId,rating\nx,1,1\n");
        var ex = Assert.Throws<DataFormatException>(() => RatingsReader.Read(allBad, new RatingsReaderOptions { SkipBadRows = true }));
        Assert.Contains("1 malformed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFilesThrow()
    {
        string empty = Temp(string.Empty);
        var ex = Assert.Throws<DataFormatException>(() => RatingsReader.Read(empty));
        Assert.Contains(empty, ex.Message, StringComparison.Ordinal);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
        Assert.Throws<DataFormatException>(() => RatingsReader.Read(empty, new RatingsReaderOptions { HasHeader = false, UserColumn = "0", ItemColumn = "1", RatingColumn = "2" }));
        Assert.Throws<DataFormatException>(() => RatingsReader.Read(Temp("userId,movieId,rating\n")));
    }

    [Fact]
    public void MissingHeaderColumnListsTheHeader()
    {
        string path = Temp("user,movie,stars\n1,2,3\n");
        var ex = Assert.Throws<DataFormatException>(() => RatingsReader.Read(path));
        Assert.Contains("userId", ex.Message, StringComparison.Ordinal);
        Assert.Contains("user, movie, stars", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);

        // Without a header, a column must be an index.
        ex = Assert.Throws<DataFormatException>(() => RatingsReader.Read(path, new RatingsReaderOptions { HasHeader = false }));
        Assert.Contains("0-based", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileThrowsFileNotFound()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ps-core-missing-{Guid.NewGuid():N}.csv");
        var ex = Assert.Throws<FileNotFoundException>(() => RatingsReader.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => TitlesReader.Read(path));
    }

    [Fact]
    public void TitlesReaderHandlesQuotedTitles()
    {
        string path = Temp("movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n12,\"Say \"\"Hi\"\" (2000)\",Drama\n\n13,NoGenres\n");
        var titles = TitlesReader.Read(path);
        Assert.Equal(4, titles.Count);
        Assert.Equal("Toy Story (1995)", titles[1]);
        Assert.Equal("American President, The (1995)", titles[11]);
        Assert.Equal("Say \"Hi\" (2000)", titles[12]);
        Assert.Equal("NoGenres", titles[13]);

        string bad = Temp("movieId,title\nabc,Title\n");
        var ex = Assert.Throws<DataFormatException>(() => TitlesReader.Read(bad));
        Assert.Contains(bad + ":2:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1000, 5)]
    [InlineData(1003, 3)]
    [InlineData(10, 10)]
    public void Folds_validate_every_row_exactly_once_and_the_last_of_five_is_the_plain_split(int count, int folds)
    {
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 50, Items: 40, Count: count, Seed: 3)).Data;
        var splits = data.Folds(folds, 11).ToList();
        Assert.Equal(folds, splits.Count);
        var all = Triples(data).OrderBy(t => t).ToArray();
        Assert.Equal(all, splits.SelectMany(f => Triples(f.Validation)).OrderBy(t => t).ToArray());
        foreach (var (train, validation) in splits)
        {
            Assert.Equal(all, Triples(train).Concat(Triples(validation)).OrderBy(t => t).ToArray());
            Assert.InRange(validation.Count, count / folds, (count / folds) + 1);
        }

        if (folds == 5)
        {
            // Fold 5 of 5 holds out the same rows as the seeded 80/20 split.
            Assert.Equal(Triples(data.Split(0.2, 11).Validation), Triples(splits[4].Validation));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => data.Folds(1, 11).ToList());
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Folds(count + 1, 11).ToList());
    }

    [Fact]
    public void SplitIsADeterministicPartition()
    {
        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 50, Items: 40, Count: 1000, Seed: 3)).Data;
        var (train, val) = data.Split(0.2, 11);
        Assert.InRange(train.Count, 799, 800);
        Assert.Equal(1000, train.Count + val.Count);

        var all = Triples(data).OrderBy(t => t).ToArray();
        Assert.Equal(all, Triples(train).Concat(Triples(val)).OrderBy(t => t).ToArray());

        var (train2, val2) = data.Split(0.2, 11);
        Assert.Equal(Triples(train), Triples(train2));
        Assert.Equal(Triples(val), Triples(val2));
        var (train3, _) = data.Split(0.2, 12);
        Assert.NotEqual(Triples(train), Triples(train3));

        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(1, 1));
        Assert.Throws<ArgumentException>(() => new Ratings([1], [], [1f]));
    }

    [Fact]
    public void SyntheticRatingsAreDeterministic()
    {
        var s = new SyntheticSettings(Users: 30, Items: 20, Count: 5000, LatentDim: 4, Seed: 9);
        var a = SyntheticRatings.Generate(s);
        var b = SyntheticRatings.Generate(s);
        var c = SyntheticRatings.Generate(s with { Seed = 10 });
        Assert.Equal(5000, a.Data.Count);
        Assert.Equal(Triples(a.Data), Triples(b.Data));
        Assert.Equal(a.ItemCluster, b.ItemCluster);
        Assert.NotEqual(Triples(a.Data), Triples(c.Data));
        Assert.All(a.Data.Users, u => Assert.InRange(u, 1, 30));
        Assert.All(a.Data.Items, i => Assert.InRange(i, 1, 20));
        Assert.All(a.Data.Values, v => Assert.True(float.IsFinite(v)));
        Assert.InRange(a.Data.Summary().Mean, 3f, 4f);
        Assert.Throws<ArgumentException>(() => SyntheticRatings.Generate(s with { Count = 0 }));
    }

    [Fact]
    public void ReadsRealMovieLensWhenPresent()
    {
        string? path = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && path is null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "movielens", "ml-latest-small", "ratings.csv");
            if (File.Exists(candidate))
            {
                path = candidate;
            }
        }

        if (path is null)
        {
            return;
        }

        var r = RatingsReader.Read(path);
        Assert.Equal(100836, r.Count);
        Assert.Equal(610, r.Users.Distinct().Count());
        Assert.Equal(0, r.SkippedRows);
        var (_, min, max) = r.Summary();
        Assert.Equal(0.5f, min);
        Assert.Equal(5f, max);
    }
}
