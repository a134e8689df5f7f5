using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using ParameterServer.Abstractions;

namespace ParameterServer.Grains.Tests;

/// <summary>
/// The hot-path messages through the cluster's own serializer: ids and values come back bit for bit (NaN payloads,
/// extreme ids, empty messages), a message costs its raw bytes plus a few header bytes rather than varint ids,
/// and a block referenced twice in one message is read back as one object.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WireCodecTests(ClusterFixture fixture)
{
    private Serializer Serializer => fixture.Cluster.Client.ServiceProvider.GetRequiredService<Serializer>();

    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 1)]
    [InlineData(1024, 64)]
    public void Pull_push_and_blocks_round_trip_bit_for_bit_at_their_raw_size(int rows, int dim)
    {
        var rng = new Random(rows + dim);
        long[] ids = Enumerable.Range(0, rows).Select(i => i switch { 0 => long.MinValue, 1 => long.MaxValue, 2 => -1, _ => rng.NextInt64(long.MinValue, long.MaxValue) }).ToArray();
        var values = Enumerable.Range(0, rows * dim).Select(i => i == 3 ? BitConverter.Int32BitsToSingle(0x7FC0_1234) : (float)rng.NextDouble() - 0.5f).ToArray();
        var block = RowBlock.From(values, rows, dim);

        var pull = Serializer.Deserialize<PullRequest>(Serializer.SerializeToArray(new PullRequest(ids)))!;
        Assert.Equal(ids, pull.Ids);

        var push = Serializer.Deserialize<PushRequest>(Serializer.SerializeToArray(new PushRequest(ids, block)))!;
        Assert.Equal(ids, push.Ids);
        Assert.Equal((rows, dim), (push.Gradients.Rows, push.Gradients.Dim));
        Assert.Equal(block.Bytes.ToArray(), push.Gradients.Bytes.ToArray());

        var back = Serializer.Deserialize<RowBlock>(Serializer.SerializeToArray(block))!;
        Assert.Equal((rows, dim), (back.Rows, back.Dim));
        Assert.Equal(block.Bytes.ToArray(), back.Bytes.ToArray()); // byte for byte, so the NaN payload survives

        // Raw bytes plus a small header: 8 bytes an id, 4 a value.
        int raw = (rows * 8) + (rows * dim * 4);
        Assert.InRange(Serializer.SerializeToArray(new PushRequest(ids, block)).Length, raw + 12, raw + 32);
        Assert.InRange(Serializer.SerializeToArray(new PullRequest(ids)).Length, rows * 8, (rows * 8) + 16);
    }

    [Fact]
    public void A_pooled_block_travels_as_its_values_only_and_a_block_read_off_the_wire_is_its_receivers_to_give_back()
    {
        // 3 x 5 floats in a rented array that is longer than 60 bytes: only the 60 bytes of values go on the wire.
        var sent = RowBlock.Rent(3, 5);
        Assert.True(sent.Pooled);
        Assert.False(sent.FromWire);
        Assert.Equal(60, sent.Length);
        Assert.True(sent.Data.Length >= 60);
        float[] values = [.. Enumerable.Range(0, 15).Select(i => i * 0.5f - 3f)];
        values.CopyTo(sent.Writable);
        byte[] wire = Serializer.SerializeToArray(new PushRequest([1, 2, 3], sent));
        Assert.Equal(Serializer.SerializeToArray(new PushRequest([1, 2, 3], RowBlock.From(values, 3, 5))), wire);

        var received = Serializer.Deserialize<PushRequest>(wire)!.Gradients;
        Assert.True(received.FromWire);
        Assert.True(received.Pooled);
        Assert.Equal(values, received.Values.ToArray());

        // Given back once however often it is called; a block that is not pooled has nothing to give back.
        received.Return();
        received.Return();
        sent.Return();
        RowBlock.From(values, 3, 5).Return();
        Assert.False(RowBlock.From(values, 3, 5).Pooled);
    }

    [Fact]
    public void An_answer_block_goes_back_to_the_pool_once_written()
    {
        // A shard's pull answer is rented for the one message it answers: the codec gives its array back as soon as the
        // values are in the message (the pool then hands the same array out again), and the receiver gets its own copy.
        var answer = RowBlock.RentAnswer(3, 5);
        Assert.True(answer.ReturnsWhenWritten);
        float[] values = [.. Enumerable.Range(0, 15).Select(i => i * 0.25f)];
        values.CopyTo(answer.Writable);
        byte[] data = answer.Data;
        byte[] wire = Serializer.SerializeToArray(answer);
        Assert.Same(data, System.Buffers.ArrayPool<byte>.Shared.Rent(60));
        Assert.Equal(values, Serializer.Deserialize<RowBlock>(wire)!.Values.ToArray());
        Assert.False(RowBlock.Rent(3, 5).ReturnsWhenWritten);
    }

    [Fact]
    public void A_block_referenced_twice_is_read_back_as_one_object()
    {
        var block = RowBlock.From([1f, 2f, 3f, 4f], 2, 2);
        var pair = Serializer.Deserialize<RowBlock[]>(Serializer.SerializeToArray(new[] { block, block }))!;
        Assert.Same(pair[0], pair[1]);
        Assert.Equal(block.Bytes.ToArray(), pair[0].Bytes.ToArray());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3000, 3)] // 9,000 values: several conversion pieces, and a tail
    public void A_bfloat16_block_travels_at_two_bytes_a_value_and_is_read_back_as_float32_rounded(int rows, int dim)
    {
        var rng = new Random(rows);
        float[] values = [.. Enumerable.Range(0, rows * dim).Select(i => i switch
        {
            0 => BitConverter.Int32BitsToSingle(0x7F80_0001), // a NaN whose payload lies in the bits that are dropped
            4 => float.NegativeInfinity,
            _ => (float)((rng.NextDouble() - 0.5) * 100),
        })];
        var half = new ushort[values.Length];
        var expected = new float[values.Length];
        Core.Kernels.BFloat16.FromSingle(values, half);
        Core.Kernels.BFloat16.ToSingle(half, expected);
        Assert.True(float.IsNaN(expected[0]));

        var block = RowBlock.Rent(rows, dim, WireValues.BFloat16);
        values.CopyTo(block.Writable);
        byte[] wire = Serializer.SerializeToArray(block);
        Assert.InRange(wire.Length, (values.Length * 2) + 8, (values.Length * 2) + 24);
        var back = Serializer.Deserialize<RowBlock>(wire)!;
        Assert.Equal((rows, dim, WireValues.Float32), (back.Rows, back.Dim, back.Wire));
        Assert.True(back.FromWire);
        Assert.Equal(expected, back.Values.ToArray());

        long[] ids = [.. Enumerable.Range(0, rows).Select(i => (long)i * 7)];
        byte[] push = Serializer.SerializeToArray(new PushRequest(ids, block));
        Assert.InRange(push.Length, (rows * 8) + (values.Length * 2) + 12, (rows * 8) + (values.Length * 2) + 32);
        var received = Serializer.Deserialize<PushRequest>(push)!;
        Assert.Equal(ids, received.Ids);
        Assert.Equal(expected, received.Gradients.Values.ToArray());

        // The same values sent as float32 come back bit for bit.
        Assert.Equal(values, Serializer.Deserialize<RowBlock>(Serializer.SerializeToArray(block.SentAs(WireValues.Float32)))!.Values.ToArray());
        block.Return();
    }

    [Fact]
    public void A_truncated_message_is_refused_rather_than_read_short()
    {
        long[] ids = [1, 2, 3, 4];
        byte[] pull = Serializer.SerializeToArray(new PullRequest(ids));
        byte[] push = Serializer.SerializeToArray(new PushRequest(ids, RowBlock.From(new float[8], 4, 2)));
        Assert.ThrowsAny<Exception>(() => Serializer.Deserialize<PullRequest>(pull.AsSpan(0, pull.Length - 8).ToArray()));
        Assert.ThrowsAny<Exception>(() => Serializer.Deserialize<PushRequest>(push.AsSpan(0, push.Length - 4).ToArray()));
    }
}
