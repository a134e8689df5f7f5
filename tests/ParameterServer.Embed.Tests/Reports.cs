using ParameterServer.Client.Training;

namespace ParameterServer.Embed.Tests;

/// <summary>Synthetic training reports.</summary>
internal static class Reports
{
    public static IReadOnlyList<EpochReport> Epochs(int count) =>
        Enumerable.Range(1, count).Select(e => new EpochReport(e, 1.0 / e, 0.85 + (0.1 / e) + (e > 6 ? 0.01 * (e - 6) : 0), 500_000 + (1000 * e), 0.2)).ToArray();

    public static TrainingReport Create(int epochs) => new()
    {
        Model = "mf",
        Optimizer = "adam",
        Dim = 32,
        BatchSize = 1024,
        Workers = 2,
        TrainSamples = 80_000,
        ValidationSamples = 20_000,
        BestEpoch = Math.Min(epochs, 6),
        ValidationRmse = epochs == 0 ? double.PositiveInfinity : 0.85 + (0.1 / Math.Min(epochs, 6)),
        SamplesPerSecond = 503_000,
        WallSeconds = 3.5,
        Epochs = Epochs(epochs),
    };
}
