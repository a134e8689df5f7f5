using System.Buffers.Binary;
using ParameterServer.Core.Data;
using ParameterServer.Embed.Plots;
using ParameterServer.Embed.Views;

namespace ParameterServer.Embed.Tests;

public sealed class CurvePlotTests : IDisposable
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private readonly string _folder = Directory.CreateTempSubdirectory("ps-worker-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void WritesAPngOfTheAskedSize(int epochs)
    {
        string path = Path.Combine(_folder, "curve.png");
        CurvePlot.SavePng(Reports.Create(epochs), path, 900, 500);

        byte[] png = File.ReadAllBytes(path);
        Assert.Equal(PngSignature, png[..8]);
        // The first chunk is IHDR: width and height, big-endian, at bytes 16 and 20.
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal(900, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(500, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        // Lines, markers, axes and text: well above a blank image, far below a raw bitmap (900 x 500 x 4 bytes).
        Assert.InRange(png.Length, 10_000, 900 * 500 * 4);
    }

    [Fact]
    public void AReportWithoutEpochsIsAClearError()
    {
        string path = Path.Combine(_folder, "empty.png");
        var e = Assert.Throws<ArgumentException>(() => CurvePlot.SavePng(Reports.Create(0), path));
        Assert.Contains("no epochs", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Theory]
    [InlineData("curve.jpg", "must end in .png")]
    [InlineData("missing/curve.png", "does not exist")]
    public void ABadTargetIsAClearError(string name, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => CurvePlot.SavePng(Reports.Create(3), Path.Combine(_folder, name)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlotsTheReportFileThatTrainWrites()
    {
        string json = Path.Combine(_folder, "report.json");
        var report = Reports.Create(4);
        File.WriteAllText(json, ReportJson.Serialize(report, indented: true));
        var read = ReportJson.Read(json);
        Assert.Equal(report.Epochs, read.Epochs);
        Assert.Equal(report.BestEpoch, read.BestEpoch);

        string png = Path.Combine(_folder, "curve.png");
        CurvePlot.SavePng(read, png);
        Assert.Equal(PngSignature, File.ReadAllBytes(png)[..8]);
    }

    [Fact]
    public void JsonIsOneLineWithoutIndentation() =>
        Assert.DoesNotContain('\n', ReportJson.Serialize(Reports.Create(3), indented: false));

    [Theory]
    [InlineData("{\n\"model\":", ":2:")]
    [InlineData("{\"a\":1}", "missing required properties")]
    [InlineData("null", "holds null")]
    public void AFileThatIsNoReportIsAClearError(string content, string expected)
    {
        string path = Path.Combine(_folder, "bad.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<DataFormatException>(() => ReportJson.Read(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AMissingReportFileIsAClearError()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ReportJson.Read(Path.Combine(_folder, "nope.json")));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }
}
