using Grpc.Core;
using ParameterServer.Api.V1;
using ParameterServer.Client.Query;

namespace ParameterServer.Api;

/// <summary>Rows: lookup (never creates), pull (creates lazily) and push (the table's optimizer on the server).</summary>
public sealed partial class ParameterServerApi
{
    /// <inheritdoc/>
    public override Task<LookupResponse> Lookup(LookupRequest request, ServerCallContext context) =>
        ApiCalls.Run("Lookup", request, async () =>
        {
            long[] ids = WireArrays.Ids(request.Ids, $"Lookup of table '{request.Table}'", options.MaxIds);
            var table = await ps.OpenTableAsync(request.Table);
            var (distinct, slot) = WireArrays.Distinct(ids);
            var (values, found) = await RowPeek.PeekAsync(ps, request.Table, distinct, table.Dim);
            int dim = table.Dim;
            for (int r = 0; r < found.Length; r++)
            {
                if (!found[r])
                {
                    // A missing row reads as zeros, never as the values it would be created with.
                    values.AsSpan(r * dim, dim).Clear();
                }
            }

            var flags = new byte[ids.Length];
            for (int i = 0; i < ids.Length; i++)
            {
                flags[i] = (byte)(found[slot[i]] ? 1 : 0);
            }

            return new LookupResponse { Dim = dim, Values = WireArrays.Pack(WireArrays.Expand(values, slot, dim)), Found = Google.Protobuf.ByteString.CopyFrom(flags) };
        });

    /// <inheritdoc/>
    public override Task<PullResponse> Pull(PullRequest request, ServerCallContext context) =>
        ApiCalls.Run("Pull", request, async () =>
        {
            long[] ids = WireArrays.Ids(request.Ids, $"Pull from table '{request.Table}'", options.MaxIds);
            var table = await ps.OpenTableAsync(request.Table);
            int dim = table.Dim;
            var (distinct, slot) = WireArrays.Distinct(ids);
            var values = new float[distinct.Length * dim];
            await table.PullAsync(distinct, values);
            return new PullResponse { Dim = dim, Values = WireArrays.Pack(WireArrays.Expand(values, slot, dim)) };
        });

    /// <inheritdoc/>
    public override Task<PushResponse> Push(PushRequest request, ServerCallContext context) =>
        ApiCalls.Run("Push", request, async () =>
        {
            string what = $"Push to table '{request.Table}'";
            long[] ids = WireArrays.Ids(request.Ids, what, options.MaxIds);
            var table = await ps.OpenTableAsync(request.Table);
            int dim = table.Dim;
            float[] gradients = WireArrays.Floats(request.Gradients, ids.Length * dim, $"{what}: gradients of {ids.Length} rows of dim {dim}");
            var (distinct, slot) = WireArrays.Distinct(ids);
            if (!ReferenceEquals(distinct, ids))
            {
                // A repeated id's gradients add up, as a batch's uses of one row do.
                var summed = new float[distinct.Length * dim];
                for (int i = 0; i < ids.Length; i++)
                {
                    var into = summed.AsSpan(slot[i] * dim, dim);
                    System.Numerics.Tensors.TensorPrimitives.Add(into, gradients.AsSpan(i * dim, dim), into);
                }

                gradients = summed;
            }

            await table.PushAsync(distinct, gradients);
            return new PushResponse { Rows = distinct.Length };
        });
}
