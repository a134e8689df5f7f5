using System.Diagnostics;
using System.Globalization;

namespace ParameterServer.Embed.Bench;

/// <summary>One process's CPU time at one moment, read from <c>/proc</c>.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="CpuSeconds">User plus system CPU seconds so far.</param>
internal readonly record struct ProcessSample(int Pid, double CpuSeconds);

/// <summary>
/// CPU seconds of this process and of the silo processes running on this machine (found by a
/// command line naming <c>ParameterServer.Silo</c>), read from <c>/proc</c>; elsewhere only this process is measured.
/// Silos on other machines are not seen: the figures are for a cluster on one machine, as the benchmarks run it.
/// </summary>
internal static class ProcessCpu
{
    // USER_HZ: the unit of utime and stime in /proc/PID/stat, 100 on every Linux ABI .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>This process now.</summary>
    public static ProcessSample Self()
    {
        return new ProcessSample(Environment.ProcessId, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);
    }

    /// <summary>Every silo process on this machine now, by pid (empty where there is no <c>/proc</c>).</summary>
    public static Dictionary<int, ProcessSample> Silos()
    {
        var found = new Dictionary<int, ProcessSample>();
        if (!Directory.Exists("/proc"))
        {
            return found;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (!cmdline.Contains("ParameterServer.Silo", StringComparison.Ordinal) || ReadCpu(pid) is not { } cpu)
                {
                    continue;
                }

                found[pid] = new ProcessSample(pid, cpu);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended or is not ours to read.
            }
        }

        return found;
    }

    /// <summary>User plus system CPU seconds of <paramref name="pid"/> from <c>/proc/PID/stat</c>, or null.</summary>
    private static double? ReadCpu(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces; the fields after its closing parenthesis are plain.
        int close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        return fields.Length > 12 && long.TryParse(fields[11], CultureInfo.InvariantCulture, out long utime) && long.TryParse(fields[12], CultureInfo.InvariantCulture, out long stime)
            ? (utime + stime) / TicksPerSecond
            : null;
    }

    /// <summary>
    /// Bytes the loopback interface has carried so far (<c>/proc/net/dev</c>, received side: every byte sent over
    /// loopback is received once), or −1 where it cannot be read. Socket traffic does not show in a process's own
    /// <c>/proc/PID/io</c>, so this is how a cluster on 127.0.0.1 measures its bytes on the wire; other loopback
    /// traffic meanwhile counts too.
    /// </summary>
    public static long LoopbackBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/net/dev"))
            {
                var trimmed = line.TrimStart();
                if (trimmed.StartsWith("lo:", StringComparison.Ordinal))
                {
                    var fields = trimmed[3..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(fields[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return -1;
    }
}
