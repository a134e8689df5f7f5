namespace ParameterServer.Silo;

/// <summary>The result of <see cref="SiloHost.CheckConfiguration"/>.</summary>
/// <param name="KeysRead">Every configuration key the silo reads (for example <c>Orleans:GatewayPort</c>).</param>
/// <param name="Unknown">Keys set under the silo's sections that it does not read: misspelt or misplaced.</param>
/// <param name="Options">The settings the silo would run with.</param>
public sealed record ConfigurationCheck(string[] KeysRead, string[] Unknown, SiloHostOptions Options);
