using ParameterServer.Core.Data;
using ParameterServer.Core.Hashing;
using ParameterServer.Core.Metrics;

namespace ParameterServer.Core.Tests;

public sealed class TabularReaderTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Temp(string content) => _files.Write(content);

    private static TabularReaderOptions Options(string categorical, string? numeric, string target, TabularTask task = TabularTask.Regression, params string[] derive) => new()
    {
        Schema = new TabularSchema
        {
            Categorical = TabularSchema.ParseCategorical(categorical, 8),
            Numeric = TabularSchema.ParseNumeric(numeric),
            Target = target,
            Task = task,
        },
        Derived = [.. derive.Select(DerivedColumn.Parse)],
    };

    [Fact]
    public void Reads_categorical_values_as_hashed_trimmed_text_with_labels_numerics_and_targets()
    {
        string path = Temp("\uFEFFCity ,kind,temp,y\n\"Paris, FR\",a, 12.5,1\n Oslo ,b,-3,0.5\n\n\"Paris, FR\",b,1e1,2\n");
        var d = TabularReader.Read(path, Options("city:4,kind:2", "temp", "y"));
        Assert.Equal(3, d.Count);
        Assert.Equal([StableHash.Of("Paris, FR"), StableHash.Of("Oslo"), StableHash.Of("Paris, FR")], d.Categories[0]);
        Assert.Equal([StableHash.Of("a"), StableHash.Of("b"), StableHash.Of("b")], d.Categories[1]);
        Assert.Equal([12.5f, -3f, 10f], d.Numeric);
        Assert.Equal([1f, 0.5f, 2f], d.Targets);
        Assert.Equal(new Dictionary<long, string> { [StableHash.Of("Paris, FR")] = "Paris, FR", [StableHash.Of("Oslo")] = "Oslo" }, d.Labels[0]);
        Assert.Equal(4 + 2 + 1, d.Schema.InputWidth);
    }

    [Theory]
    [InlineData("1", 1f)]
    [InlineData("0", 0f)]
    [InlineData("true", 1f)]
    [InlineData("False", 0f)]
    [InlineData("1.0", 1f)]
    public void Binary_targets_are_0_1_or_true_false(string text, float expected)
    {
        string path = Temp($"a,t\nx,{text}\n");
        Assert.Equal([expected], TabularReader.Read(path, Options("a", null, "t", TabularTask.Binary)).Targets);
    }

    [Fact]
    public void Derived_time_columns_come_from_unix_seconds_or_iso_dates()
    {
        // 964982703 = 2000-07-30 18:45:03 UTC (a Sunday); 1493846415 = 2017-05-03 21:20:15 UTC (a Wednesday).
        string path = Temp("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,1493846415\n2,3,3.0,2019-12-31T23:30:00Z\n");
        var d = TabularReader.Read(path, Options("userId,movieId,year:4,wd:2", "hour", "rating", TabularTask.Regression, "year=year(timestamp)", "wd = weekday(3)", "hour=hour(timestamp)"));
        Assert.Equal([StableHash.Of("2000"), StableHash.Of("2017"), StableHash.Of("2019")], d.Categories[2]);
        Assert.Equal([StableHash.Of("0"), StableHash.Of("3"), StableHash.Of("2")], d.Categories[3]);
        Assert.Equal([18f, 21f, 23f], d.Numeric);
        Assert.Equal("2017", d.Labels[2][StableHash.Of("2017")]);
    }

    [Theory]
    [InlineData("year", "is not name=function(column)")]
    [InlineData("y=year timestamp", "is not name=function(column)")]
    [InlineData("y=decade(timestamp)", "unknown function 'decade'. Valid functions: year, month, weekday, hour")]
    public void Derived_column_specs_that_do_not_parse_show_the_form(string spec, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => DerivedColumn.Parse(spec));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_derived_column_that_is_no_time_stamp_or_clashes_with_the_header_is_an_error()
    {
        string path = Temp("u,ts,y\n1,964982703,1\n2,soon,2\n");
        var e = Assert.Throws<DataFormatException>(() => TabularReader.Read(path, Options("u,year", null, "y", TabularTask.Regression, "year=year(ts)")));
        Assert.Contains($"{path}:3: 'soon' in column 'ts' (column 1) is no time stamp", e.Message, StringComparison.Ordinal);
        var clash = Assert.Throws<ArgumentException>(() => TabularReader.Read(path, Options("u", null, "y", TabularTask.Regression, "ts=year(ts)")));
        Assert.Contains("the file already has a column 'ts'", clash.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<DataFormatException>(() => TabularReader.Read(path, Options("u,decade", null, "y", TabularTask.Regression, "year=year(ts)")));
        Assert.Contains("no categorical column 'decade'; the header has: u, ts, y; --derive adds: year", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skip_bad_rows_counts_and_skips_malformed_lines()
    {
        string path = Temp("a,x,y\np,1,1\nq,oops,2\nr,3\ns,NaN,4\nt,5,5\n");
        var d = TabularReader.Read(path, Options("a", "x", "y") with { SkipBadRows = true });
        Assert.Equal(3, d.SkippedRows);
        Assert.Equal([1f, 5f], d.Targets);
        var e = Assert.Throws<DataFormatException>(() => TabularReader.Read(Temp("a,x,y\nq,oops,2\n"), Options("a", "x", "y") with { SkipBadRows = true }));
        Assert.Contains("no valid rows (1 malformed rows skipped)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ratings_file_read_as_a_table_splits_into_the_same_rows_as_the_ratings_reader()
    {
        var rng = new Random(4);
        var lines = Enumerable.Range(0, 997).Select(_ => $"{rng.Next(1, 60)},{rng.Next(1, 300)},{rng.Next(1, 11) / 2.0:0.0},{rng.Next(900_000_000, 1_500_000_000)}");
        string path = Temp("userId,movieId,rating,timestamp\n" + string.Join("\n", lines) + "\n");
        var (rTrain, rValid) = RatingsReader.Read(path).Split(0.2, 42);
        var (tTrain, tValid) = TabularReader.Read(path, Options("userId:4,movieId:4,year:2", null, "rating", TabularTask.Regression, "year=year(timestamp)")).Split(0.2, 42);
        Assert.Equal((rTrain.Count, rValid.Count), (tTrain.Count, tValid.Count));
        Assert.Equal(rValid.Users.Select(u => StableHash.Of(u.ToString(System.Globalization.CultureInfo.InvariantCulture))), tValid.Categories[0]);
        Assert.Equal(rValid.Items.Select(i => StableHash.Of(i.ToString(System.Globalization.CultureInfo.InvariantCulture))), tValid.Categories[1]);
        Assert.Equal(rValid.Values, tValid.Targets);
        Assert.Equal(rTrain.Values, tTrain.Targets);
    }

    [Fact]
    public void Standardization_uses_the_moments_it_is_given_and_a_constant_column_keeps_its_scale()
    {
        var schema = new TabularSchema { Categorical = [new("a", 1)], Numeric = ["x", "c"], Target = "y" };
        var d = new TabularData(schema, [[1, 2, 3, 4]], [1, 7, 2, 7, 3, 7, 6, 7], [0, 0, 0, 0], [new Dictionary<long, string>()]);
        var s = d.NumericMoments();
        Assert.Equal(3f, s.Mean[0], 1e-5);
        Assert.Equal((float)Math.Sqrt(3.5), s.Std[0], 1e-5);
        Assert.Equal((7f, 1f), (s.Mean[1], s.Std[1]));
        var z = d.Standardized(s).Numeric;
        Assert.Equal(0f, z.Where((_, i) => i % 2 == 0).Sum(), 1e-5);
        Assert.All(z.Where((_, i) => i % 2 == 1), v => Assert.Equal(0f, v));
        Assert.Equal((6 - 3) / (float)Math.Sqrt(3.5), z[6], 1e-5);
    }

    [Fact]
    public void Binary_metrics_match_their_definitions()
    {
        float[] p = [0.9f, 0.8f, 0.3f, 0.3f, 0.6f, 0.1f];
        float[] y = [1, 0, 1, 0, 1, 0];
        Assert.Equal(4.0 / 6, BinaryMetrics.Accuracy(p, y), 12);
        double logLoss = -(Math.Log(0.9) + Math.Log(0.2) + Math.Log(0.3) + Math.Log(0.7) + Math.Log(0.6) + Math.Log(0.9)) / 6;
        Assert.Equal(logLoss, BinaryMetrics.LogLoss(p, y), 1e-6);

        // Pairs (positive, negative): 0.9 beats all 3; 0.3 ties 0.3, beats 0.1, loses to 0.8; 0.6 beats 0.3 and 0.1.
        Assert.Equal((3 + 1.5 + 2) / 9.0, BinaryMetrics.Auc(p, y), 12);
        Assert.Equal(0.5, BinaryMetrics.Auc(p, [1, 1, 1, 1, 1, 1]));
    }
}
