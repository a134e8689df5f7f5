using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using ParameterServer.Grains;

// The standalone silo: localhost clustering, ports from configuration (appsettings.json, environment variables
// such as Orleans__SiloPort, or --Orleans:GatewayPort=30001 on the command line), logging to the console.
var builder = Host.CreateApplicationBuilder(args);
var orleans = builder.Configuration.GetSection("Orleans");
int siloPort = orleans.GetValue("SiloPort", 11111);
int gatewayPort = orleans.GetValue("GatewayPort", 30000);
int primaryPort = orleans.GetValue("PrimarySiloPort", siloPort);
string clusterId = orleans.GetValue("ClusterId", ParameterServerSilo.DefaultClusterId)!;
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering(siloPort, gatewayPort, new IPEndPoint(IPAddress.Loopback, primaryPort), clusterId, clusterId);
    silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = IPAddress.Loopback);
    silo.AddParameterServer();
});

using var host = builder.Build();
host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ParameterServer.Silo")
    .LogInformation("Silo starting: silo port {SiloPort}, gateway port {GatewayPort}, cluster {ClusterId}", siloPort, gatewayPort, clusterId);
await host.RunAsync();
