using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Embed.Commands;

namespace ParameterServer.Embed.Tests;

/// <summary>A rating job on a prefix whose tables exist says what it resumes from; on a new prefix it says nothing.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ResumeNoticeTests(ClusterFixture fixture)
{
    [Fact]
    public async Task The_notice_names_the_tables_the_model_and_fresh()
    {
        string prefix = ClusterFixture.UniqueName("notice");
        Assert.Null(await TrainCommand.ResumedFrom(fixture.Client, prefix));

        var data = SyntheticRatings.Generate(new SyntheticSettings(Users: 20, Items: 15, Count: 300, Seed: 2)).Data;
        var options = new TrainingOptions { Model = RatingModelKind.Mf, Dim = 4, Epochs = 1, BatchSize = 64, Workers = 1, TablePrefix = prefix, Shards = 2, RankK = 0 };
        await new RatingTrainer(fixture.Client, options).TrainAsync(data, data.Select([0]));

        string notice = Assert.IsType<string>(await TrainCommand.ResumedFrom(fixture.Client, prefix));
        Assert.StartsWith($"resuming: tables '{prefix}.*' exist (model mf, 20 users and 15 items with ", notice, StringComparison.Ordinal);
        Assert.EndsWith("training continues from their rows (--fresh drops them first)", notice, StringComparison.Ordinal);
        await fixture.Client.DropPrefixAsync(prefix);
        Assert.Null(await TrainCommand.ResumedFrom(fixture.Client, prefix));
    }
}
