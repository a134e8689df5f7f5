using ParameterServer.Core.Storage.Checkpoints;
using ParameterServer.Grains;

namespace ParameterServer.Storage.Tests;

/// <summary>The object-store contract, and the start-up check, on s3rver (an S3 API server).</summary>
public sealed class S3CheckpointStoreTests(EmulatorServer<S3rver> server) : ObjectCheckpointStoreContract, IClassFixture<EmulatorServer<S3rver>>
{
    private const string Program = "s3rver";

    /// <inheritdoc/>
    protected override IObjectStore Create(string name) => S3ObjectStore.Create(Options(name));

    private S3CheckpointOptions Options(string bucket, string key = "S3RVER", string secret = "S3RVER") =>
        new() { Bucket = bucket, ServiceUrl = server.Emulator.Url, AccessKey = key, SecretKey = secret };

    [EmulatorFact(Program)]
    public Task Round_trip_is_exact() => RoundTripIsExact();

    [EmulatorTheory(Program)]
    [InlineData("half")]
    [InlineData("empty")]
    [InlineData("last byte cut")]
    [InlineData("flipped byte")]
    public Task Torn_newest_falls_back_to_the_previous(string tear) => TornNewestFallsBackToThePrevious(tear);

    [EmulatorFact(Program)]
    public Task Keeps_the_newest_n() => KeepsTheNewestN();

    [EmulatorFact(Program)]
    public Task Records_list_and_delete_touch_only_their_table() => RecordsListAndDeleteTouchOnlyTheirTable();

    [EmulatorFact(Program)]
    public Task Silos_starting_together_all_pass_the_check_of_a_new_bucket() => SilosStartingTogetherAllPassTheCheckOfANewStore();

    [EmulatorFact(Program)]
    public async Task The_start_check_creates_a_missing_bucket_and_leaves_no_probe()
    {
        string bucket = $"new-{Guid.NewGuid():N}"[..30];
        var options = new CheckpointOptions { S3 = Options(bucket) };
        options.S3.Prefix = "prod/";
        options.Validate();
        var store = Assert.IsType<ObjectCheckpointStore>(options.CreateStore());
        await store.EnsureWritableAsync();
        Assert.Empty(await Create(bucket).ListAsync("", default));
        Assert.Equal($"{server.Emulator.Url}/{bucket}/prod/", options.Where);
    }

    [EmulatorFact(Program)]
    public async Task Unknown_credentials_fail_the_start_check_without_showing_the_secret()
    {
        // s3rver knows one key pair and checks the key id (not the signature): an unknown id is refused.
        const string wrong = "not-the-secret-0123456789";
        var store = new ObjectCheckpointStore(S3ObjectStore.Create(Options("checkpoints", "NOBODY", wrong)), "");
        var e = await Assert.ThrowsAsync<IOException>(() => store.EnsureWritableAsync());
        Assert.StartsWith($"Checkpoints: cannot write to {server.Emulator.Url}/checkpoints/: 403 InvalidAccessKeyId", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_where_nothing_listens_fails_the_check_naming_it()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var options = new S3CheckpointOptions { Bucket = "checkpoints", ServiceUrl = $"http://127.0.0.1:{port}", AccessKey = "id", SecretKey = "secret-never-shown" };
        var store = new ObjectCheckpointStore(S3ObjectStore.Create(options), "p/");
        var e = await Assert.ThrowsAsync<IOException>(() => store.EnsureWritableAsync());
        Assert.StartsWith($"Checkpoints: cannot write to http://127.0.0.1:{port}/checkpoints/p/: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-never-shown", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
