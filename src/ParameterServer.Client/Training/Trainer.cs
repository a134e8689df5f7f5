namespace ParameterServer.Client.Training;

/// <summary>
/// What every trainer shares: the parameter server, the job's options, its events and the epoch loop
/// (<see cref="EpochDriver"/>) over one <see cref="IBatchStep"/> per worker loop.
/// </summary>
public abstract class Trainer
{
    private protected Trainer(ParameterServerClient ps, TrainingOptions options)
    {
        Ps = ps ?? throw new ArgumentNullException(nameof(ps));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <summary>Called after every epoch.</summary>
    public event Action<EpochReport>? EpochFinished;

    /// <summary>Called after every step, from the worker loops' threads, with the step's samples and mean loss (squared error, or log loss for a binary task).</summary>
    public event Action<long, double>? Progress;

    private protected ParameterServerClient Ps { get; }

    private protected TrainingOptions Options { get; }

    /// <summary>
    /// Runs the epochs over <paramref name="tables"/>, each worker loop with a step made by <paramref name="newStep"/>;
    /// the hot-row <paramref name="caches"/> the steps share are written back after every epoch's loops.
    /// </summary>
    private protected Task<DriverResult> RunEpochsAsync(IReadOnlyList<TableClient> tables, int trainCount, Func<IBatchStep> newStep, Func<double, Task<ValidationFigures>> validate, TrainingEventPublisher events, CancellationToken ct, IReadOnlyList<HotRowCache>? caches = null) =>
        new EpochDriver(Ps, Options, Options.TablePrefix, tables, caches).RunAsync(
            trainCount,
            // Steps in turn per worker loop: with a staleness window, the next batches' pulls travel while one computes.
            [.. Enumerable.Range(0, Options.Workers * EpochDriver.StepsPerLoop(Ps.Steps)).Select(_ => newStep())],
            validate,
            events,
            e => EpochFinished?.Invoke(e),
            (n, loss) => Progress?.Invoke(n, loss),
            ct);

    /// <summary>
    /// Calls <paramref name="batch"/> for consecutive batches of the samples 0..<paramref name="count"/>−1 with the
    /// batch's sample indexes and the first one's position (evaluation and prediction read data in order).
    /// </summary>
    private protected static async Task InBatchesAsync(int count, int batchSize, Func<ArraySegment<int>, int, Task> batch)
    {
        int[] order = new int[Math.Min(batchSize, Math.Max(1, count))];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            for (int k = 0; k < n; k++)
            {
                order[k] = start + k;
            }

            await batch(new ArraySegment<int>(order, 0, n), start);
        }
    }
}
