using System.Text;

namespace ParameterServer.Core.Hashing;

/// <summary>
/// A stable 64-bit hash of strings (FNV-1a over UTF-8, then <see cref="Mix64.Mix"/>), used to key rows
/// by text (words, titles). Stable across processes and releases, unlike <see cref="string.GetHashCode()"/>.
/// </summary>
public static class StableHash
{
    /// <summary>The 64-bit row id of <paramref name="text"/>.</summary>
    public static long Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Span<byte> buffer = text.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(text.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(text.Length)];
        int n = Encoding.UTF8.GetBytes(text, buffer);
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in buffer[..n])
        {
            h ^= b;
            h *= 0x100000001B3UL;
        }

        return (long)Mix64.Mix(h);
    }
}
