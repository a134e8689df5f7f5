using System.Diagnostics;
using System.Globalization;

namespace ParameterServer.Worker.Bench;

/// <summary>One process's CPU time and I/O bytes at one moment, read from <c>/proc</c>.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="CpuSeconds">User plus system CPU seconds so far.</param>
/// <param name="BytesRead">Bytes read through system calls so far (<c>rchar</c>: sockets included), or −1 when unreadable.</param>
/// <param name="BytesWritten">Bytes written through system calls so far (<c>wchar</c>), or −1 when unreadable.</param>
internal readonly record struct ProcessSample(int Pid, double CpuSeconds, long BytesRead, long BytesWritten);

/// <summary>
/// CPU seconds and system-call I/O of this process and of the silo processes running on this machine (found by a
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
        int pid = Environment.ProcessId;
        var (read, written) = ReadIo(pid);
        return new ProcessSample(pid, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, read, written);
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

                var (read, written) = ReadIo(pid);
                found[pid] = new ProcessSample(pid, cpu, read, written);
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

    private static (long Read, long Written) ReadIo(int pid)
    {
        try
        {
            long read = -1, written = -1;
            foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            {
                if (line.StartsWith("rchar:", StringComparison.Ordinal))
                {
                    read = long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("wchar:", StringComparison.Ordinal))
                {
                    written = long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
                }
            }

            return (read, written);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (-1, -1);
        }
    }
}
