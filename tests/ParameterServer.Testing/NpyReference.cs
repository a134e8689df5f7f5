using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace ParameterServer.Testing;

/// <summary>
/// An independent reader of NumPy .npy files, written from the format's specification (magic, version, header
/// length, Python dict literal, data at a multiple of 64 bytes), to check what the exporter writes.
/// </summary>
public sealed record NpyArray(string Descr, bool FortranOrder, long[] Shape, int DataOffset, byte[] Data, string HeaderText)
{
    public static NpyArray Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length >= 10, $"{path}: {bytes.Length} bytes is too short for a .npy file");
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' }, bytes[..6]);
        Assert.Equal(1, bytes[6]);
        Assert.Equal(0, bytes[7]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        int offset = 10 + headerLength;
        Assert.True(offset % 64 == 0, $"{path}: data starts at {offset}, not a multiple of 64");
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);
        Assert.All(header, c => Assert.True(c is >= ' ' and <= '~' or '\n', $"non-ASCII header byte {(int)c}"));
        var m = Regex.Match(header, @"^\{'descr': '(?<d>[<>|][a-z]\d+)', 'fortran_order': (?<f>True|False), 'shape': \((?<s>[0-9, ]*)\), \} *\n$");
        Assert.True(m.Success, $"{path}: header dict not recognised: {header}");
        long[] shape = m.Groups["s"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        return new NpyArray(m.Groups["d"].Value, m.Groups["f"].Value == "True", shape, offset, bytes[offset..], header);
    }

    public float[] Floats()
    {
        Assert.Equal("<f4", Descr);
        Assert.Equal(Shape.Aggregate(1L, (a, b) => a * b) * 4, Data.Length);
        return Enumerable.Range(0, Data.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * 4))).ToArray();
    }

    public long[] Int64s()
    {
        Assert.Equal("<i8", Descr);
        Assert.Equal(Shape.Aggregate(1L, (a, b) => a * b) * 8, Data.Length);
        return Enumerable.Range(0, Data.Length / 8).Select(i => BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(i * 8))).ToArray();
    }
}
