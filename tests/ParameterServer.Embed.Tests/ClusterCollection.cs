namespace ParameterServer.Embed.Tests;

/// <summary>The tests of this assembly that share one <see cref="ClusterFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = ClusterFixture.Collection;
}
