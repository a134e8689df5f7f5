using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ParameterServer.Storage.Tests;

/// <summary>
/// A storage emulator (Azurite, s3rver) run as a real process on a free loopback port with its data in a temporary
/// directory, stopped and deleted on dispose. Found in <c>PS_EMULATORS_BIN</c>, in <c>&lt;repo&gt;/.tools/emulators</c>
/// (where <c>tests/system/lib.sh</c> and <c>.ci/run</c> install them from npm) or on PATH. When it is not installed
/// the tests that need it are skipped, unless <c>PS_REQUIRE_EMULATORS=1</c> (CI), where that is a failure.
/// </summary>
public abstract class Emulator : IDisposable
{
    private readonly Process? _process;
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"ps-emulator-{Guid.NewGuid():N}");

    /// <summary>
    /// Starts <paramref name="program"/> with the arguments <paramref name="arguments"/> builds from (port, data
    /// directory) and waits until it prints a line holding <paramref name="readyText"/> (it listens then).
    /// </summary>
    protected Emulator(string program, string readyText, Func<int, string, string[]> arguments)
    {
        Program = program;
        if (Find(program) is not { } path)
        {
            return;
        }

        Port = FreePort();
        Directory.CreateDirectory(_data);
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // s3rver signs its listing continuation tokens with a cipher that OpenSSL 3 keeps in its legacy provider; an
        // unhandled rejection (a request its client gave up on) must not end the server, as Node 15+ would by default.
        start.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider --unhandled-rejections=warn";
        foreach (string a in arguments(Port, _data))
        {
            start.ArgumentList.Add(a);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains(readyText, StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        _process.ErrorDataReceived += (_, _) => { };
        _process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"{program} exited before it listened on 127.0.0.1:{Port}."));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new InvalidOperationException($"{program} did not say it listens on 127.0.0.1:{Port} within 60 s.");
        }
    }

    /// <summary>The emulator's program name.</summary>
    public string Program { get; }

    /// <summary>Its port on 127.0.0.1 (0 when not installed).</summary>
    public int Port { get; }

    /// <summary>Whether it runs.</summary>
    public bool Running => _process is { HasExited: false };

    /// <summary>Why the tests that need it cannot run, or null when they can.</summary>
    public static string? SkipReason(string program) =>
        Find(program) is not null || Environment.GetEnvironmentVariable("PS_REQUIRE_EMULATORS") == "1" ? null
        : $"{program} is not installed (bash tests/system/install-emulators.sh puts it in .tools/emulators; CI sets PS_REQUIRE_EMULATORS=1 and runs it)";

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process?.Dispose();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Throws unless the emulator runs (a required emulator that is missing fails here, naming it).</summary>
    public void EnsureRunning()
    {
        if (!Running)
        {
            throw new InvalidOperationException($"{Program} is not running: install it with bash tests/system/install-emulators.sh.");
        }
    }

    private static string? Find(string program)
    {
        var dirs = new List<string>();
        if (Environment.GetEnvironmentVariable("PS_EMULATORS_BIN") is { Length: > 0 } bin)
        {
            dirs.Add(bin);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Distributed.sln")))
            {
                dirs.Add(Path.Combine(dir.FullName, ".tools", "emulators", "node_modules", ".bin"));
                break;
            }
        }

        dirs.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        return dirs.Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One emulator per test class, started on first use (so a skipped class starts nothing).</summary>
/// <typeparam name="T">The emulator.</typeparam>
public sealed class EmulatorServer<T> : IDisposable
    where T : Emulator, new()
{
    private readonly Lazy<T> _emulator = new(() => new T());

    /// <summary>The running emulator (throws naming it when it is not installed).</summary>
    public T Emulator
    {
        get
        {
            _emulator.Value.EnsureRunning();
            return _emulator.Value;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_emulator.IsValueCreated)
        {
            _emulator.Value.Dispose();
        }
    }
}

/// <summary>Azurite's Blob service.</summary>
public sealed class Azurite() : Emulator("azurite-blob", "successfully listens on", (port, data) =>
    ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", data, "--silent", "--skipApiVersionCheck", "--loose"])
{
    /// <summary>Azurite's well-known development account key (public, documented by Microsoft).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The connection string of its development account.</summary>
    public string ConnectionString(string accountKey = AccountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={accountKey};BlobEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";
}

/// <summary>s3rver, an S3 API server (credentials S3RVER/S3RVER).</summary>
public sealed class S3rver() : Emulator("s3rver", "listening on", (port, data) =>
    ["--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--directory", data, "--silent"])
{
    /// <summary>The endpoint.</summary>
    public string Url => $"http://127.0.0.1:{Port}";
}
