using Orleans.Streams;
using ParameterServer.Abstractions;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;

namespace ParameterServer.Observability.Tests;

/// <summary>A job's events reach a subscriber of the training-events stream, in order, with the report's figures.</summary>
[Collection(ClusterCollection.Name)]
public sealed class TrainingEventsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_subscriber_receives_started_every_epoch_and_finished()
    {
        string job = ClusterFixture.UniqueName("events");
        var received = new List<TrainingEvent>();
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = fixture.Client.Events!.GetStream<TrainingEvent>(TrainingEvents.Namespace, TrainingEvents.AllJobsKey);
        var handle = await stream.SubscribeAsync((e, _) =>
        {
            if (e.Job == job)
            {
                lock (received)
                {
                    received.Add(e);
                }

                if (e.Kind == TrainingEventKind.Finished)
                {
                    finished.TrySetResult();
                }
            }

            return Task.CompletedTask;
        });

        var (train, valid) = SyntheticRatings.Generate(new SyntheticSettings(Users: 100, Items: 50, Count: 5000, Seed: 5)).Data.Split(0.2, 5);
        var options = new TrainingOptions { Model = RatingModelKind.Mf, Dim = 4, Epochs = 3, Patience = 10, TablePrefix = job, Seed = 5 };
        var report = await new RatingTrainer(fixture.Client, options).TrainAsync(train, valid);
        await finished.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await handle.UnsubscribeAsync();

        Assert.Equal([TrainingEventKind.Started, TrainingEventKind.EpochFinished, TrainingEventKind.EpochFinished, TrainingEventKind.EpochFinished, TrainingEventKind.Finished], received.Select(e => e.Kind));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i + 1, received[i + 1].Epoch);
            Assert.Equal(report.Epochs[i].ValidationRmse, received[i + 1].ValidationRmse, 12);
            Assert.Equal(report.Epochs[i].TrainLoss, received[i + 1].TrainLoss, 12);
        }

        Assert.Equal(report.BestEpoch, received[^1].Epoch);
        Assert.Equal(report.ValidationRmse, received[^1].ValidationRmse, 12);
    }
}
