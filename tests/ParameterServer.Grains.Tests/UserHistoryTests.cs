using ParameterServer.Abstractions;

namespace ParameterServer.Grains.Tests;

/// <summary>A bucket of user histories: adds merge into distinct ascending items, bad calls change nothing, clear forgets.</summary>
[Collection(ClusterCollection.Name)]
public sealed class UserHistoryTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Adds_merge_into_distinct_ascending_items_and_clear_forgets()
    {
        var bucket = fixture.Grains.GetGrain<IUserHistoryGrain>(UserHistory.Key(ClusterFixture.UniqueName("hist"), 3));
        await bucket.Add([7, 7, 8, 7], [30, 10, 5, 30]);
        await bucket.Add([7], [20]);
        Assert.Equal(new long[] { 10, 20, 30 }, await bucket.Items(7));
        Assert.Equal(new long[] { 5 }, await bucket.Items(8));
        Assert.Empty(await bucket.Items(9));
        Assert.Equal((2, 4L), await bucket.Count());

        var bad = await Assert.ThrowsAsync<ArgumentException>(() => bucket.Add([7, 8], [1]));
        Assert.Contains("2 users and 1 items", bad.Message, StringComparison.Ordinal);
        Assert.Equal(new long[] { 10, 20, 30 }, await bucket.Items(7));

        await bucket.Clear();
        Assert.Empty(await bucket.Items(7));
        Assert.Equal((0, 0L), await bucket.Count());
    }

    [Fact]
    public async Task The_client_routes_each_user_to_its_bucket()
    {
        string job = ClusterFixture.UniqueName("hist-job");
        long[] users = [.. Enumerable.Range(1, 500).Select(i => (long)i)];
        await fixture.Client.RecordHistoryAsync(job, [.. users, .. users], [.. users.Select(u => u * 10), .. users.Select(u => (u * 10) + 1)]);
        foreach (long u in users.Take(20))
        {
            Assert.Equal(new[] { u * 10, (u * 10) + 1 }, await fixture.Client.HistoryAsync(job, u));
        }

        long held = 0;
        for (int b = 0; b < UserHistory.Buckets; b++)
        {
            held += (await fixture.Grains.GetGrain<IUserHistoryGrain>(UserHistory.Key(job, b)).Count()).Users;
        }

        Assert.Equal(500, held);
        await fixture.Client.ClearHistoryAsync(job);
        Assert.Empty(await fixture.Client.HistoryAsync(job, 1));
    }
}
