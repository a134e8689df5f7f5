using System.CommandLine;

namespace ParameterServer.Embed.Options;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    public static Option<string?> Cluster() => new("--cluster")
    {
        Description = "A running cluster: gateway address(es) such as localhost:30000 or host1:30000,host2:30000, redis://host:6379 to find the silos through Redis membership, or redis to take that connection string from Orleans__Clustering__ConnectionString (the cluster id comes from Orleans__ClusterId, the call timeout from Orleans__Messaging__ResponseTimeout, as on the silos). Without it, a silo starts inside this process and its tables live as long as the process.",
    };

    public static Option<string> TablePrefix() => new("--table-prefix")
    {
        Description = "Prefix of the model's table names ({prefix}.users, .items, .user_bias, .item_bias).",
        DefaultValueFactory = _ => "ratings",
    };

    public static Option<string> Model(string defaultValue) => new("--model")
    {
        Description = "Model: dot (u·v), dot-bias (sigmoid(u·v+b_u+b_i)·(max−min)+min) or mf (mu+b_u+b_i+u·v) on --ratings, or tabular (embeddings of --categorical columns and --numeric columns into a dense head) on --data.",
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary>How a training step's values travel to and from silos of other processes.</summary>
    public static Option<string> Wire() => new("--wire")
    {
        Description = "How a step's rows and gradients travel to and from silos of other processes (with --cluster): f32 (exact) or bf16 (bfloat16: half the bytes of values, relative rounding error at most 2^-8 per value; the silo still keeps and updates float32 rows). An embedded silo's shards are served in process, exact either way.",
        DefaultValueFactory = _ => "f32",
    };

    /// <summary>The <see cref="Abstractions.WireValues"/> <paramref name="text"/> names (f32 or bf16).</summary>
    public static Abstractions.WireValues ParseWire(string text) => text.Trim().ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" => Abstractions.WireValues.Float32,
        "bf16" or "bfloat16" => Abstractions.WireValues.BFloat16,
        _ => throw new ArgumentException($"--wire '{text}' is not a wire format: f32 or bf16."),
    };

    /// <summary>The name of <paramref name="wire"/> as --wire takes it.</summary>
    public static string NameOf(Abstractions.WireValues wire) => wire == Abstractions.WireValues.BFloat16 ? "bf16" : "f32";

    /// <summary>The exporter options every long-running command takes.</summary>
    public static TelemetryOptions Telemetry() => new(
        new Option<int?>("--metrics-port") { Description = "Serve Prometheus metrics of this process (the ParameterServer meter, Orleans, .NET runtime) on http://127.0.0.1:PORT/metrics." },
        new Option<string?>("--otlp-endpoint") { Description = "Export metrics and traces by OTLP to this endpoint (e.g. http://localhost:4317)." },
        new Option<double>("--metrics-linger") { Description = "Seconds to keep serving metrics after the job ends, so a scraper sees the final values.", DefaultValueFactory = _ => 0 },
        new Option<string>("--metrics-address") { Description = "Address the metrics listener binds: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface, for a scraper in another container or pod).", DefaultValueFactory = _ => "127.0.0.1" });
}

/// <summary>The exporter options of a command.</summary>
internal sealed record TelemetryOptions(Option<int?> Port, Option<string?> Otlp, Option<double> Linger, Option<string> Address)
{
    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Port);
        command.Options.Add(Otlp);
        command.Options.Add(Linger);
        command.Options.Add(Address);
    }

    /// <summary>Starts the exporters the parsed options ask for.</summary>
    public Task<WorkerTelemetry> Start(ParseResult p) => WorkerTelemetry.StartAsync(p.GetValue(Port), p.GetValue(Otlp) ?? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"), p.GetValue(Linger), p.GetValue(Address)!);
}
