using ParameterServer.Abstractions;


namespace ParameterServer.Grains.Tests;

/// <summary>
/// A table grain's fan-out (describe, snapshot) racing shards that activate: an activating shard asks its table for
/// the spec while the table may be awaiting that shard. Before <c>ITableGrain.Get</c> interleaved, this deadlocked
/// until the response timeout (found by two trainers starting on the same tables).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TableFanOutTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Describe_and_snapshot_complete_while_every_shard_is_activating()
    {
        // Well below the 20 s response timeout: a deadlock shows as a timeout here, not as a slow pass.
        var deadline = TimeSpan.FromSeconds(10);
        for (int round = 0; round < 10; round++)
        {
            var table = await fixture.Client.CreateTableAsync(new TableSpec { Name = ClusterFixture.UniqueName("fanout"), Dim = 4, Shards = 16 });
            var grain = fixture.Grains.GetGrain<ITableGrain>(table.Spec.Name);
            long[] ids = [.. Enumerable.Range(0, 256).Select(i => (long)i * 7919)];
            var pull = table.PullAsync(ids, new float[ids.Length * 4]);
            var describe = grain.Describe();
            var snapshot = grain.Snapshot();
            await Task.WhenAll(pull, describe, snapshot).WaitAsync(deadline);
            var info = await grain.Describe().WaitAsync(deadline);
            Assert.Equal(ids.Length, info.Rows);
        }
    }
}
