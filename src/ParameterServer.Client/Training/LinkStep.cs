using ParameterServer.Abstractions;
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
    private readonly PulledTicket _ticket = new(steps, WireValues.Float32);

    public int Rows => b.Entities + b.Links;

    public int Samples => b.Count;

    private LinkBatch Batch => b;

    public void Load(ReadOnlySpan<int> samples) => b.Load(train, sampler, samples, o.Negatives, random);

    public Task PullAsync() => _ticket.PullAsync(Pulls(b));

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

    public Task PushAsync() => _ticket.PushAsync(Pushes(), sameRows: !o.FreezeEntities && !o.FreezeLinks);

    public (Task Push, Task Pull) PushThenPull(IBatchStep next) =>
        next is LinkStep n
            ? _ticket.PushThenPull(Pushes(), sameRows: !o.FreezeEntities && !o.FreezeLinks, n._ticket, Pulls(n.Batch))
            : (PushAsync(), next.PullAsync());

    private List<TablePull> Pulls(LinkBatch batch) =>
    [
        new(entities, batch.EntityIds.AsMemory(0, batch.Entities), batch.EntityValues),
        new(links, batch.LinkIds.AsMemory(0, batch.Links), batch.LinkValues),
    ];

    // A frozen table is not pushed; the ticket fits only a push of every table it pulled. The batch holds each entity
    // and link once (LinkBatch): no repeat scan.
    private List<TablePush> Pushes()
    {
        int d = b.Dim;
        var entityPush = new TablePush(entities, b.EntityIds.AsMemory(0, b.Entities), b.EntityGrad.AsMemory(0, b.Entities * d));
        var linkPush = new TablePush(links, b.LinkIds.AsMemory(0, b.Links), b.LinkGrad.AsMemory(0, b.Links * d));
        return o.FreezeEntities ? [linkPush] : o.FreezeLinks ? [entityPush] : [entityPush, linkPush];
    }
}
