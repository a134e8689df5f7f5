using System.Text.Json;
using ParameterServer.Abstractions;
using ParameterServer.Silo;

// The standalone silo. Settings come from appsettings.json, environment variables (Orleans__GatewayPort=30001,
// Http__Port=8081) or the command line (--Orleans:GatewayPort=30001 --Http:Port=8081); see SiloHostOptions.
// --check-config prints the keys the silo reads, keys set that it does not read, and the resolved settings as JSON,
// then exits (0 when every key set is read, 2 otherwise) without starting anything. --healthcheck asks the running
// silo's /healthz on its configured HTTP port (the container HEALTHCHECK: the runtime image has no curl), --readycheck
// its /ready (the silo is an active cluster member). --verbose logs exceptions with their stack traces; without it a
// failed start is one "error:" line and a non-zero exit (2 for a bad setting, 1 for anything else).
bool verbose = args.Contains("--verbose");
args = [.. args.Where(a => a != "--verbose")];
try
{
    if (args.Contains("--healthcheck") || args.Contains("--readycheck"))
    {
        return await SiloHost.HealthCheckAsync([.. args.Where(a => a is not ("--healthcheck" or "--readycheck"))], args.Contains("--readycheck") ? "/ready" : "/healthz");
    }

    if (args.Contains("--check-config"))
    {
        var check = SiloHost.CheckConfiguration([.. args.Where(a => a != "--check-config")]);
        var json = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
        Console.WriteLine(JsonSerializer.Serialize(check with { Options = check.Options.Redacted() }, json));
        if (check.Unknown.Length > 0)
        {
            await Console.Error.WriteLineAsync($"error: the silo does not read {string.Join(", ", check.Unknown)}; check the spelling against keysRead.");
            return 2;
        }

        return 0;
    }

    await using var app = SiloHost.Build(args, verbose);
    await app.RunAsync();
    return Environment.ExitCode; // 0, or 3 when the silo stopped itself out of the cluster (MembershipWatch)
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"error: {ErrorText.MaskSecrets(ErrorText.OneLine(e.Message))}");
    return 2;
}
catch (InvalidOperationException e) when (!verbose && e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    await Console.Error.WriteLineAsync($"error: {SiloErrors.LastWords(e)}");
    return 2;
}
catch (Exception e) when (!verbose)
{
    // A server that refused us, a store that cannot be reached: one line, no stack trace (--verbose shows it).
    await Console.Error.WriteLineAsync($"error: the silo could not start: {SiloErrors.LastWords(e)}");
    return 1;
}
