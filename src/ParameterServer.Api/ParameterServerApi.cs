using Grpc.Core;
using ParameterServer.Abstractions;
using ParameterServer.Api.V1;
using ParameterServer.Client;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Api;

/// <summary>
/// The gRPC API (<c>parameter_server.v1.ParameterServer</c>) over the silo's own grain client: every call becomes the
/// same client calls the console makes, with the same checks and messages. Tables here; rows and queries in the
/// other parts of this class.
/// </summary>
public sealed partial class ParameterServerApi(ParameterServerClient ps, ApiOptions options) : V1.ParameterServer.ParameterServerBase
{
    /// <inheritdoc/>
    public override Task<ListTablesResponse> ListTables(ListTablesRequest request, ServerCallContext context) =>
        ApiCalls.Run("ListTables", request, async () =>
        {
            // Described in parallel: each description asks every shard of its table for its row count.
            var described = await Task.WhenAll((await ps.ListTablesAsync()).Select(async name =>
            {
                try
                {
                    return await ps.DescribeAsync(name);
                }
                catch (KeyNotFoundException)
                {
                    return null; // dropped between the list and its description
                }
            }));
            var response = new ListTablesResponse();
            response.Tables.AddRange(described.OfType<TableInfo>().Select(Describe));
            return response;
        });

    /// <inheritdoc/>
    public override Task<V1.Table> DescribeTable(DescribeTableRequest request, ServerCallContext context) =>
        ApiCalls.Run("DescribeTable", request, async () =>
        {
            await ps.OpenTableAsync(request.Table); // NotFound with the list of tables
            return Describe(await ps.DescribeAsync(request.Table));
        });

    /// <inheritdoc/>
    public override Task<V1.Table> CreateTable(CreateTableRequest request, ServerCallContext context) =>
        ApiCalls.Run("CreateTable", request, async () =>
        {
            // A field left at zero takes the table's own default, as the console's table create does.
            var d = new TableSpec { Name = request.Table, Dim = request.Dim };
            var optimizer = request.Optimizer switch
            {
                V1.Optimizer.Sgd => OptimizerKind.Sgd,
                V1.Optimizer.Adagrad => OptimizerKind.Adagrad,
                V1.Optimizer.Adam => OptimizerKind.Adam,
                V1.Optimizer.Unspecified => d.Optimizer,
                _ => throw new ArgumentException($"Table '{request.Table}': optimizer {(int)request.Optimizer} is not one of SGD, ADAGRAD, ADAM."),
            };
            var spec = d with
            {
                Shards = request.Shards == 0 ? d.Shards : request.Shards,
                Optimizer = optimizer,
                LearningRate = request.LearningRate == 0 ? d.LearningRate : request.LearningRate,
                WeightDecay = request.WeightDecay,
                Initializer = request.Initializer switch
                {
                    V1.Initializer.Normal => InitializerKind.Normal,
                    V1.Initializer.Uniform => InitializerKind.Uniform,
                    V1.Initializer.Zeros => InitializerKind.Zeros,
                    V1.Initializer.Unspecified => d.Initializer,
                    _ => throw new ArgumentException($"Table '{request.Table}': initializer {(int)request.Initializer} is not one of NORMAL, UNIFORM, ZEROS."),
                },
                InitScale = request.InitScale == 0 ? d.InitScale : request.InitScale,
                Seed = request.Seed == 0 ? d.Seed : request.Seed,
                Epsilon = OptimizerSettings.DefaultEpsilon(optimizer),
            };
            await ps.CreateTableAsync(spec);
            return Describe(await ps.DescribeAsync(spec.Name));
        });

    private static V1.Table Describe(TableInfo info)
    {
        var table = new V1.Table
        {
            Name = info.Spec.Name,
            Dim = info.Spec.Dim,
            Shards = info.Spec.Shards,
            Optimizer = info.Spec.Optimizer switch
            {
                OptimizerKind.Sgd => V1.Optimizer.Sgd,
                OptimizerKind.Adagrad => V1.Optimizer.Adagrad,
                _ => V1.Optimizer.Adam,
            },
            LearningRate = info.Spec.LearningRate,
            WeightDecay = info.Spec.WeightDecay,
            Rows = info.Rows,
            Bytes = info.Bytes,
            OptimizerSteps = info.OptimizerSteps,
        };
        table.Metadata.Add(info.Metadata);
        return table;
    }
}
