using Grpc.Core;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Api.Tests;

/// <summary>Lookup, Pull and Push over gRPC against a scalar reference of the optimizer; bad input changes nothing.</summary>
[Collection(ApiCollection.Name)]
public sealed class RowsTests(ApiSilo silo)
{
    private const int Dim = 5;

    private async Task<string> Create(V1.Optimizer optimizer = V1.Optimizer.Adagrad)
    {
        string name = $"api.rows-{Guid.NewGuid():N}"[..24];
        var table = await silo.Client.CreateTableAsync(new V1.CreateTableRequest
        {
            Table = name,
            Dim = Dim,
            Shards = 3,
            Optimizer = optimizer,
            LearningRate = 0.1f,
            WeightDecay = 0.01f,
            InitScale = 0.1f,
            Seed = 7,
        });
        Assert.Equal(Dim, table.Dim);
        Assert.Equal(0, table.Rows);
        return name;
    }

    private async Task<(float[] Values, byte[] Found)> Lookup(string table, params long[] ids)
    {
        var r = await silo.Client.LookupAsync(new V1.LookupRequest { Table = table, Ids = ApiSilo.Ids(ids) });
        return (ApiSilo.Floats(r.Values), r.Found.ToByteArray());
    }

    [Fact]
    public async Task CreateTable_fields_left_at_zero_take_the_tables_own_defaults()
    {
        string name = $"api.defaults-{Guid.NewGuid():N}"[..24];
        var table = await silo.Client.CreateTableAsync(new V1.CreateTableRequest { Table = name, Dim = Dim });
        var d = new ParameterServer.Abstractions.TableSpec { Name = name, Dim = Dim };
        Assert.Equal((d.Shards, V1.Optimizer.Adam, d.LearningRate, 0f), (table.Shards, table.Optimizer, table.LearningRate, table.WeightDecay));
    }

    [Fact]
    public async Task ListTables_describes_every_table_with_its_rows()
    {
        string a = await Create(), b = await Create(V1.Optimizer.Sgd);
        await silo.Client.PullAsync(new V1.PullRequest { Table = a, Ids = ApiSilo.Ids(1, 2, 3) });
        await silo.Client.PullAsync(new V1.PullRequest { Table = b, Ids = ApiSilo.Ids(4) });

        var tables = (await silo.Client.ListTablesAsync(new V1.ListTablesRequest())).Tables.ToDictionary(t => t.Name);
        Assert.Equal(3, tables[a].Rows);
        Assert.Equal(V1.Optimizer.Adagrad, tables[a].Optimizer);
        Assert.Equal(1, tables[b].Rows);
        Assert.Equal(V1.Optimizer.Sgd, tables[b].Optimizer);
        Assert.All(new[] { tables[a], tables[b] }, t => Assert.Equal((Dim, 3), (t.Dim, t.Shards)));
    }

    [Fact]
    public async Task Lookup_creates_nothing_pull_creates_and_push_applies_the_optimizer_as_the_reference_does()
    {
        string table = await Create();
        var (before, found) = await Lookup(table, 1, 2, 3);
        Assert.Equal(new byte[3], found);
        Assert.All(before, v => Assert.Equal(0f, v));
        Assert.Equal(0, (await silo.Client.DescribeTableAsync(new V1.DescribeTableRequest { Table = table })).Rows);

        // Pull creates the rows (a repeated id is answered twice, created once).
        long[] ids = [3, -9, 3, 1L << 40];
        var pulled = ApiSilo.Floats((await silo.Client.PullAsync(new V1.PullRequest { Table = table, Ids = ApiSilo.Ids(ids) })).Values);
        Assert.Equal(ids.Length * Dim, pulled.Length);
        Assert.Equal(pulled[..Dim], pulled[(2 * Dim)..(3 * Dim)]);
        Assert.Equal(3, (await silo.Client.DescribeTableAsync(new V1.DescribeTableRequest { Table = table })).Rows);
        var (looked, flags) = await Lookup(table, 3, 2);
        Assert.Equal(new byte[] { 1, 0 }, flags);
        Assert.Equal(pulled[..Dim], looked[..Dim]);

        // Push: the repeated id's gradients add up; the server's Adagrad step is the scalar reference's.
        float[] g = [.. Enumerable.Range(0, ids.Length * Dim).Select(i => (float)Math.Sin(i + 1))];
        var pushed = await silo.Client.PushAsync(new V1.PushRequest { Table = table, Ids = ApiSilo.Ids(ids), Gradients = ApiSilo.Floats(g) });
        Assert.Equal(3, pushed.Rows);
        var settings = new OptimizerSettings(OptimizerKind.Adagrad, 0.1f, 0.01f, Epsilon: 1e-10f);
        var (after, _) = await Lookup(table, 3, -9, 1L << 40);
        float[][] expectedGradients =
        [
            [.. g[..Dim].Zip(g[(2 * Dim)..(3 * Dim)], (a, b) => a + b)],
            g[Dim..(2 * Dim)],
            g[(3 * Dim)..],
        ];
        int[] pulledRow = [0, 1, 3];
        for (int r = 0; r < 3; r++)
        {
            double[] w = [.. pulled.AsSpan(pulledRow[r] * Dim, Dim).ToArray().Select(v => (double)v)];
            ScalarReference.Step(settings, w, new double[Dim], expectedGradients[r], 1);
            ScalarReference.AssertClose(w, after.AsSpan(r * Dim, Dim), 1e-5, $"row {r}");
        }
    }

