using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace ParameterServer.Core.Storage.Checkpoints;

/// <summary>
/// The checkpoint file format, version 1, little-endian:
/// <code>
/// magic "PSCKPT\0\1" | format version (int32) | header length (int32) | header | body | XxHash64 of all before (8 bytes)
/// header: table (int32 length + UTF-8) | shard (int32) | dim (int32) | state slots (int32) | rows (int32)
///         | total steps (int64) | created (unix ms, int64) | has labels (byte)
/// body:   ids (rows x int64) | values (rows x dim x float32) | state (rows x dim x slots x float32)
///         | steps (rows x int64) | labels (rows x (int32 length or -1, UTF-8)) when present
/// </code>
/// A truncated or altered file fails the length checks or the checksum and is reported as such.
/// </summary>
public static class CheckpointFormat
{
    /// <summary>The format version written.</summary>
    public const int Version = 1;

    private static readonly byte[] Magic = "PSCKPT\0\u0001"u8.ToArray();

    /// <summary>Serializes <paramref name="c"/> into <paramref name="output"/>.</summary>
    public static void Write(ShardCheckpoint c, Stream output)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(output);
        var s = c.Rows;
        int n = s.Ids.Length;
        if (s.Values.Length != (long)n * c.Dim || s.State.Length != (long)n * c.Dim * c.StateSlots || s.Steps.Length != n || (s.Labels is { } l && l.Length != n))
        {
            throw new ArgumentException($"Checkpoint of table '{c.Table}' shard {c.Shard}: arrays do not match {n} rows of dim {c.Dim} with {c.StateSlots} state slots.");
        }

        var hash = new XxHash64();
        void Put(ReadOnlySpan<byte> bytes)
        {
            hash.Append(bytes);
            output.Write(bytes);
        }

        var header = new MemoryStream();
        using (var w = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
        {
            WriteString(w, c.Table);
            w.Write(c.Shard);
            w.Write(c.Dim);
            w.Write(c.StateSlots);
            w.Write(n);
            w.Write(s.TotalSteps);
            w.Write(c.Created.ToUnixTimeMilliseconds());
            w.Write((byte)(s.Labels is null ? 0 : 1));
        }

        Span<byte> ints = stackalloc byte[8];
        Put(Magic);
        BinaryPrimitives.WriteInt32LittleEndian(ints, Version);
        BinaryPrimitives.WriteInt32LittleEndian(ints[4..], (int)header.Length);
        Put(ints);
        Put(header.GetBuffer().AsSpan(0, (int)header.Length));
        Put(MemoryMarshal.AsBytes(s.Ids.AsSpan()));
        Put(MemoryMarshal.AsBytes(s.Values.AsSpan()));
        Put(MemoryMarshal.AsBytes(s.State.AsSpan()));
        Put(MemoryMarshal.AsBytes(s.Steps.AsSpan()));
        if (s.Labels is { } labels)
        {
            var buffer = new MemoryStream();
            using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
            {
                foreach (string? label in labels)
                {
                    if (label is null)
                    {
                        w.Write(-1);
                    }
                    else
                    {
                        WriteString(w, label);
                    }
                }
            }

            Put(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }

        Span<byte> sum = stackalloc byte[8];
        hash.GetCurrentHash(sum);
        output.Write(sum);
    }

    /// <summary>
    /// Reads a checkpoint from <paramref name="bytes"/>; an <see cref="InvalidDataException"/> says what is wrong
    /// (not a checkpoint, another format version, truncated, checksum mismatch).
    /// </summary>
    public static ShardCheckpoint Read(ReadOnlySpan<byte> bytes)
    {
        // An empty file, or one that stops inside the magic or the two ints after it, is what a torn write leaves:
        // say so rather than calling it "not a checkpoint".
        int prefix = Math.Min(bytes.Length, Magic.Length);
        if (!bytes[..prefix].SequenceEqual(Magic.AsSpan(0, prefix)))
        {
            throw new InvalidDataException("not a checkpoint file (bad magic bytes)");
        }

        if (bytes.Length < Magic.Length + 16)
        {
            throw new InvalidDataException($"truncated: {bytes.Length:N0} bytes, shorter than any checkpoint; the file is torn or empty");
        }

        var expected = XxHash64.HashToUInt64(bytes[..^8]);
        if (BinaryPrimitives.ReadUInt64BigEndian(bytes[^8..]) != expected)
        {
            throw new InvalidDataException($"checksum mismatch: the file is torn or corrupt ({bytes.Length:N0} bytes)");
        }

        int at = Magic.Length;
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
        if (version != Version)
        {
            throw new InvalidDataException($"format version {version}; this build reads version {Version}");
        }

        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[(at + 4)..]);
        at += 8;
        var reader = new SpanReader(bytes[..^8], at);
        string table = reader.String() ?? throw new InvalidDataException("header has no table name");
        int shard = reader.Int32(), dim = reader.Int32(), slots = reader.Int32(), n = reader.Int32();
        long totalSteps = reader.Int64();
        var created = DateTimeOffset.FromUnixTimeMilliseconds(reader.Int64());
        bool hasLabels = reader.Byte() != 0;
        if (reader.Position != at + headerLength || dim <= 0 || slots < 0 || n < 0)
        {
            throw new InvalidDataException("malformed header");
        }

        var ids = reader.Array<long>(n);
        var values = reader.Array<float>((long)n * dim);
        var state = reader.Array<float>((long)n * dim * slots);
        var steps = reader.Array<long>(n);
        string?[]? labels = null;
        if (hasLabels)
        {
            labels = new string?[n];
            for (int i = 0; i < n; i++)
            {
                labels[i] = reader.String();
            }
        }

        if (reader.Position != bytes.Length - 8)
        {
            throw new InvalidDataException($"{bytes.Length - 8 - reader.Position} unexpected bytes after the rows");
        }

        return new ShardCheckpoint(table, shard, dim, slots, new ShardStore.Snapshot(ids, values, state, steps, labels, totalSteps), created);
    }

    private static void WriteString(BinaryWriter w, string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        w.Write(utf8.Length);
        w.Write(utf8);
    }

    private ref struct SpanReader(ReadOnlySpan<byte> data, int position)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; } = position;

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public byte Byte() => Take(1)[0];

        public string? String()
        {
            int length = Int32();
            return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
        }

        public T[] Array<T>(long count)
            where T : unmanaged
        {
            long bytes = count * Marshal.SizeOf<T>();
            if (count < 0 || bytes > _data.Length - Position)
            {
                throw new InvalidDataException("truncated body");
            }

            var result = new T[count];
            Take((int)bytes).CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _data.Length - Position)
            {
                throw new InvalidDataException("truncated");
            }

            var span = _data.Slice(Position, count);
            Position += count;
            return span;
        }
    }
}
