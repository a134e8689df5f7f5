using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using ParameterServer.Silo;

namespace ParameterServer.Observability.Tests;

/// <summary>The standalone silo's HTTP endpoints, served for real on loopback ports.</summary>
public sealed class SiloHostTests
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task<(Microsoft.AspNetCore.Builder.WebApplication App, HttpClient Http)> StartAsync(params string[] extra)
    {
        int silo = FreePort(), gateway = FreePort(), http = FreePort();
        string[] args = [$"--Orleans:SiloPort={silo}", $"--Orleans:GatewayPort={gateway}", $"--Orleans:ClusterId=host-test-{Guid.NewGuid():N}", $"--Http:Port={http}", .. extra];
        var app = SiloHost.Build(args);
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(30) };
        return (app, client);
    }

    [Fact]
    public async Task Healthz_ready_metrics_and_dashboard_answer()
    {
        var (app, http) = await StartAsync();
        await using (app)
        using (http)
        {
            // The host's StartAsync returns only once the silo has joined its cluster: ready at once, no polling.
            var ready = await http.GetAsync("/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
            Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
            // The container HEALTHCHECK: the silo binary asks its own /healthz on the configured port.
            Assert.Equal(0, await SiloHost.HealthCheckAsync([$"--Http:Port={http.BaseAddress!.Port}"]));
            Assert.Equal(1, await SiloHost.HealthCheckAsync([$"--Http:Port={FreePort()}"]));
            string metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("orleans_", metrics, StringComparison.Ordinal);
            Assert.Contains("dotnet_process_memory_working_set_bytes", metrics, StringComparison.Ordinal);
            string dashboard = await http.GetStringAsync("/dashboard/");
            Assert.Contains("<title>Orleans Dashboard</title>", dashboard, StringComparison.Ordinal);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Dashboard_credentials_are_required_when_configured()
    {
        var (app, http) = await StartAsync("--Http:DashboardUser=ops", "--Http:DashboardPassword=s3cret");
        await using (app)
        using (http)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/dashboard/")).StatusCode);
            var wrong = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:nope")));
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
            var right = new HttpRequestMessage(HttpMethod.Get, "/dashboard/");
            right.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:s3cret")));
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(right)).StatusCode);

            // Health and metrics stay open for probes and scrapers.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
            await app.StopAsync();
        }
    }

    [Theory]
    [InlineData(new string[0], true)]
    [InlineData(new[] { "--Http:Address=0.0.0.0" }, false)]
    [InlineData(new[] { "--Http:Address=0.0.0.0", "--Http:DashboardUser=ops", "--Http:DashboardPassword=s3cret" }, true)]
    [InlineData(new[] { "--Http:Address=0.0.0.0", "--Http:Dashboard=true" }, true)]
    [InlineData(new[] { "--Http:Dashboard=false" }, false)]
    public void The_dashboard_is_served_without_credentials_only_on_loopback_unless_asked(string[] args, bool served)
    {
        var o = SiloHost.CheckConfiguration(args).Options;
        Assert.Equal(served, o.DashboardServed);
        Assert.Equal(args.Contains("--Http:Dashboard=true"), o.DashboardOpen);
    }

    [Fact]
    public async Task A_silo_on_every_interface_without_credentials_serves_no_dashboard()
    {
        var (app, http) = await StartAsync("--Http:Address=0.0.0.0");
        await using (app)
        using (http)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dashboard/")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
            await app.StopAsync();
        }
    }

    [Theory]
    [InlineData("--Http:Port=70000", "Http:Port = 70000")]
    [InlineData("--Orleans:GatewayPort=0", "Orleans:GatewayPort = 0")]
    [InlineData("--Http:Address=localhost", "Http:Address = 'localhost'")]
    [InlineData("--Http:DashboardUser=ops", "go together")]
    [InlineData("--Orleans:AdvertisedIP=a b", "Orleans:AdvertisedIP = 'a b' is neither an IP address nor a host name")]
    [InlineData("--Orleans:AdvertisedIP=no-such-host.invalid", "Orleans:AdvertisedIP = 'no-such-host.invalid' does not resolve")]
    [InlineData("--Orleans:Messaging:ResponseTimeout=00:00:00.5", "Orleans:Messaging:ResponseTimeout = 00:00:00.5000000 is out of range")]
    [InlineData("--Orleans:Membership:NumMissedProbesLimit=0", "NumMissedProbesLimit (0)")]
    [InlineData("--Orleans:Messaging:TransportBlockSize=1000", "Orleans:Messaging:TransportBlockSize = '1000' is not a block size")]
    [InlineData("--Orleans:Messaging:TransportBlockSize=2097152", "Orleans:Messaging:TransportBlockSize = '2097152' is not a block size")]
    [InlineData("--Orleans:Membership:DeadSiloLease=00:11:00", "Orleans:Membership:DeadSiloLease = 00:11:00 is out of range")]
    public void Bad_settings_are_refused_with_the_setting_named(string arg, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => SiloHost.Build([arg]));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_config_lists_the_keys_read_and_the_keys_set_but_not_read()
    {
        var check = SiloHost.CheckConfiguration(["--Orleans:Clustering:ProviderType=Redis", "--Orleans:Clustering:ConnectionString=redis:6379,password=hush",
            "--Orleans:AdvertisedIP=10.1.2.3", "--Orleans:Messaging:ResponseTimeout=00:00:05", "--Orleans:Membership:ProbeTimeout=00:00:02",
            "--Orleans:Membership:DeadSiloLease=00:00:08", "--Orleans:Messaging:TransportBlockSize=131072", "--Checkpoints:Directory=/checkpoints", "--Orleans:GatwayPort=30001", "--Http:Dashbord=false", "--Logging:LogLevel:Default=Debug"]);
        foreach (string key in new[] { "Orleans:SiloPort", "Orleans:GatewayPort", "Orleans:Clustering:ConnectionString", "Orleans:AdvertisedIP",
            "Orleans:ListenOnAnyHostAddress", "Orleans:Messaging:ResponseTimeout", "Orleans:Messaging:TransportBlockSize", "Orleans:Membership:ProbeTimeout", "Orleans:Membership:DeadSiloLease", "Http:Port", "Http:Address",
            "Http:DashboardUser", "Http:DashboardPassword", "Checkpoints:Directory", "Checkpoints:Interval", "Checkpoints:Keep", "Otlp:Endpoint" })
        {
            Assert.Contains(key, check.KeysRead, StringComparer.OrdinalIgnoreCase);
        }

        // Misspelt keys under the silo's sections are reported; other sections (Logging) are not the silo's to judge.
        Assert.Equal(["Http:Dashbord", "Orleans:GatwayPort"], check.Unknown);
        Assert.True(check.Options.UsesRedis);
        Assert.Equal("10.1.2.3", check.Options.AdvertisedAddress);
        Assert.Equal(TimeSpan.FromSeconds(5), check.Options.ResponseTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), check.Options.ProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(8), check.Options.DeadSiloLease);
        Assert.Equal(131072, check.Options.TransportBlockSize);
        Assert.Equal("redis:6379,password=***", check.Options.Redacted().ClusteringConnectionString);
    }

    [Theory]
    [InlineData("10.1.2.3", "10.1.2.3")]
    [InlineData("localhost", "127.0.0.1")]
    public void Advertised_address_is_an_ip_or_a_host_name_resolved_at_start(string setting, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), new SiloHostOptions { AdvertisedAddress = setting }.ResolveAdvertisedAddress());
    }
}
