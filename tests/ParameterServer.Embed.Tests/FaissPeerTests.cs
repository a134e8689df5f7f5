using ParameterServer.Embed.Bench;

namespace ParameterServer.Embed.Tests;

/// <summary>The FAISS peer says which BLAS it ran on, and warns when that is the reference one.</summary>
public class FaissPeerTests
{
    [Fact]
    public void ReferenceBlasIsNamedAndWarnedAbout()
    {
        var peer = new PeerReport("IndexFlatIP", "1.7.3", 2, [], "reference");
        Assert.True(peer.OnReferenceBlas);
        Assert.Contains("reference BLAS", FaissPeer.Describe(peer), StringComparison.Ordinal);
        string warning = Assert.IsType<string>(FaissPeer.Warning(peer));
        Assert.Contains("flatter", warning, StringComparison.Ordinal);
        Assert.Contains("libopenblas0-pthread", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("openblas")]
    [InlineData("mkl")]
    [InlineData("unknown")]
    public void OtherBlasLibrariesAreNamedWithoutWarning(string blas)
    {
        var peer = new PeerReport("IndexFlatIP", "1.7.3", 2, [], blas);
        Assert.False(peer.OnReferenceBlas);
        Assert.Null(FaissPeer.Warning(peer));
        Assert.Contains($"{blas} BLAS", FaissPeer.Describe(peer), StringComparison.Ordinal);
    }
}
