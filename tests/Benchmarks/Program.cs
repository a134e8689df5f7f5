using BenchmarkDotNet.Running;
using ParameterServer.Benchmarks.Wire;

namespace ParameterServer.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/Benchmarks -- --filter *</c> runs the BenchmarkDotNet suites;
/// <c>-- wire</c> prints the serialized bytes per row of a pull and a push of 1,024 rows x 64 dims;
/// <c>-- telemetry [ratings.csv] [pairs]</c> compares training samples/s with metrics off and on.
/// </summary>
public static class Program
{
    public static async Task Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "wire")
        {
            await WireSize.PrintAsync(rows: 1024, dim: 64);
            return;
        }

        if (args.Length > 0 && args[0] == "telemetry")
        {
            string ratings = args.Length > 1 ? args[1] : "synthetic";
            int pairs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20;
            await Telemetry.TelemetryOverhead.RunAsync(ratings, pairs);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
