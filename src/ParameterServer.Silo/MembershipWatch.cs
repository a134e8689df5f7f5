using ParameterServer.Abstractions;

namespace ParameterServer.Silo;

/// <summary>
/// Watches this silo's own row in the membership table (Redis clustering). Orleans keeps a silo running when Redis
/// stops, and when Redis comes back empty the silo never rejoins ("membership table version is missing") while it
/// believes itself active. Here: while the table cannot be read or does not hold this silo as active, <c>/ready</c>
/// fails; after <c>Orleans:Membership:RejoinTimeout</c> (60 s) of that, the silo stops (checkpoints first, see the
/// shard balancer service) with exit code 3, so that its supervisor starts it again and it joins afresh, its tables
/// coming back from their records and checkpoints.
/// </summary>
internal sealed partial class MembershipWatch(
    IServiceProvider services,
    SiloHostOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<MembershipWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(2);
    private DateTime? _troubleSince;

    /// <summary>Why this silo is not a member in good standing now, or null when it is (or is not checked).</summary>
    public string? Trouble { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.UsesRedis || services.GetService<IMembershipTable>() is not { } table || services.GetService<ILocalSiloDetails>() is not { } local)
        {
            return;
        }

        using var timer = new PeriodicTimer(Every);
        bool active = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            string? trouble;
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                var data = await table.ReadAllAsync(attempt.Token).WaitAsync(attempt.Token);
                var status = data.TryGet(local.SiloAddress)?.Item1.Status;
                trouble = status == SiloStatus.Active ? null : $"the membership table holds this silo as {status?.ToString() ?? "absent"}";
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                trouble = $"the membership table cannot be read ({e.GetType().Name}: {ErrorText.OneLine(e.Message)})";
            }

            // Until the silo has been active once, joining is Orleans' business (and a failed join stops the start).
            active |= trouble is null;
            if (!active)
            {
                continue;
            }

            if (trouble is null)
            {
                if (Trouble is not null)
                {
                    LogRecovered();
                }

                (Trouble, _troubleSince) = (null, null);
                continue;
            }

            _troubleSince ??= DateTime.UtcNow;
            if (Trouble is null)
            {
                LogTrouble(ErrorText.MaskSecrets(trouble));
            }

            Trouble = trouble;
            if (DateTime.UtcNow - _troubleSince > options.RejoinTimeout)
            {
                LogGivingUp(options.RejoinTimeout.TotalSeconds, ErrorText.MaskSecrets(trouble));
                Environment.ExitCode = 3;
                lifetime.StopApplication();
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not ready: {Trouble}")]
    private partial void LogTrouble(string trouble);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready again: this silo is an active member in the membership table")]
    private partial void LogRecovered();

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopping after {Seconds:F0} s out of the cluster ({Trouble}) so that the supervisor starts this silo again; shard checkpoints are written first; exit code 3")]
    private partial void LogGivingUp(double seconds, string trouble);
}
