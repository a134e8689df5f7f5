using System.Reflection;
using System.Runtime.CompilerServices;

namespace ParameterServer.Embed;

/// <summary>
/// Compiles the methods of a training step (the worker's step client and batch loop, the in-process shards' stores,
/// the optimizer kernels) on a background thread while a job reads its data and starts its silo, so the first epoch
/// runs compiled code instead of waiting for the JIT on the training threads (the console runs without tiered
/// compilation: every method is compiled fully optimized at its first call, about 60 ms of a MovieLens job's first
/// epoch of 85 ms). The work is the same the first epoch would do, moved off the critical path onto a core that
/// start-up leaves partly idle. <c>EMBED_PRECOMPILE=off</c> turns it off.
/// </summary>
internal static class TrainingPathCompiler
{
    /// <summary>The types whose methods (and those of their nested types: async state machines, closures) run in every step.</summary>
    internal static readonly (Type Anchor, string Name)[] Types =
    [
        (typeof(Client.StepClient), "ParameterServer.Client.StepClient"),
        (typeof(Client.StepClient), "ParameterServer.Client.StepTicket"),
        (typeof(Client.StepClient), "ParameterServer.Client.PushWindow"),
        (typeof(Client.StepClient), "ParameterServer.Client.TableClient"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.EpochDriver"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.RatingTrainer"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.PulledTicket"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.DistinctRows"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.BatchBuffers"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Storage.ShardStore"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Storage.RowIndex"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Storage.RowInitializer"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Routing.ShardPlan"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Models.RatingModel"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Optimizers.OptimizerSettings"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Kernels.AdamStep"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Kernels.AdagradStep"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Kernels.SgdStep"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Kernels.FiniteCheck"),
        (typeof(Core.Storage.ShardStore), "ParameterServer.Core.Kernels.BoxMuller"),
        (typeof(Grains.ShardGrain), "ParameterServer.Grains.LocalShard"),
        (typeof(Grains.ShardGrain), "ParameterServer.Grains.LocalShards"),
    ];

    /// <summary>Starts compiling on a background thread (unless turned off); answers the thread's work.</summary>
    public static Task Start()
    {
        if (string.Equals(Environment.GetEnvironmentVariable("EMBED_PRECOMPILE"), "off", StringComparison.OrdinalIgnoreCase))
        {
            return Task.CompletedTask;
        }

        return Task.Factory.StartNew(() => Compile(Resolve()), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The listed types; a name that no longer resolves throws (a test keeps the list true).</summary>
    internal static Type[] Resolve() =>
        [.. Types.Select(t => t.Anchor.Assembly.GetType(t.Name) ?? throw new InvalidOperationException($"Training path type '{t.Name}' not found in {t.Anchor.Assembly.GetName().Name}."))];

    /// <summary>Compiles every non-generic method with a body of <paramref name="types"/> and their nested types; answers how many.</summary>
    internal static int Compile(IEnumerable<Type> types)
    {
        int compiled = 0;
        var pending = new Stack<Type>(types);
        while (pending.TryPop(out var type))
        {
            if (type.ContainsGenericParameters)
            {
                continue;
            }

            foreach (var nested in type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
            {
                pending.Push(nested);
            }

            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method.IsAbstract || method.ContainsGenericParameters || (method.MethodImplementationFlags & MethodImplAttributes.InternalCall) != 0)
                {
                    continue;
                }

                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                    compiled++;
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or BadImageFormatException or TypeLoadException)
                {
                    // Not compilable ahead of its first call (an instantiation it needs); it compiles when called.
                }
            }
        }

        return compiled;
    }
}
