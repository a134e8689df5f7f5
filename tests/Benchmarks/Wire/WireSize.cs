using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.TestingHost;
using ParameterServer.Abstractions;
using ParameterServer.Grains;

namespace ParameterServer.Benchmarks.Wire;

/// <summary>Serializes a pull request, its response and a push request with the cluster's own serializer and reports bytes per row.</summary>
public static class WireSize
{
    public static async Task PrintAsync(int rows, int dim)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddParameterServer());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var serializer = cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        var rng = new Random(1);
        var ids = Enumerable.Range(0, rows).Select(_ => rng.NextInt64()).ToArray();
        var values = new float[rows * dim];
        var pullRequest = serializer.SerializeToArray(new PullRequest(ids)).Length;
        var pullResponse = serializer.SerializeToArray(RowBlock.From(values, rows, dim)).Length;
        var push = serializer.SerializeToArray(new PushRequest(ids, RowBlock.From(values, rows, dim))).Length;
        var asFloatArray = serializer.SerializeToArray(values).Length;
        Console.WriteLine($"rows {rows}, dim {dim}, random 64-bit ids (worst case for varint ids)");
        Console.WriteLine($"pull: request {pullRequest} B + response {pullResponse} B = {(pullRequest + pullResponse) / (double)rows:F2} B/row (limit 4*dim+16 = {(4 * dim) + 16})");
        Console.WriteLine($"push: request {push} B = {push / (double)rows:F2} B/row (limit {(4 * dim) + 16})");
        Console.WriteLine($"for comparison, the same values as float[]: {asFloatArray / (double)rows:F2} B/row");
    }
}
