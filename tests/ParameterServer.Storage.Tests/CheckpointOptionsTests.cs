using ParameterServer.Abstractions;
using ParameterServer.Core.Storage.Checkpoints;
using ParameterServer.Grains;

namespace ParameterServer.Storage.Tests;

/// <summary>Choosing a checkpoint store: one at most, each setting checked by name, secrets never printed.</summary>
public sealed class CheckpointOptionsTests
{
    private const string AzureKey = "c2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVm";

    [Theory]
    [InlineData("dir", "box", null, "Checkpoints:Directory and Checkpoints:Blob:Container are both set")]
    [InlineData(null, "box", "bucket", "Checkpoints:Blob:Container and Checkpoints:S3:Bucket are both set")]
    [InlineData("dir", null, "bucket", "Checkpoints:Directory and Checkpoints:S3:Bucket are both set")]
    public void Two_stores_are_refused_naming_both(string? directory, string? container, string? bucket, string message)
    {
        var o = new CheckpointOptions { Directory = directory, Blob = { Container = container, ConnectionString = "UseDevelopmentStorage=true" }, S3 = { Bucket = bucket } };
        var e = Assert.Throws<ArgumentException>(o.Validate);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Upper", "Checkpoints:Blob:Container = 'Upper'")]
    [InlineData("ab", "Checkpoints:Blob:Container = 'ab'")]
    [InlineData("a--b", "Checkpoints:Blob:Container = 'a--b'")]
    [InlineData("-abc", "Checkpoints:Blob:Container = '-abc'")]
    public void Bad_container_names_are_refused(string container, string message)
    {
        var o = new CheckpointOptions { Blob = { Container = container, ConnectionString = "UseDevelopmentStorage=true" } };
        Assert.StartsWith(message, Assert.Throws<ArgumentException>(o.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_bad_setting_is_named()
    {
        static string Error(Action<CheckpointOptions> set)
        {
            var o = new CheckpointOptions();
            set(o);
            return Assert.Throws<ArgumentException>(o.Validate).Message;
        }

        Assert.StartsWith("Checkpoints:Blob:Container = 'box' needs Checkpoints:Blob:ConnectionString", Error(o => o.Blob.Container = "box"), StringComparison.Ordinal);
        Assert.StartsWith("Checkpoints:S3:Bucket = 'Bad_Bucket'", Error(o => o.S3.Bucket = "Bad_Bucket"), StringComparison.Ordinal);
        Assert.StartsWith("Checkpoints:S3:ServiceUrl = 'ftp://x'", Error(o => { o.S3.Bucket = "bucket"; o.S3.ServiceUrl = "ftp://x"; }), StringComparison.Ordinal);
        Assert.StartsWith("Checkpoints:S3:AccessKey and Checkpoints:S3:SecretKey go together", Error(o => { o.S3.Bucket = "bucket"; o.S3.AccessKey = "id"; }), StringComparison.Ordinal);
        Assert.StartsWith("Checkpoints:S3:Prefix = '../up'", Error(o => { o.S3.Bucket = "bucket"; o.S3.Prefix = "../up"; }), StringComparison.Ordinal);
        Assert.StartsWith("Checkpoints:Blob:Prefix = '/abs'", Error(o => { o.Blob.Container = "box"; o.Blob.ConnectionString = "UseDevelopmentStorage=true"; o.Blob.Prefix = "/abs"; }), StringComparison.Ordinal);
    }

    [Fact]
    public void No_store_is_off_and_a_directory_is_a_directory_store()
    {
        Assert.Null(new CheckpointOptions().CreateStore());
        Assert.Equal("off", new CheckpointOptions().Where);
        string dir = Path.Combine(Path.GetTempPath(), $"ps-options-{Guid.NewGuid():N}");
        try
        {
            Assert.IsType<DirectoryCheckpointStore>(new CheckpointOptions { Directory = dir }.CreateStore());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Secrets_are_redacted_and_masked()
    {
        string connection = $"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={AzureKey};EndpointSuffix=core.windows.net";
        var o = new CheckpointOptions
        {
            Blob = { ConnectionString = connection, Container = "box" },
            S3 = { AccessKey = "AKIDEXAMPLE", SecretKey = "wJalrXUtnFEMI/K7MDENG" },
        };
        var r = o.Redacted();
        Assert.Equal("***", r.Blob.ConnectionString);
        Assert.Equal("***", r.S3.SecretKey);
        Assert.Equal("AKIDEXAMPLE", r.S3.AccessKey);
        Assert.Equal(connection, o.Blob.ConnectionString);
        Assert.DoesNotContain(AzureKey, o.Where, StringComparison.Ordinal);

        Assert.DoesNotContain(AzureKey, ErrorText.MaskSecrets($"failed with {connection}"), StringComparison.Ordinal);
        Assert.Equal("https://a.blob.core.windows.net/c?sv=2024&sig=***&se=x", ErrorText.MaskSecrets("https://a.blob.core.windows.net/c?sv=2024&sig=abc%2Fdef&se=x"));
        Assert.Equal("SharedAccessSignature=***;BlobEndpoint=x", ErrorText.MaskSecrets("SharedAccessSignature=sv=1&sig=2;BlobEndpoint=x"));
    }
}
