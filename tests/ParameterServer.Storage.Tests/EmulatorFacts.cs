namespace ParameterServer.Storage.Tests;

/// <summary>A fact that needs an emulator: skipped with the reason when it is not installed (never in CI: see <see cref="Emulator"/>).</summary>
public sealed class EmulatorFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute for <paramref name="program"/>.</summary>
    public EmulatorFactAttribute(string program) => Skip = Emulator.SkipReason(program);
}

/// <summary>A theory that needs an emulator (see <see cref="EmulatorFactAttribute"/>).</summary>
public sealed class EmulatorTheoryAttribute : TheoryAttribute
{
    /// <summary>Creates the attribute for <paramref name="program"/>.</summary>
    public EmulatorTheoryAttribute(string program) => Skip = Emulator.SkipReason(program);
}
