using System.Globalization;
using System.Text;

namespace ParameterServer.Core.Export;

/// <summary>
/// NumPy's <c>.npy</c> format, version 1.0: the magic <c>\x93NUMPY</c>, version bytes 1 and 0, a little-endian
/// 16-bit header length, then an ASCII Python dict literal (<c>descr</c>, <c>fortran_order</c>, <c>shape</c>)
/// padded with spaces and ended by <c>\n</c> so that the data starts at a multiple of 64 bytes.
/// </summary>
public static class NpyFormat
{
    /// <summary>
    /// Bytes of every header written here: magic, version, length and the padded dict. Fixed, so that a header
    /// written before the rows (shape unknown) can be overwritten in place with the final shape.
    /// </summary>
    public const int HeaderBytes = 128;

    /// <summary>The header of an array of <paramref name="descr"/> (e.g. <c>&lt;f4</c>, <c>&lt;i8</c>) and <paramref name="shape"/>, C order.</summary>
    public static byte[] Header(string descr, params ReadOnlySpan<long> shape)
    {
        ArgumentNullException.ThrowIfNull(descr);
        var dims = new StringBuilder();
        foreach (long d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            dims.Append(d.ToString(CultureInfo.InvariantCulture)).Append(", ");
        }

        // Python's tuple spelling: (n,) for one dimension, (n, d) for two.
        string tuple = shape.Length == 1 ? $"({dims.ToString(0, dims.Length - 1)})" : $"({dims.ToString(0, Math.Max(0, dims.Length - 2))})";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}";
        int textBytes = HeaderBytes - 10;
        if (dict.Length + 1 > textBytes)
        {
            throw new ArgumentException($"The .npy header {dict} does not fit in {HeaderBytes} bytes.", nameof(shape));
        }

        var header = new byte[HeaderBytes];
        header[0] = 0x93;
        "NUMPY"u8.CopyTo(header.AsSpan(1));
        header[6] = 1;
        header[7] = 0;
        header[8] = (byte)(textBytes & 0xFF);
        header[9] = (byte)(textBytes >> 8);
        Encoding.ASCII.GetBytes(dict.PadRight(textBytes - 1), header.AsSpan(10));
        header[^1] = (byte)'\n';
        return header;
    }
}
