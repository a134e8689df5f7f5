using Grpc.Core;
using ParameterServer.Abstractions;
using ParameterServer.Api.V1;
using ParameterServer.Client.Query;
using ParameterServer.Core.Search;

namespace ParameterServer.Api;

/// <summary>Queries: top-k search from a vector, a key or a label, and recommendations of a rating model.</summary>
public sealed partial class ParameterServerApi
{
    /// <inheritdoc/>
    public override Task<SearchResponse> Search(V1.SearchRequest request, ServerCallContext context) =>
        ApiCalls.Run("Search", request, async () =>
        {
            int k = request.K == 0 ? 10 : request.K;
            var metric = request.Metric switch
            {
                Metric.Unspecified or Metric.Cosine => SimilarityMetric.Cosine,
                Metric.Dot => SimilarityMetric.Dot,
                Metric.Euclidean => SimilarityMetric.Euclidean,
                _ => throw new ArgumentException($"Search of table '{request.Table}': metric {(int)request.Metric} is not one of COSINE, DOT, EUCLIDEAN."),
            };
            QueryTarget target;
            switch (request.QueryCase)
            {
                case V1.SearchRequest.QueryOneofCase.Vector:
                    var table = await ps.OpenTableAsync(request.Table);
                    target = QueryTarget.ByVector(WireArrays.Floats(request.Vector, table.Dim, $"Search of table '{request.Table}': the query vector of dim {table.Dim}"));
                    break;
                case V1.SearchRequest.QueryOneofCase.Key:
                    target = QueryTarget.ById(request.Key);
                    break;
                case V1.SearchRequest.QueryOneofCase.Label:
                    target = QueryTarget.ByLabel(request.Label);
                    break;
                default:
                    throw new ArgumentException($"Search of table '{request.Table}': give a vector, a key or a label.");
            }

            var found = await new QueryClient(ps).NearestAsync(request.Table, target, k, metric, request.ExcludeSelf, request.MinUpdates, request.MinCount);
            var response = new SearchResponse { QueryId = found.QueryId ?? 0 };
            response.Hits.Add(found.Hits.Select(Hit));
            return response;
        });

    /// <inheritdoc/>
    public override Task<RecommendResponse> Recommend(RecommendRequest request, ServerCallContext context) =>
        ApiCalls.Run("Recommend", request, async () =>
        {
            if (request.Seen.Count > QueryLimits.MaxExclude)
            {
                throw new TooManyIdsException($"Recommend for user {request.User}: {request.Seen.Count:N0} seen items; at most {QueryLimits.MaxExclude:N0}.");
            }

            var rec = await Recommender.RecommendAsync(ps, request.TablePrefix, request.User, request.K == 0 ? 10 : request.K, [.. request.Seen], request.MinUpdates, request.MinCount);
            var response = new RecommendResponse();
            response.Hits.Add(rec.Hits.Select(Hit));
            response.Predicted.Add(rec.Predicted);
            return response;
        });

    private static Hit Hit(SearchHit h) => new() { Rank = h.Rank, Id = h.Id, Score = h.Score, Label = h.Label ?? "" };
}
