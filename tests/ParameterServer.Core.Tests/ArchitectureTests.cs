using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace ParameterServer.Core.Tests;

/// <summary>
/// The layering, read from the repository's project files and sources: Core (kernels, storage, models) knows nothing
/// of Orleans; Abstractions sits on Core; Grains (the server) and Client (the worker side) each sit on Abstractions and
/// never on each other; Storage (object stores for checkpoints, with their cloud SDKs) sits on Core and is used by
/// Grains only; Api (the gRPC service) sits on Client; the silo hosts Grains and Api; the console uses Client and, for
/// its embedded silo, Grains. A new
/// reference that breaks this fails here, naming the file.
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly Dictionary<string, string[]> AllowedProjects = new()
    {
        ["ParameterServer.Core"] = [],
        ["ParameterServer.Abstractions"] = ["ParameterServer.Core"],
        ["ParameterServer.Storage"] = ["ParameterServer.Core"],
        ["ParameterServer.Grains"] = ["ParameterServer.Abstractions", "ParameterServer.Storage"],
        ["ParameterServer.Client"] = ["ParameterServer.Abstractions"],
        ["ParameterServer.Api"] = ["ParameterServer.Client"],
        ["ParameterServer.Silo"] = ["ParameterServer.Grains", "ParameterServer.Api"],
        ["ParameterServer.Embed"] = ["ParameterServer.Client", "ParameterServer.Grains"],
    };

    // Namespaces a project's sources must not use (whatever its references would allow).
    private static readonly Dictionary<string, string[]> ForbiddenNamespaces = new()
    {
        ["ParameterServer.Core"] = ["Orleans", "ParameterServer.Abstractions", "ParameterServer.Grains", "ParameterServer.Client", "ParameterServer.Storage", "Azure", "Amazon"],
        ["ParameterServer.Storage"] = ["Orleans", "ParameterServer.Abstractions", "ParameterServer.Grains", "ParameterServer.Client"],
        ["ParameterServer.Abstractions"] = ["ParameterServer.Grains", "ParameterServer.Client"],
        ["ParameterServer.Grains"] = ["ParameterServer.Client"],
        ["ParameterServer.Client"] = ["ParameterServer.Grains", "ParameterServer.Storage"],
        ["ParameterServer.Api"] = ["ParameterServer.Grains", "ParameterServer.Storage"],
    };

    private static string Src()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Distributed.sln")))
            {
                return Path.Combine(dir.FullName, "src");
            }
        }

        throw new InvalidOperationException($"No Distributed.sln above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void Every_project_references_only_the_layers_below_it()
    {
        var projects = Directory.GetDirectories(Src()).Select(Path.GetFileName).OfType<string>().Where(n => File.Exists(Path.Combine(Src(), n, n + ".csproj"))).ToArray();
        Assert.Equal(AllowedProjects.Keys.Order(), projects.Order()); // a new project says where it sits, here
        foreach (string project in projects)
        {
            var file = XDocument.Load(Path.Combine(Src(), project, project + ".csproj"));
            var referenced = file.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(((string?)r.Attribute("Include") ?? "").Replace('\\', '/'))).ToArray();
            Assert.All(referenced, r => Assert.True(AllowedProjects[project].Contains(r), $"{project}.csproj references {r}; allowed: {string.Join(", ", AllowedProjects[project])}"));
            if (project == "ParameterServer.Core")
            {
                var packages = file.Descendants("PackageReference").Select(r => (string?)r.Attribute("Include") ?? "");
                Assert.All(packages, p => Assert.False(p.Contains("Orleans", StringComparison.OrdinalIgnoreCase), $"ParameterServer.Core.csproj references {p}: Core knows nothing of Orleans"));
            }
        }
    }

    [Fact]
    public void No_source_uses_a_namespace_its_layer_must_not_know()
    {
        foreach (var (project, forbidden) in ForbiddenNamespaces)
        {
            string dir = Path.Combine(Src(), project);
            var sources = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
            foreach (string file in sources)
            {
                int line = 0;
                foreach (string text in File.ReadLines(file))
                {
                    line++;
                    var use = UsingOrQualified().Match(text);
                    if (use.Success && forbidden.Any(ns => use.Groups["ns"].Value == ns || use.Groups["ns"].Value.StartsWith(ns + ".", StringComparison.Ordinal)))
                    {
                        Assert.Fail($"{Path.GetRelativePath(Src(), file)}:{line} uses {use.Groups["ns"].Value}, which {project} must not know: {text.Trim()}");
                    }
                }
            }
        }
    }

    [Fact]
    public void The_check_catches_a_forbidden_using()
    {
        Assert.Matches(UsingOrQualified(), "using Orleans.Runtime;");
        Assert.Equal("ParameterServer.Grains", UsingOrQualified().Match("using static ParameterServer.Grains.ShardKey;").Groups["ns"].Value.Split(".ShardKey")[0]);
        Assert.DoesNotMatch(UsingOrQualified(), "// a comment about Orleans");
    }

    // "using X.Y;", "using static X.Y.Z;", "using A = X.Y;" and "global using X;".
    [GeneratedRegex(@"^\s*(global\s+)?using\s+(static\s+)?(\w+\s*=\s*)?(?<ns>[A-Za-z_][\w.]*)\s*;")]
    private static partial Regex UsingOrQualified();
}
