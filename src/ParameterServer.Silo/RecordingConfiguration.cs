using Microsoft.Extensions.Primitives;

namespace ParameterServer.Silo;

/// <summary>
/// A view of a configuration (or of one of its sections) that records the path of every value read through it.
/// Running <see cref="SiloHost.ReadOptions"/> over it yields exactly the keys the silo reads, so <c>--check-config</c>
/// and the deployment checks compare a rendered environment against the reader itself, not a list kept by hand.
/// </summary>
internal sealed class RecordingConfiguration(IConfiguration inner, ISet<string> read) : IConfigurationSection
{
    private IConfigurationSection? Section => inner as IConfigurationSection;

    public string Key => Section?.Key ?? "";

    public string Path => Section?.Path ?? "";

    public string? Value
    {
        get
        {
            if (Section is not { } section)
            {
                return null;
            }

            read.Add(section.Path);
            return section.Value;
        }

        set => (Section ?? throw new InvalidOperationException("The root of a configuration has no value.")).Value = value;
    }

    public string? this[string key]
    {
        get => GetSection(key).Value;
        set => inner[key] = value;
    }

    public IConfigurationSection GetSection(string key) => new RecordingConfiguration(inner.GetSection(key), read);

    public IEnumerable<IConfigurationSection> GetChildren() => inner.GetChildren().Select(c => new RecordingConfiguration(c, read));

    public IChangeToken GetReloadToken() => inner.GetReloadToken();
}
