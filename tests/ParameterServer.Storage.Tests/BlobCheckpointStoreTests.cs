using Azure.Storage.Blobs;
using ParameterServer.Core.Storage.Checkpoints;
using ParameterServer.Grains;

namespace ParameterServer.Storage.Tests;

/// <summary>The object-store contract, and the start-up check, on Azurite's Blob service.</summary>
public sealed class BlobCheckpointStoreTests(EmulatorServer<Azurite> server) : ObjectCheckpointStoreContract, IClassFixture<EmulatorServer<Azurite>>
{
    private const string Program = "azurite-blob";

    /// <inheritdoc/>
    protected override IObjectStore Create(string name) => Create(name, server.Emulator.ConnectionString());

    private static AzureBlobObjectStore Create(string container, string connectionString) =>
        new(new BlobContainerClient(connectionString, container));

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
    public Task A_sequence_taken_by_another_writer_is_not_overwritten() => ASequenceTakenByAnotherWriterIsNotOverwritten();

    [EmulatorFact(Program)]
    public Task Silos_starting_together_all_pass_the_check_of_a_new_container() => SilosStartingTogetherAllPassTheCheckOfANewStore();

    [EmulatorFact(Program)]
    public async Task The_start_check_creates_a_missing_container_and_leaves_no_probe()
    {
        string container = $"new-{Guid.NewGuid():N}"[..30];
        var options = new CheckpointOptions { Blob = { ConnectionString = server.Emulator.ConnectionString(), Container = container, Prefix = "prod/" } };
        options.Validate();
        var store = Assert.IsType<ObjectCheckpointStore>(options.CreateStore());
        await store.EnsureWritableAsync();
        Assert.Empty(await Create(container).ListAsync("", default));
        Assert.Contains($"Azure Blob container '{container}' under 'prod/'", options.Where, StringComparison.Ordinal);
    }

    [EmulatorFact(Program)]
    public async Task A_wrong_key_fails_the_start_check_without_showing_the_key()
    {
        string wrongKey = Convert.ToBase64String(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        var store = new ObjectCheckpointStore(Create("checkpoints", server.Emulator.ConnectionString(wrongKey)), "");
        var e = await Assert.ThrowsAsync<IOException>(() => store.EnsureWritableAsync());
        Assert.StartsWith($"Checkpoints: cannot write to http://127.0.0.1:{server.Emulator.Port}/devstoreaccount1/checkpoints/: 403 ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(wrongKey, e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Azurite.AccountKey, e.ToString(), StringComparison.Ordinal);
    }
}
