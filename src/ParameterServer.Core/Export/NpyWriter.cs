using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ParameterServer.Core.Export;

/// <summary>
/// <c>NAME.npy</c> (little-endian float32, shape (rows, dim), C order), <c>NAME.ids.npy</c> (little-endian int64,
/// shape (rows,)) and <c>NAME.labels.txt</c> (one label per line, the id for a row without one), all in the same
/// row order. The headers are written first with a shape of 0 rows, in a fixed <see cref="NpyFormat.HeaderBytes"/>
/// bytes, and overwritten in place with the final row count, so rows stream through without being counted first.
/// </summary>
internal sealed class NpyWriter(string directory, string name, int dim) : EmbeddingWriter(directory, name, dim)
{
    private OutputFile _values = null!;
    private OutputFile _ids = null!;
    private OutputFile _labels = null!;
    private long _labelsChanged;

    protected override void Begin()
    {
        _values = Open($"{Name}.npy");
        _ids = Open($"{Name}.ids.npy");
        _labels = Open($"{Name}.labels.txt");
        _values.Stream.Write(NpyFormat.Header("<f4", 0, Dim));
        _ids.Stream.Write(NpyFormat.Header("<i8", 0));
    }

    protected override void WriteRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, IReadOnlyList<string?> labels)
    {
        if (BitConverter.IsLittleEndian)
        {
            _values.Stream.Write(MemoryMarshal.AsBytes(values));
            _ids.Stream.Write(MemoryMarshal.AsBytes(ids));
        }
        else
        {
            var bytes = new byte[Math.Max(values.Length * sizeof(float), ids.Length * sizeof(long))];
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
            }

            _values.Stream.Write(bytes, 0, values.Length * sizeof(float));
            for (int i = 0; i < ids.Length; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), ids[i]);
            }

            _ids.Stream.Write(bytes, 0, ids.Length * sizeof(long));
        }

        for (int i = 0; i < ids.Length; i++)
        {
            _labels.Text.WriteLine(Replace(LabelOrId(ids[i], labels[i]), c => c is '\r' or '\n', ' ', ref _labelsChanged));
        }
    }

    protected override void Finish()
    {
        _values.Stream.Seek(0, SeekOrigin.Begin);
        _values.Stream.Write(NpyFormat.Header("<f4", Rows, Dim));
        _ids.Stream.Seek(0, SeekOrigin.Begin);
        _ids.Stream.Write(NpyFormat.Header("<i8", Rows));
        if (_labelsChanged > 0)
        {
            Notes.Add($"{_labelsChanged:N0} labels held line breaks, written as spaces in {Name}.labels.txt.");
        }
    }
}
