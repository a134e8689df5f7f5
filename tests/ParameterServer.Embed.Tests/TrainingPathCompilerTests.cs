namespace ParameterServer.Embed.Tests;

/// <summary>The background compile of the training path: its list of types stays true as code moves, and it compiles them without throwing.</summary>
public sealed class TrainingPathCompilerTests
{
    [Fact]
    public void Every_listed_type_exists_and_its_methods_compile()
    {
        var types = TrainingPathCompiler.Resolve();
        Assert.Equal(TrainingPathCompiler.PublicTypes.Length + TrainingPathCompiler.InternalTypes.Length, types.Length);
        Assert.Equal(types.Length, types.Distinct().Count());

        // Hundreds of methods: the step client, the stores, the kernels and their nested state machines.
        Assert.True(TrainingPathCompiler.Compile(types) > 300);
    }
}
