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
    internal static readonly Type[] PublicTypes =
    [
        typeof(Client.StepClient), typeof(Client.StepTicket), typeof(Client.PushWindow), typeof(Client.TableClient),
        typeof(Client.Training.RatingTrainer), typeof(Grains.LocalShards),
        typeof(Core.Storage.ShardStore), typeof(Core.Storage.RowIndex), typeof(Core.Storage.RowInitializer),
        typeof(Core.Routing.ShardPlan), typeof(Core.Models.RatingModel), typeof(Core.Optimizers.OptimizerSettings),
        typeof(Core.Kernels.AdamStep), typeof(Core.Kernels.AdagradStep), typeof(Core.Kernels.SgdStep),
        typeof(Core.Kernels.FiniteCheck), typeof(Core.Kernels.BoxMuller),
    ];

    /// <summary>The internal ones, by name in the assembly of a public type beside them.</summary>
    internal static readonly (Type Beside, string Name)[] InternalTypes =
    [
        (typeof(Client.StepClient), "ParameterServer.Client.Training.EpochDriver"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.PulledTicket"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.DistinctRows"),
        (typeof(Client.StepClient), "ParameterServer.Client.Training.BatchBuffers"),
        (typeof(Grains.LocalShards), "ParameterServer.Grains.LocalShard"),
    ];

    /// <summary>Starts compiling on a background thread, unless turned off; never waited for (a method it has not reached compiles when called).</summary>
    public static void Start()
    {
        if (!string.Equals(Environment.GetEnvironmentVariable("EMBED_PRECOMPILE"), "off", StringComparison.OrdinalIgnoreCase))
        {
            new Thread(() => Compile(Resolve())) { IsBackground = true, Name = "training path compiler" }.Start();
        }
    }

    /// <summary>Every listed type; an internal name that no longer resolves throws (a test keeps the list true).</summary>
    internal static Type[] Resolve() =>
        [.. PublicTypes, .. InternalTypes.Select(t => t.Beside.Assembly.GetType(t.Name) ?? throw new InvalidOperationException($"Training path type '{t.Name}' not found in {t.Beside.Assembly.GetName().Name}."))];

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
