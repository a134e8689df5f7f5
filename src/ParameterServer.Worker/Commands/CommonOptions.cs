using System.CommandLine;

namespace ParameterServer.Worker.Commands;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    public static Option<string?> Cluster() => new("--cluster")
    {
        Description = "Gateway address(es) of a running cluster, e.g. localhost:30000 or host1:30000,host2:30000. Without it, a silo starts inside this process and its tables live as long as the process.",
    };

    public static Option<string> TablePrefix() => new("--table-prefix")
    {
        Description = "Prefix of the model's table names ({prefix}.users, .items, .user_bias, .item_bias).",
        DefaultValueFactory = _ => "ratings",
    };

    public static Option<string> Model(string defaultValue) => new("--model")
    {
        Description = "Rating model: dot (u·v), dot-bias (sigmoid(u·v+b_u+b_i)·(max−min)+min) or mf (mu+b_u+b_i+u·v).",
        DefaultValueFactory = _ => defaultValue,
    };
}
