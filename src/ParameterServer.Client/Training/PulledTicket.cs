using ParameterServer.Abstractions;

namespace ParameterServer.Client.Training;

/// <summary>
/// A trainer step's link between its pull and its push through a <see cref="StepClient"/>: keeps the pull's ticket
/// and hands it to the push of the same rows, which gathers the gradients and takes the slots before the ticket's
/// pooled arrays go back. The trainers' batches hold each id once (deduplicated), so their pushes skip the repeat scan.
/// </summary>
internal sealed class PulledTicket(StepClient steps, WireValues wire)
{
    private StepTicket? _ticket;

    /// <summary>Pulls <paramref name="pulls"/> in one step call and keeps the ticket.</summary>
    public async Task PullAsync(IReadOnlyList<TablePull> pulls)
    {
        Drop();
        _ticket = await steps.PullAsync(pulls, wire);
    }

    /// <summary>Pushes <paramref name="pushes"/>, with the kept ticket when <paramref name="sameRows"/> (the push is of every table pulled, in order).</summary>
    public Task PushAsync(IReadOnlyList<TablePush> pushes, bool sameRows = true)
    {
        var ticket = Take();
        try
        {
            return steps.PushAsync(pushes, sameRows ? ticket : null, distinctIds: true);
        }
        finally
        {
            ticket?.Dispose();
        }
    }

    /// <summary>
    /// Pushes <paramref name="pushes"/> (as <see cref="PushAsync"/>) and pulls <paramref name="pulls"/> for
    /// <paramref name="next"/> (as its <see cref="PullAsync"/>) in one call per silo (<see cref="StepClient.PushThenPull(IReadOnlyList{TablePush}, StepTicket?, IReadOnlyList{TablePull}, WireValues)"/>).
    /// </summary>
    public (Task Push, Task Pull) PushThenPull(IReadOnlyList<TablePush> pushes, bool sameRows, PulledTicket next, IReadOnlyList<TablePull> pulls)
    {
        var ticket = Take();
        next.Drop();
        try
        {
            var (push, pull) = steps.PushThenPull(pushes, sameRows ? ticket : null, distinctIds: true, pulls, next.Wire);
            return (push, next.ReceiveAsync(pull));
        }
        finally
        {
            ticket?.Dispose();
        }
    }

    private WireValues Wire => wire;

    private async Task ReceiveAsync(Task<StepTicket> pull) => _ticket = await pull;

    private StepTicket? Take()
    {
        var ticket = _ticket;
        _ticket = null;
        return ticket;
    }

    private void Drop() => Take()?.Dispose();
}
