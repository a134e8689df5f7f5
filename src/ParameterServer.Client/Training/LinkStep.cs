using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// A worker loop's step of a link model (<see cref="LinkTrainer"/>): loads the batch's positives and draws their
/// negatives, pulls the distinct entity and link rows in one step call (one message per silo), computes the loss's
/// gradients summed per distinct row, and pushes the tables that are not frozen.
/// </summary>
internal sealed class LinkStep(StepClient steps, TableClient entities, TableClient links, LinkPairs train, NegativeSampler sampler, LinkModel model, LinkTrainingOptions o, LinkBatch b, Random random) : IBatchStep
{
    // The pull's ticket, handed to the push of the same rows when both tables are pushed.
    private StepTicket? _ticket;

    public int Rows => b.Entities + b.Links;

    public int Samples => b.Count;

    public void Load(ReadOnlySpan<int> samples) => b.Load(train, sampler, samples, o.Negatives, random);

    public async Task PullAsync()
    {
        _ticket?.Dispose();
        _ticket = await steps.PullAsync(
        [
            new(entities, b.EntityIds.AsMemory(0, b.Entities), b.EntityValues),
            new(links, b.LinkIds.AsMemory(0, b.Links), b.LinkValues),
        ]);
    }

    public double Compute()
    {
        b.ClearGradients();
        int d = b.Dim;
        double loss = 0;
        for (int k = 0; k < b.Count; k++)
        {
            int je = b.SampleEntity[k], jl = b.SampleLink[k];
            loss += model.Backward(
                b.EntityValues.AsSpan(je * d, d), b.LinkValues.AsSpan(jl * d, d), b.SamplePositive[k], 1f,
                b.EntityGrad.AsSpan(je * d, d), b.LinkGrad.AsSpan(jl * d, d));
        }

        return loss;
    }

    public Task PushAsync()
    {
        int d = b.Dim;
        var ticket = _ticket;
        _ticket = null;
        try
        {
            var entityPush = new TablePush(entities, b.EntityIds.AsMemory(0, b.Entities), b.EntityGrad.AsMemory(0, b.Entities * d));
            var linkPush = new TablePush(links, b.LinkIds.AsMemory(0, b.Links), b.LinkGrad.AsMemory(0, b.Links * d));
            // A frozen table is not pushed; the ticket fits only a push of every table it pulled.
            // The batch holds each entity and link once (LinkBatch): no repeat scan.
            return o.FreezeEntities ? steps.PushAsync([linkPush], null, distinctIds: true)
                : o.FreezeLinks ? steps.PushAsync([entityPush], null, distinctIds: true)
                : steps.PushAsync([entityPush, linkPush], ticket, distinctIds: true);
        }
        finally
        {
            // The push has gathered its gradients and taken the slots: the ticket's arrays can go back.
            ticket?.Dispose();
        }
    }
}
