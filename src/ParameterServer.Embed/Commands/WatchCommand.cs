using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Orleans.Streams;
using ParameterServer.Abstractions;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed watch</c>: prints training events of jobs run by other clients, live, from the cluster's stream.</summary>
internal static class WatchCommand
{
    public static Command Create()
    {
        var job = new Option<string?>("--job") { Description = "Only this job (its --table-prefix); the command ends when the job finishes or fails." };
        var timeout = new Option<double?>("--timeout") { Description = "Stop after this many seconds (default: until the job ends, or Ctrl+C)." };
        var json = QueryCommand.Json();
        var cluster = CommonOptions.Cluster();
        var command = new Command("watch", "Print the events of training jobs (started, every epoch's loss and validation RMSE, finished) as they happen, from a running cluster (--cluster). Start it before the job: the stream is live, not a log.")
        {
            job, timeout, json, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            if (string.IsNullOrWhiteSpace(p.GetValue(cluster)))
            {
                throw new ArgumentException("watch needs --cluster: the jobs run against a running cluster, and a silo started inside this process would see none.");
            }

            if (p.GetValue(timeout) is { } t && t <= 0)
            {
                throw new ArgumentException($"--timeout must be positive; got {t}.");
            }

            string? only = p.GetValue(job);
            bool asJson = p.GetValue(json);
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            var provider = connection.Client.Events ?? throw new InvalidOperationException("This connection has no training-events stream.");
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stream = provider.GetStream<TrainingEvent>(TrainingEvents.Namespace, TrainingEvents.AllJobsKey);
            var handle = await stream.SubscribeAsync((e, _) =>
            {
                if (only is null || e.Job == only)
                {
                    Console.WriteLine(asJson ? JsonSerializer.Serialize(e) : Format(e));
                    if (only is not null && e.Kind is TrainingEventKind.Finished or TrainingEventKind.Failed)
                    {
                        ended.TrySetResult();
                    }
                }

                return Task.CompletedTask;
            });
            if (!asJson)
            {
                Console.WriteLine($"watching {(only is null ? "every job" : $"job {only}")} on {connection.Description} (Ctrl+C to stop)");
            }

            using var limit = p.GetValue(timeout) is { } seconds ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
            using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Token);
            int code = 0;
            try
            {
                await ended.Task.WaitAsync(both.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested)
            {
                code = only is null ? 0 : 3;
                Console.Error.WriteLine(only is null ? "watch: timeout reached" : $"watch: job {only} did not finish within {p.GetValue(timeout)} s");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }

            await handle.UnsubscribeAsync();
            return code;
        });
        return command;
    }

    internal static string Format(TrainingEvent e) => e.Kind switch
    {
        TrainingEventKind.Started => $"{Time(e)} {e.Job}: started ({e.Message})",
        TrainingEventKind.EpochFinished => string.Create(CultureInfo.InvariantCulture, $"{Time(e)} {e.Job}: epoch {e.Epoch,3}  train loss {e.TrainLoss:F4}  validation RMSE {e.ValidationRmse:F4}  {e.SamplesPerSecond:N0} samples/s"),
        TrainingEventKind.Finished => string.Create(CultureInfo.InvariantCulture, $"{Time(e)} {e.Job}: finished; best epoch {e.Epoch}, validation RMSE {e.ValidationRmse:F4}, {e.SamplesPerSecond:N0} samples/s"),
        _ => $"{Time(e)} {e.Job}: failed: {e.Message}",
    };

    private static string Time(TrainingEvent e) => e.Time.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
}
