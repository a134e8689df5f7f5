using System.Diagnostics;

namespace ParameterServer.Embed.Views;

/// <summary>What an <see cref="EpochMeter"/> has seen of the running epoch.</summary>
/// <param name="Samples">Samples trained on so far.</param>
/// <param name="Loss">Mean squared error over those samples (NaN before the first step).</param>
/// <param name="SamplesPerSecond">Rate since the epoch's first step (0 until two steps were seen).</param>
internal readonly record struct EpochReading(long Samples, double Loss, double SamplesPerSecond)
{
    /// <summary>Time left for <paramref name="samplesPerEpoch"/>, or null while the rate is unknown.</summary>
    public TimeSpan? Remaining(long samplesPerEpoch) =>
        SamplesPerSecond > 0 ? TimeSpan.FromSeconds(Math.Max(0, samplesPerEpoch - Samples) / SamplesPerSecond) : null;
}

/// <summary>
/// Adds up the steps of the running epoch as the trainer's worker loops report them, from several threads at
/// once: samples, squared error and the time since the epoch's first step.
/// </summary>
internal sealed class EpochMeter
{
    private readonly Lock _gate = new();
    private long _samples;
    private double _squaredError;
    private long _firstStepAt;
    private long _firstStepSamples;

    /// <summary>Records one step of <paramref name="samples"/> samples with mean squared error <paramref name="meanSquaredError"/>.</summary>
    public void Add(long samples, double meanSquaredError)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (_samples == 0)
            {
                // The rate counts from the end of the first step: the time before it (validation, snapshot) is not training.
                _firstStepAt = now;
                _firstStepSamples = samples;
            }

            _samples += samples;
            _squaredError += meanSquaredError * samples;
        }
    }

    /// <summary>Starts the next epoch.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _samples = 0;
            _squaredError = 0;
            _firstStepAt = 0;
            _firstStepSamples = 0;
        }
    }

    /// <summary>The running epoch so far.</summary>
    public EpochReading Read()
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            double loss = _samples > 0 ? _squaredError / _samples : double.NaN;
            double seconds = _samples > 0 ? Stopwatch.GetElapsedTime(_firstStepAt, now).TotalSeconds : 0;
            double rate = seconds > 0 ? (_samples - _firstStepSamples) / seconds : 0;
            return new EpochReading(_samples, loss, rate);
        }
    }
}
