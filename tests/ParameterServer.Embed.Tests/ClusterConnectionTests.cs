namespace ParameterServer.Embed.Tests;

/// <summary>How the console reads <c>--cluster</c> and the settings it shares with the silos.</summary>
public sealed class ClusterConnectionTests
{
    [Theory]
    [InlineData("redis://10.0.0.5:6379", null, "10.0.0.5:6379")]
    [InlineData("redis://r:6379,password=x", "ignored:1", "r:6379,password=x")]
    [InlineData("redis", "redis-master:6379,password=s", "redis-master:6379,password=s")]
    [InlineData("REDIS://", "r:6379", "r:6379")]
    [InlineData("localhost:30000", "r:6379", null)]
    public void Redis_connection_string_comes_from_the_option_or_the_environment(string cluster, string? environment, string? expected)
    {
        Assert.Equal(expected, ClusterConnection.RedisConnectionString(cluster, environment));
    }

    [Fact]
    public void Redis_without_a_connection_string_names_the_variable()
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterConnection.RedisConnectionString("redis", null));
        Assert.Contains("Orleans__Clustering__ConnectionString", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 20.0)]
    [InlineData("00:00:05", 5.0)]
    [InlineData("00:02:00", 120.0)]
    public void Response_timeout_defaults_to_20_s_and_reads_the_setting(string? setting, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), ClusterConnection.ResponseTimeout(setting));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("00:00:00.5")]
    [InlineData("01:00:00")]
    [InlineData("soon")]
    public void Response_timeout_out_of_range_is_refused(string setting)
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterConnection.ResponseTimeout(setting));
        Assert.Contains($"Orleans__Messaging__ResponseTimeout = '{setting}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 65536)]
    [InlineData("4096", 4096)]
    [InlineData("262144", 262144)]
    public void Transport_block_defaults_to_64_KiB_and_reads_the_setting(string? setting, int bytes)
    {
        Assert.Equal(bytes, ClusterConnection.TransportBlock(setting));
    }

    [Theory]
    [InlineData("64k")]
    [InlineData("1000")]
    [InlineData("-4096")]
    [InlineData("2097152")]
    public void Transport_block_out_of_range_is_refused(string setting)
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterConnection.TransportBlock(setting));
        Assert.Contains($"Orleans__Messaging__TransportBlockSize = '{setting}' is not a block size", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 15)]
    [InlineData("3", 3)]
    [InlineData("00:00:40", 40)]
    public void Connect_timeout_defaults_to_15_s_and_reads_the_setting(string? setting, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ClusterConnection.ConnectTimeout(setting));

    [Theory]
    [InlineData("0")]
    [InlineData("soon")]
    [InlineData("00:20:00")]
    public void Connect_timeout_out_of_range_is_refused(string setting) =>
        Assert.Contains($"EMBED_CONNECT_TIMEOUT = '{setting}'", Assert.Throws<ArgumentException>(() => ClusterConnection.ConnectTimeout(setting)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("127.0.0.1:6379,password=hunter2", "127.0.0.1:6379,password=***")]
    [InlineData("redis:6379,Password=s3cr3t,ssl=true", "redis:6379,Password=***,ssl=true")]
    [InlineData("127.0.0.1:6379", "127.0.0.1:6379")]
    public void Passwords_are_masked(string text, string masked) => Assert.Equal(masked, ClusterConnection.MaskSecrets(text));

    [Fact]
    public async Task A_gateway_that_does_not_answer_fails_within_the_connect_timeout_naming_address_and_cluster_id()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        Environment.SetEnvironmentVariable("EMBED_CONNECT_TIMEOUT", "2");
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ClusterConnection.StartAsync($"localhost:{port}"));
            Assert.Contains($"127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
            Assert.Contains("cluster id 'parameter-server'", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("\n", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("EMBED_CONNECT_TIMEOUT", null);
        }

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), $"took {started.Elapsed}");
    }
}
