using Orleans.Streams;
using ParameterServer.Abstractions;

namespace ParameterServer.Client.Training;

/// <summary>
/// Publishes a job's events on the training-events stream. Watching is optional: a failure to publish is counted,
/// never allowed to fail the job.
/// </summary>
internal sealed class TrainingEventPublisher(IStreamProvider? provider, string job)
{
    private readonly IAsyncStream<TrainingEvent>? _stream = provider?.GetStream<TrainingEvent>(TrainingEvents.Namespace, TrainingEvents.AllJobsKey);

    /// <summary>Events that could not be published.</summary>
    public int Failures { get; private set; }

    public async Task PublishAsync(TrainingEventKind kind, int epoch = 0, double loss = 0, double rmse = 0, double samplesPerSecond = 0, string? message = null)
    {
        if (_stream is null)
        {
            return;
        }

        try
        {
            await _stream.OnNextAsync(new TrainingEvent(job, kind, epoch, loss, rmse, samplesPerSecond, DateTimeOffset.UtcNow, message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failures++;
        }
    }
}