    [Fact]
    public async Task Bad_requests_get_their_status_and_change_no_row()
    {
        string table = await Create();
        long[] ids = [1, 2];
        var start = ApiSilo.Floats((await silo.Client.PullAsync(new V1.PullRequest { Table = table, Ids = ApiSilo.Ids(ids) })).Values);

        async Task<RpcException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

        var e = await Refused(() => silo.Client.PushAsync(new V1.PushRequest { Table = table, Ids = ApiSilo.Ids(ids), Gradients = ApiSilo.Floats(new float[(2 * Dim) - 1]) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains($"expected {2 * Dim} little-endian float32", e.Status.Detail, StringComparison.Ordinal);

        float[] nan = new float[2 * Dim];
        nan[7] = float.NaN;
        e = await Refused(() => silo.Client.PushAsync(new V1.PushRequest { Table = table, Ids = ApiSilo.Ids(ids), Gradients = ApiSilo.Floats(nan) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("NaN", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("No row was changed", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => silo.Client.PullAsync(new V1.PullRequest { Table = table, Ids = Google.Protobuf.ByteString.CopyFrom(new byte[12]) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("not a whole number of little-endian int64", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => silo.Client.PullAsync(new V1.PullRequest { Table = table, Ids = ApiSilo.Ids([.. Enumerable.Range(0, 5001).Select(i => (long)i)]) }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("at most 5,000 (Grpc:MaxIds)", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => silo.Client.LookupAsync(new V1.LookupRequest { Table = "no.such.table", Ids = ApiSilo.Ids(1) }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("Unknown table 'no.such.table'", e.Status.Detail, StringComparison.Ordinal);

        e = await Refused(() => silo.Client.CreateTableAsync(new V1.CreateTableRequest { Table = table, Dim = Dim + 1 }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);

        // Nothing above changed a row or created one.
        var (now, found) = await Lookup(table, 1, 2, 0);
        Assert.Equal(start, now[..(2 * Dim)]);
        Assert.Equal(new byte[] { 1, 1, 0 }, found);
        Assert.Equal(2, (await silo.Client.DescribeTableAsync(new V1.DescribeTableRequest { Table = table })).Rows);
    }

    [Fact]
    public async Task Calls_without_the_token_are_refused()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => silo.ClientWith(null).ListTablesAsync(new V1.ListTablesRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Contains("requires a bearer token", e.Status.Detail, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<RpcException>(() => silo.ClientWith("wrong-token-0123456789").ListTablesAsync(new V1.ListTablesRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.DoesNotContain(ApiSilo.Token, e.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(await silo.Client.ListTablesAsync(new V1.ListTablesRequest()));
    }

    [Fact]
    public async Task A_lookup_of_1024_rows_of_dim_64_carries_at_most_4_dim_plus_32_bytes_a_row()
    {
        string name = $"api.wire-{Guid.NewGuid():N}"[..24];
        await silo.Client.CreateTableAsync(new V1.CreateTableRequest { Table = name, Dim = 64 });
        long[] ids = [.. Enumerable.Range(0, 1024).Select(i => (long)i * 7919)];
        await silo.Client.PullAsync(new V1.PullRequest { Table = name, Ids = ApiSilo.Ids(ids) });
        var request = new V1.LookupRequest { Table = name, Ids = ApiSilo.Ids(ids) };
        var response = await silo.Client.LookupAsync(request);
        Assert.All(response.Found.ToByteArray(), f => Assert.Equal(1, f));
        double perRow = (double)(request.CalculateSize() + response.CalculateSize()) / ids.Length;
        Assert.True(perRow <= (4 * 64) + 32, $"{perRow:F1} bytes per row on the wire");
    }
}
