using ParameterServer.Client.Training;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Client.Tests;

/// <summary>
/// A rating job on tables that exist resumes from them with their model (its stored mean, not the new data's), refuses
/// another model or other optimizer settings with a message that names both and --fresh, changing no row, and with
/// Fresh drops them and starts over.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ResumeTrainingTests(ClusterFixture fixture)
{
    private const string Prefix = "resume-job";

    private static TrainingOptions Options(RatingModelKind model = RatingModelKind.Mf, OptimizerKind optimizer = OptimizerKind.Adam, float lr = 0.005f, bool fresh = false) => new()
    {
        Model = model,
        Dim = 4,
        Epochs = 1,
        BatchSize = 256,
        Optimizer = optimizer,
        LearningRate = lr,
        Workers = 1,
        Seed = 3,
        TablePrefix = Prefix,
        Shards = 2,
        Fresh = fresh,
    };

    [Fact]
    public async Task A_job_on_existing_tables_resumes_with_their_model_and_refuses_other_settings()
    {
        var first = new RatingModel(RatingModelKind.Mf, 0.5f, 5f, 3.5f);
        var tables = await RatingTables.CreateAsync(fixture.Client, Options(), first);
        long[] ids = [1, 2, 3];
        await tables.Users.PushAsync(ids, Enumerable.Repeat(0.1f, ids.Length * 4).ToArray());
        var rows = await RowsAsync();

        // Same settings, other data: the stored model (mean 3.5) stays, and so do the rows.
        var resumed = await RatingTables.CreateAsync(fixture.Client, Options(), new RatingModel(RatingModelKind.Mf, 1f, 4f, 2.25f));
        Assert.Equal(3.5f, resumed.Model.Mean);
        Assert.Equal(0.5f, resumed.Model.Min);
        Assert.Equal(rows, await RowsAsync());

        // Another model, another optimizer or rate: refused, naming what is stored, what was asked and --fresh.
        var model = await Assert.ThrowsAsync<ArgumentException>(() => RatingTables.CreateAsync(fixture.Client, Options(RatingModelKind.Dot), new RatingModel(RatingModelKind.Dot, 1f, 4f, 2.25f)));
        Assert.Contains("'mf'", model.Message);
        Assert.Contains("--fresh", model.Message);
        var sgd = await Assert.ThrowsAsync<ArgumentException>(() => RatingTables.CreateAsync(fixture.Client, Options(optimizer: OptimizerKind.Sgd, lr: 0.01f), first));
        Assert.Contains("adam lr 0.005", sgd.Message);
        Assert.Contains("sgd lr 0.01", sgd.Message);
        Assert.Contains("--fresh", sgd.Message);
        Assert.Equal(rows, await RowsAsync());
        Assert.Equal(3.5, await fixture.Client.GetNumberAsync(RatingTables.ItemTable(Prefix), "mean"));

        // Fresh: dropped and created again with the new settings and the new data's model.
        var fresh = await RatingTables.CreateAsync(fixture.Client, Options(optimizer: OptimizerKind.Sgd, lr: 0.01f, fresh: true), new RatingModel(RatingModelKind.Mf, 1f, 4f, 2.25f));
        Assert.Equal(OptimizerKind.Sgd, fresh.Users.Spec.Optimizer);
        Assert.Equal(2.25f, fresh.Model.Mean);
        Assert.Equal(0, (await fixture.Client.DescribeAsync(RatingTables.UserTable(Prefix))).Rows);
    }

    [Fact]
    public async Task Drop_by_prefix_drops_the_tables_of_one_job_and_nothing_else()
    {
        string job = ClusterFixture.UniqueName("drop-job");
        foreach (string name in new[] { $"{job}.users", $"{job}.items", $"{job}x.users", job })
        {
            await fixture.Client.CreateTableAsync(new Abstractions.TableSpec { Name = name, Dim = 2, Shards = 1 });
        }

        Assert.Equal([$"{job}.items", $"{job}.users"], await fixture.Client.DropPrefixAsync(job));
        string[] left = await fixture.Client.ListTablesAsync();
        Assert.DoesNotContain($"{job}.users", left);
        Assert.DoesNotContain($"{job}.items", left);
        Assert.Contains($"{job}x.users", left); // another job whose name merely starts the same
        Assert.Contains(job, left);             // the table named like the prefix itself
        Assert.Empty(await fixture.Client.DropPrefixAsync(job));
        Assert.Throws<ArgumentException>(() => fixture.Client.DropPrefixAsync("").GetAwaiter().GetResult());
    }

    private async Task<long[]> RowsAsync() =>
        [.. await Task.WhenAll(new[] { "users", "items", "user_bias", "item_bias" }.Select(async t => (await fixture.Client.DescribeAsync($"{Prefix}.{t}")).Rows))];
}
