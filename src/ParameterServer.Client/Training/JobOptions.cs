using ParameterServer.Core.Optimizers;

namespace ParameterServer.Client.Training;

/// <summary>
/// Settings every training job shares: the server-side optimizer, the initialization, the worker loops and early
/// stopping. Each model's options add their own (dim, batch size, learning rate and tables have model defaults).
/// </summary>
public abstract record JobOptions
{
    /// <summary>Embedding dimension.</summary>
    public abstract int Dim { get; init; }

    /// <summary>Samples (or positive pairs) per minibatch.</summary>
    public abstract int BatchSize { get; init; }

    /// <summary>Learning rate.</summary>
    public abstract float LearningRate { get; init; }

    /// <summary>Most epochs. Default 20.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Server-side optimizer. Default Adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>L2 weight decay the server applies to touched rows. Default 0.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Standard deviation of initial embedding values. Default 0.1.</summary>
    public float InitScale { get; init; } = 0.1f;

    /// <summary>Concurrent worker loops, each with its own minibatch stream. Default 2.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Steps whose pushes a worker loop may have outstanding (the staleness bound). Default 2.</summary>
    public int Staleness { get; init; } = 2;

    /// <summary>
    /// With a staleness window, pull the next batch while the current one computes. Default true; off, every step
    /// pulls, computes and pushes in turn (the window still bounds outstanding pushes).
    /// </summary>
    public bool Prefetch { get; init; } = true;

    /// <summary>
    /// This process's number among <see cref="WorkerCount"/> worker processes training one job together: it trains
    /// the samples whose index modulo the count equals it (every process reads and splits the data alike). Default 0.
    /// </summary>
    public int WorkerIndex { get; init; }

    /// <summary>
    /// Worker processes training one job on the same tables, asynchronously (each with its own loops and staleness
    /// window). With more than one, no process rolls the tables back to its best epoch, since the others may still be
    /// training: the tables keep the last updates. Default 1.
    /// </summary>
    public int WorkerCount { get; init; } = 1;

    /// <summary>Seed of the split, initialization, shuffling (and negatives). Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Epochs without a better validation figure before stopping; the best epoch's rows are kept. Default 3.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Shards per created table. Default 8.</summary>
    public int Shards { get; init; } = 8;

    /// <summary>
    /// How a step's rows and gradients travel between this process and a silo of another process. Default float32,
    /// exact; bfloat16 halves the bytes of values at a relative rounding error of at most 2^-8 per value (the silo
    /// still keeps and updates float32 rows). Shards served in this process are exact either way. Rating models.
    /// </summary>
    public Abstractions.WireValues Wire { get; init; } = Abstractions.WireValues.Float32;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first shared option out of range.</summary>
    protected void ValidateShared(int maxBatchSize)
    {
        Check(Dim >= 1 && Dim <= Abstractions.TableSpec.MaxDim, $"--dim {Dim} must be in 1..{Abstractions.TableSpec.MaxDim}");
        Check(Epochs >= 1 && Epochs <= 100_000, $"--epochs {Epochs} must be in 1..100000");
        Check(BatchSize >= 1 && BatchSize <= maxBatchSize, $"--batch-size {BatchSize} must be in 1..{maxBatchSize}");
        Check(Workers >= 1 && Workers <= 256, $"--workers {Workers} must be in 1..256");
        Check(Staleness >= 0 && Staleness <= 1024, $"--staleness {Staleness} must be in 0..1024");
        Check(Patience >= 1, $"--patience {Patience} must be at least 1");
        Check(InitScale >= 0 && InitScale <= Abstractions.TableSpec.MaxInitScale, $"--init-scale {InitScale} must be in [0, {Abstractions.TableSpec.MaxInitScale}]");
        Check(WorkerCount >= 1 && WorkerCount <= 1024 && WorkerIndex >= 0 && WorkerIndex < WorkerCount, $"--worker-index {WorkerIndex} must be in 0..{WorkerCount - 1} and --worker-count {WorkerCount} in 1..1024");
        new OptimizerSettings(Optimizer, LearningRate, WeightDecay).Validate();
    }

    /// <summary>Throws an <see cref="ArgumentException"/> with <paramref name="message"/> unless <paramref name="ok"/>.</summary>
    protected static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message + ".");
        }
    }

    /// <summary>
    /// A float setting as a report states it: the decimal the user wrote (0.005, not 0.004999999888241291, which is
    /// what widening the float to double would print). Float's shortest round-trip text is that decimal.
    /// </summary>
    public static double Reported(float value) => double.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
}
