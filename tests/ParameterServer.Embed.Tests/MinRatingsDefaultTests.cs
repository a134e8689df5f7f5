using ParameterServer.Abstractions;
using ParameterServer.Embed.Commands;

namespace ParameterServer.Embed.Tests;

/// <summary>--min-ratings: given, it is used as is; not given, it filters only where the table has training counts.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MinRatingsDefaultTests(ClusterFixture fixture)
{
    [Fact]
    public async Task The_default_filters_only_tables_with_training_counts()
    {
        var table = await fixture.Client.CreateTableAsync(new TableSpec { Name = ClusterFixture.UniqueName("minr"), Dim = 2, Shards = 1 });
        Assert.Equal(0, await QueryCommand.ResolveMinRatings(fixture.Client, table.Spec.Name, null));
        Assert.Equal(0, await QueryCommand.ResolveMinRatings(fixture.Client, "no-such-table", null));
        await fixture.Client.SetTextAsync(table.Spec.Name, TrainingCounts.MetadataKey, TrainingCounts.TableOf(table.Spec.Name));
        Assert.Equal(QueryCommand.DefaultMinRatings, await QueryCommand.ResolveMinRatings(fixture.Client, table.Spec.Name, null));
        Assert.Equal(0, await QueryCommand.ResolveMinRatings(fixture.Client, table.Spec.Name, 0));
        Assert.Equal(12, await QueryCommand.ResolveMinRatings(fixture.Client, table.Spec.Name, 12));
        await Assert.ThrowsAsync<ArgumentException>(() => QueryCommand.ResolveMinRatings(fixture.Client, table.Spec.Name, -1));
        Assert.Contains("--min-ratings 0 shows every row", QueryCommand.MinRatingsNote(null, 5), StringComparison.Ordinal);
        Assert.Null(QueryCommand.MinRatingsNote(5, 5));
        Assert.Null(QueryCommand.MinRatingsNote(null, 0));
    }
}
