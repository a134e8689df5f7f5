using ParameterServer.Silo;

// The standalone silo. Settings come from appsettings.json, environment variables (Orleans__GatewayPort=30001,
// Http__Port=8081) or the command line (--Orleans:GatewayPort=30001 --Http:Port=8081); see SiloHostOptions.
try
{
    await using var app = SiloHost.Build(args);
    await app.RunAsync();
    return 0;
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"error: {e.Message}");
    return 2;
}
