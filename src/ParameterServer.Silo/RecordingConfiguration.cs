using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace ParameterServer.Silo;

/// <summary>
/// A view of a configuration that records the path of every value read through it. Running
/// <see cref="SiloHost.ReadOptions"/> over it yields exactly the keys the silo reads, so <c>--check-config</c> and the
/// deployment checks compare a rendered environment against the reader itself, not against a list kept by hand.
/// </summary>
internal sealed class RecordingConfiguration(IConfiguration inner, ISet<string> read) : IConfiguration
{
    public string? this[string key]
    {
        get => GetSection(key).Value;
        set => inner[key] = value;
    }

    public IConfigurationSection GetSection(string key) => new Section(inner.GetSection(key), read);

    public IEnumerable<IConfigurationSection> GetChildren() => inner.GetChildren().Select(c => new Section(c, read));

    public IChangeToken GetReloadToken() => inner.GetReloadToken();

    private sealed class Section(IConfigurationSection inner, ISet<string> read) : IConfigurationSection
    {
        public string Key => inner.Key;

        public string Path => inner.Path;

        public string? Value
        {
            get
            {
                read.Add(inner.Path);
                return inner.Value;
            }

            set => inner.Value = value;
        }

        public string? this[string key]
        {
            get => GetSection(key).Value;
            set => inner[key] = value;
        }

        public IConfigurationSection GetSection(string key) => new Section(inner.GetSection(key), read);

        public IEnumerable<IConfigurationSection> GetChildren() => inner.GetChildren().Select(c => new Section(c, read));

        public IChangeToken GetReloadToken() => inner.GetReloadToken();
    }
}
