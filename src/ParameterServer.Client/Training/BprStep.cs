using ParameterServer.Abstractions;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Client.Training;

/// <summary>
/// One worker loop's reusable buffers for a BPR minibatch: the distinct users, the distinct items (positives and the
/// sampled negatives together, each with its bias at the same position) and each triple's indexes into them. Sized
/// once; nothing is allocated per row.
/// </summary>
internal sealed class BprBatch(int batchSize, int dim)
{
    public int Dim { get; } = dim;

    public int Count { get; private set; }

    public DistinctRows Users { get; } = new(batchSize, dim);

    public DistinctRows Items { get; } = new(2 * batchSize, dim);

    public int[] UserIndex { get; } = new int[batchSize];

    public int[] PositiveIndex { get; } = new int[batchSize];

    public int[] NegativeIndex { get; } = new int[batchSize];

    public float[] ItemBias { get; } = new float[2 * batchSize];

    public float[] ItemBiasGrad { get; } = new float[2 * batchSize];

    /// <summary>Loads the (user, item) positives <c>order</c> of <paramref name="data"/>, each with a negative drawn for its user.</summary>
    public void Load(Ratings data, ItemNegativeSampler sampler, ReadOnlySpan<int> order, Random random)
    {
        Users.Clear();
        Items.Clear();
        for (int k = 0; k < order.Length; k++)
        {
            int s = order[k];
            long user = data.Users[s];
            UserIndex[k] = Users.Add(user);
            PositiveIndex[k] = Items.Add(data.Items[s]);
            NegativeIndex[k] = Items.Add(sampler.Draw(user, random));
        }

        Count = order.Length;
    }

    public void ClearGradients()
    {
        Users.ClearGradients();
        Items.ClearGradients();
        ItemBiasGrad.AsSpan(0, Items.Count).Clear();
    }
}

/// <summary>
/// A worker loop's step of a BPR model: loads the batch's positives and draws a negative for each, pulls the distinct
/// users, items and item biases in one step call (one message per silo), sums the BPR gradients per distinct row
/// (<see cref="BprLoss"/>) and pushes them to the same tables.
/// </summary>
internal sealed class BprStep(StepClient steps, RatingTables t, Ratings train, ItemNegativeSampler sampler, BprBatch b, Random random, WireValues wire) : IBatchStep
{
    private readonly PulledTicket _ticket = new(steps, wire);

    public int Rows => b.Users.Count + (2 * b.Items.Count);

    public int Samples => b.Count;

    private BprBatch Batch => b;

    public void Load(ReadOnlySpan<int> samples) => b.Load(train, sampler, samples, random);

    public Task PullAsync() => _ticket.PullAsync(Pulls(b));

    public double Compute()
    {
        b.ClearGradients();
        var users = b.Users;
        var items = b.Items;
        double loss = 0;
        for (int k = 0; k < b.Count; k++)
        {
            int ju = b.UserIndex[k], jp = b.PositiveIndex[k], jn = b.NegativeIndex[k];
            loss += BprLoss.Backward(
                users.Row(ju), items.Row(jp), items.Row(jn), b.ItemBias[jp], b.ItemBias[jn], 1f,
                users.Gradient(ju), items.Gradient(jp), items.Gradient(jn), ref b.ItemBiasGrad[jp], ref b.ItemBiasGrad[jn]);
        }

        if (t.Users.Spec.Optimizer == Core.Optimizers.OptimizerKind.Sgd)
        {
            // As for ratings (RatingStep): a row's SGD push counts at most k = 0.25 / lr of its uses in the batch.
            users.CapGradients([], t.Users.Spec.LearningRate);
            items.CapGradients(b.ItemBiasGrad.AsSpan(0, items.Count), t.Items.Spec.LearningRate);
        }

        return loss;
    }

    public Task PushAsync() => _ticket.PushAsync(Pushes());

    public (Task Push, Task Pull) PushThenPull(IBatchStep next) =>
        next is BprStep n ? _ticket.PushThenPull(Pushes(), sameRows: true, n._ticket, Pulls(n.Batch)) : (PushAsync(), next.PullAsync());

    private List<TablePull> Pulls(BprBatch batch) =>
    [
        new(t.Users, batch.Users.Ids.AsMemory(0, batch.Users.Count), batch.Users.Values),
        new(t.Items, batch.Items.Ids.AsMemory(0, batch.Items.Count), batch.Items.Values),
        new(t.ItemBias!, batch.Items.Ids.AsMemory(0, batch.Items.Count), batch.ItemBias),
    ];

    private List<TablePush> Pushes() =>
    [
        new(t.Users, b.Users.Ids.AsMemory(0, b.Users.Count), b.Users.Gradients.AsMemory(0, b.Users.Count * b.Dim)),
        new(t.Items, b.Items.Ids.AsMemory(0, b.Items.Count), b.Items.Gradients.AsMemory(0, b.Items.Count * b.Dim)),
        new(t.ItemBias!, b.Items.Ids.AsMemory(0, b.Items.Count), b.ItemBiasGrad.AsMemory(0, b.Items.Count)),
    ];
}
