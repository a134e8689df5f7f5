using ParameterServer.Abstractions.Telemetry;

namespace ParameterServer.Client;

/// <summary>
/// Bounds the pushes a worker loop has in flight: with staleness S, step t may start while the pushes of steps
/// t−S..t−1 are still being applied; step t+1 waits for step t−S+1's push. S = 0 makes every push synchronous.
/// A failed push surfaces at the next <see cref="AddAsync"/> or <see cref="DrainAsync"/>.
/// </summary>
public sealed class PushWindow
{
    private readonly Queue<Task> _inFlight = new();

    private readonly KeyValuePair<string, object?> _jobTag;

    /// <summary>Creates a window of <paramref name="staleness"/> outstanding steps; <paramref name="job"/> tags the staleness histogram.</summary>
    public PushWindow(int staleness, string job = "")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(staleness);
        Staleness = staleness;
        _jobTag = new(ParameterServerTelemetry.JobTag, job);
    }

    /// <summary>The largest number of steps whose pushes may be outstanding.</summary>
    public int Staleness { get; }

    /// <summary>Steps whose pushes were still outstanding when a step was added, summed (for the average staleness).</summary>
    public long ObservedOutstanding { get; private set; }

    /// <summary>Steps added.</summary>
    public long Steps { get; private set; }

    /// <summary>Adds the push of one step; waits while more than <see cref="Staleness"/> steps are outstanding.</summary>
    public async Task AddAsync(Task push)
    {
        ArgumentNullException.ThrowIfNull(push);
        while (_inFlight.Count > 0 && _inFlight.Peek().IsCompleted)
        {
            await _inFlight.Dequeue();
        }

        ObservedOutstanding += _inFlight.Count;
        ParameterServerTelemetry.Staleness.Record(_inFlight.Count, _jobTag);
        Steps++;
        _inFlight.Enqueue(push);
        while (_inFlight.Count > Staleness)
        {
            await _inFlight.Dequeue();
        }
    }

    /// <summary>Waits for every outstanding push.</summary>
    public async Task DrainAsync()
    {
        while (_inFlight.Count > 0)
        {
            await _inFlight.Dequeue();
        }
    }
}
