namespace ParameterServer.Abstractions;

/// <summary>What silos and clients must agree on to find each other and to wait the same way: shared by both sides.</summary>
public static class ClusterDefaults
{
    /// <summary>The cluster and service id used by default by silos and clients.</summary>
    public const string ClusterId = "parameter-server";

    /// <summary>
    /// How long a call waits for its answer unless configured (Orleans' own default is 30 s). A call to a silo that
    /// died is answered by nothing, so this also bounds how long a worker waits before retrying elsewhere.
    /// </summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Whether <paramref name="timeout"/> is an acceptable response timeout: 1 s to 10 min.</summary>
    public static bool IsValidResponseTimeout(TimeSpan timeout) => timeout >= TimeSpan.FromSeconds(1) && timeout <= TimeSpan.FromMinutes(10);
}
