using Grpc.Core;
using ParameterServer.Core.Search;

namespace ParameterServer.Api.Tests;

/// <summary>Search over gRPC against brute force; a search names its errors.</summary>
[Collection(ApiCollection.Name)]
public sealed class QueryTests(ApiSilo silo)
{
    [Theory]
    [InlineData(V1.Metric.Cosine, SimilarityMetric.Cosine)]
    [InlineData(V1.Metric.Dot, SimilarityMetric.Dot)]
    [InlineData(V1.Metric.Euclidean, SimilarityMetric.Euclidean)]
    public async Task Search_by_vector_and_by_key_is_the_brute_force_top_k(V1.Metric metric, SimilarityMetric reference)
    {
        const int dim = 6;
        string name = $"api.q-{Guid.NewGuid():N}"[..24];
        await silo.Client.CreateTableAsync(new V1.CreateTableRequest { Table = name, Dim = dim, Shards = 4, InitScale = 1f });
        long[] ids = [.. Enumerable.Range(1, 300).Select(i => (long)i * 31)];
        float[] values = ApiSilo.Floats((await silo.Client.PullAsync(new V1.PullRequest { Table = name, Ids = ApiSilo.Ids(ids) })).Values);
        float[] query = [.. Enumerable.Range(0, dim).Select(j => (float)Math.Cos(j * 1.7))];

        var byVector = await silo.Client.SearchAsync(new V1.SearchRequest { Table = name, Vector = ApiSilo.Floats(query), K = 7, Metric = metric });
        var expected = BruteForceTopK.TopK(ids, values, query, reference, 7);
        Assert.Equal(expected.Select(h => h.Id), byVector.Hits.Select(h => h.Id));

        var byKey = await silo.Client.SearchAsync(new V1.SearchRequest { Table = name, Key = ids[5], K = 5, Metric = metric, ExcludeSelf = true });
        var self = values.AsSpan(5 * dim, dim).ToArray();
        Assert.Equal(BruteForceTopK.TopK(ids, values, self, reference, 5, exclude: [ids[5]]).Select(h => h.Id), byKey.Hits.Select(h => h.Id));
        Assert.Equal(ids[5], byKey.QueryId);

        var e = await Assert.ThrowsAsync<RpcException>(() => silo.Client.SearchAsync(new V1.SearchRequest { Table = name, Vector = ApiSilo.Floats(1, 2), K = 3 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains($"the query vector of dim {dim}", e.Status.Detail, StringComparison.Ordinal);
    }
}
