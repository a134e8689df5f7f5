using ParameterServer.Client.Training;
using ParameterServer.Core.Data;

namespace ParameterServer.Client.Tests.Tabular;

/// <summary>
/// Bad tabular input, through the steps <c>embed train --model tabular</c> takes (parse the column options, read
/// the file, split, train): each stops with an error naming what and where, and no table is created or changed.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TabularBadInputTests(ClusterFixture fixture) : IDisposable
{
    private const string Header = "user,item,x,y,label";
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Temp(string content) => _files.Write(content);

    private static string Rows(int n, Func<int, string>? row = null) =>
        Header + "\n" + string.Concat(Enumerable.Range(0, n).Select(i => (row ?? (k => $"u{k % 7},i{k % 5},{k * 0.5},{k % 3}.5,{k % 2}"))(i) + "\n"));

    /// <summary>The steps of the command, in its order.</summary>
    private async Task TrainAsync(string path, string categorical = "user:4,item:3", string? numeric = "x", string target = "y", string task = "regression", string hidden = "8", string prefix = "badtab")
    {
        var schema = new TabularSchema
        {
            Categorical = TabularSchema.ParseCategorical(categorical, 8),
            Numeric = TabularSchema.ParseNumeric(numeric),
            Target = target,
            Task = TabularSchema.ParseTask(task),
        };
        var tabular = new TabularOptions { Hidden = Core.Models.TabularModel.ParseHidden(hidden) };
        var options = new TrainingOptions { Epochs = 1, TablePrefix = prefix, Workers = 1 };
        tabular.Validate(schema, prefix);
        var data = TabularReader.Read(path, new TabularReaderOptions { Schema = schema });
        var (train, valid) = data.Split(0.2, 1);
        await new TabularTrainer(fixture.Client, options, tabular).TrainAsync(train, valid);
    }

    /// <summary>Runs <paramref name="bad"/>, expects <typeparamref name="T"/> whose message holds every part, and checks that the tables are as before.</summary>
    private async Task Refused<T>(Func<Task> bad, params string[] parts)
        where T : Exception
    {
        var before = await Snapshot();
        var e = await Assert.ThrowsAnyAsync<T>(bad);
        foreach (string part in parts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, await Snapshot());
    }

    /// <summary>Every table with its rows and row updates.</summary>
    private async Task<string[]> Snapshot()
    {
        var names = await fixture.Client.ListTablesAsync();
        var figures = new List<string>();
        foreach (string name in names.Order(StringComparer.Ordinal))
        {
            var info = await fixture.Client.DescribeAsync(name);
            figures.Add($"{name}: {info.Rows} rows, {info.OptimizerSteps} updates");
        }

        return [.. figures];
    }

    [Fact]
    public async Task An_unknown_column_names_the_file_and_lists_the_header()
    {
        string path = Temp(Rows(20));
        await Refused<DataFormatException>(() => TrainAsync(path, categorical: "user:4,nope:2"), path + ":1:", "no categorical column 'nope'", "the header has: user, item, x, y, label");
        await Refused<DataFormatException>(() => TrainAsync(path, numeric: "x,z"), "no numeric column 'z'", "the header has:");
        await Refused<DataFormatException>(() => TrainAsync(path, target: "score"), "no target column 'score'");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("")]
    public async Task A_malformed_numeric_value_names_file_line_and_column(string value)
    {
        string path = Temp(Rows(20, k => k == 6 ? $"u1,i1,{value},2.5,1" : $"u{k % 7},i{k % 5},{k * 0.5},{k % 3}.5,{k % 2}"));
        await Refused<DataFormatException>(() => TrainAsync(path), $"{path}:8:", "numeric column 'x' (column 2)", $"'{value}' is not a finite number", "--skip-bad-rows");
    }

    [Fact]
    public async Task An_empty_file_or_a_header_alone_is_refused()
    {
        await Refused<DataFormatException>(() => TrainAsync(Temp("")), "the file is empty; expected a header line");
        await Refused<DataFormatException>(() => TrainAsync(Temp(Header + "\n\n")), "the file holds no rows");
    }

    [Fact]
    public async Task A_file_without_a_header_is_told_so()
    {
        string path = Temp("1,2,0.5,3.5,1\n2,3,1.5,4.5,0\n");
        await Refused<DataFormatException>(() => TrainAsync(path, categorical: "user:4"), "no categorical column 'user'", "looks like data: the file seems to have no header line");
    }

    [Theory]
    [InlineData("user:0", "--categorical 'user:0': the dimension '0' is not a positive integer")]
    [InlineData("user:x", "--categorical 'user:x': the dimension 'x' is not a positive integer")]
    [InlineData("user:4,user:2", "--categorical: column 'user' is given twice")]
    [InlineData("user:4,,item:2", "has an empty entry")]
    [InlineData(":4", "the column name is empty")]
    [InlineData("", "--categorical is empty")]
    [InlineData("user:5000", "--categorical user:5000: the dimension must be in 1..4096")]
    [InlineData("user:4,y:2", "Column 'y' is given to both --categorical and --target")]
    public async Task A_bad_categorical_spec_quotes_the_part_at_fault(string spec, string message)
    {
        string path = Temp(Rows(20));
        await Refused<ArgumentException>(() => TrainAsync(path, categorical: spec), message);
    }

    [Theory]
    [InlineData("2", 5)]
    [InlineData("0.5", 9)]
    [InlineData("yes", 13)]
    public async Task A_binary_target_other_than_0_or_1_names_file_line_and_value(string value, int line)
    {
        string path = Temp(Rows(20, k => k == line - 2 ? $"u1,i1,1.0,2.5,{value}" : $"u{k % 7},i{k % 5},{k * 0.5},{k % 3}.5,{(k % 2 == 0 ? "false" : "true")}"));
        await Refused<DataFormatException>(() => TrainAsync(path, target: "label", task: "binary"), $"{path}:{line}:", "target column 'label' (column 4)", $"'{value}' is not a binary target");
    }

    [Fact]
    public async Task Bad_model_settings_and_table_names_are_refused_before_any_table_exists()
    {
        string path = Temp(Rows(20));
        await Refused<ArgumentException>(() => TrainAsync(path, task: "ordinal"), "Unknown task 'ordinal'. Valid tasks: regression, binary");
        await Refused<ArgumentException>(() => TrainAsync(path, hidden: "8,4,2"), "has 3 layers");
        await Refused<ArgumentException>(() => TrainAsync(path, hidden: "8,0"), "'0' is not a positive layer size");
        await Refused<ArgumentException>(() => TrainAsync(path, hidden: "5000"), "1..4096 units");

        // A column whose table would be the head's.
        string clash = Temp("user,head.bias,y\nu1,a,1\nu2,b,2\nu3,a,3\nu4,b,1\nu5,a,2\n");
        await Refused<ArgumentException>(() => TrainAsync(clash, categorical: "user:2,head.bias:2", numeric: null), "categorical column 'head.bias' and the head's biases would both be table 'badtab.head.bias'");
    }

    [Fact]
    public async Task Data_built_in_code_is_checked_by_the_trainer_too()
    {
        var schema = new TabularSchema { Categorical = [new("a", 2)], Target = "y", Task = TabularTask.Binary };
        var data = new TabularData(schema, [[1, 2, 3, 4, 5]], [], [0, 1, 0.5f, 1, 0], [new Dictionary<long, string>()]);
        var trainer = new TabularTrainer(fixture.Client, new TrainingOptions { TablePrefix = "badtab-code", Epochs = 1 }, new TabularOptions());
        await Refused<ArgumentException>(() => trainer.TrainAsync(data, data), "target 'y' of row 2 is 0.5; a binary task needs 0 or 1");
        var empty = data.Select([]);
        await Refused<ArgumentException>(() => trainer.TrainAsync(data.Select([0, 1]), empty), "The validation set is empty");
    }
}
