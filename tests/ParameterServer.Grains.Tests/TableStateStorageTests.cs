using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using ParameterServer.Abstractions;
using ParameterServer.Core.Optimizers;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// A table's state as grain storage keeps it (JSON with type names, Orleans' storage serializer): written on one silo,
/// it must read back on a silo that never wrote one, which resolves only the type names it allows. The spec's computed
/// views (optimizer settings, row initializer) once went into the record with the type names of Core types, and a table
/// grain that moved to a silo that joined later failed to start ("type ... is not allowed").
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TableStateStorageTests(ClusterFixture fixture)
{
    private static readonly TableSpec Spec = new()
    {
        Name = "stored-spec",
        Dim = 16,
        Shards = 4,
        Optimizer = OptimizerKind.Adagrad,
        LearningRate = 0.05f,
        WeightDecay = 0.001f,
        Epsilon = 1e-10f,
        Seed = 7,
    };

    private IGrainStorageSerializer SerializerOf(int silo) =>
        ((InProcessSiloHandle)fixture.Cluster.Silos[silo % fixture.Cluster.Silos.Count]).ServiceProvider.GetRequiredService<IGrainStorageSerializer>();

    [Fact]
    public void A_tables_state_names_no_computed_type_and_reads_back_on_another_silo()
    {
        var state = new TableState { Spec = Spec, Metadata = { ["model"] = "mf" }, ShardsCheckpointed = true };
        var stored = SerializerOf(0).Serialize(state);
        string json = stored.ToString();
        Assert.DoesNotContain("OptimizerSettings", json, StringComparison.Ordinal);
        Assert.DoesNotContain("RowInitializer", json, StringComparison.Ordinal);

        var back = SerializerOf(1).Deserialize<TableState>(stored)!;
        Assert.Equal(Spec, back.Spec);
        Assert.Equal("mf", back.Metadata["model"]);
        Assert.True(back.ShardsCheckpointed);
        Assert.Equal(Spec.OptimizerSettings, back.Spec!.OptimizerSettings);
    }

    [Fact]
    public void A_record_written_before_still_reads_with_the_views_it_holds_skipped()
    {
        // The form earlier builds stored: the computed views inside the spec, with their Core type names.
        string json = SerializerOf(0).Serialize(new TableState { Spec = Spec }).ToString();
        int spec = json.IndexOf("\"Name\"", StringComparison.Ordinal);
        Assert.True(spec > 0, json);
        string old = json.Insert(spec, "\"OptimizerSettings\":{\"$type\":\"ParameterServer.Core.Optimizers.OptimizerSettings, ParameterServer.Core\",\"Kind\":1,\"LearningRate\":0.05},"
            + "\"RowInitializer\":{\"$type\":\"ParameterServer.Core.Storage.RowInitializer, ParameterServer.Core\",\"Kind\":0},");

        var back = SerializerOf(1).Deserialize<TableState>(new BinaryData(Encoding.UTF8.GetBytes(old)))!;
        Assert.Equal(Spec, back.Spec);
    }
}
