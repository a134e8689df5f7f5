using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Globalization;

namespace ParameterServer.Embed.Views;

/// <summary>
/// <c>--help</c> of a command whose options serve different models: the options in titled groups (each model's own,
/// then those every model shares) instead of one flat list, then examples. Laid out as the default help is (name and
/// value placeholder, description, default), wrapped to the terminal's width.
/// </summary>
internal sealed class GroupedHelp : SynchronousCommandLineAction
{
    private readonly Command _command;
    private readonly IReadOnlyList<(string Title, Option[] Options)> _groups;
    private readonly IReadOnlyList<string> _examples;

    private GroupedHelp(Command command, IReadOnlyList<(string Title, Option[] Options)> groups, IReadOnlyList<string> examples)
    {
        _command = command;
        _groups = groups;
        _examples = examples;
    }

    /// <summary>Gives <paramref name="command"/> a help that lists <paramref name="groups"/> in order, then <paramref name="examples"/>.</summary>
    public static void Apply(Command command, IReadOnlyList<(string Title, Option[] Options)> groups, IReadOnlyList<string> examples)
    {
        ArgumentNullException.ThrowIfNull(command);
        var action = new GroupedHelp(command, groups, examples);
        var help = command.Options.OfType<HelpOption>().FirstOrDefault();
        if (help is null)
        {
            help = new HelpOption();
            command.Options.Add(help);
        }

        help.Action = action;
    }

    /// <inheritdoc/>
    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        Write(parseResult.InvocationConfiguration.Output, Console.IsOutputRedirected ? 120 : Math.Max(80, Console.WindowWidth));
        return 0;
    }

    /// <summary>Writes the help to <paramref name="output"/>, lines at most <paramref name="width"/> characters.</summary>
    internal void Write(TextWriter output, int width)
    {
        output.WriteLine("Description:");
        foreach (string line in Wrap(_command.Description ?? "", width - 2))
        {
            output.WriteLine("  " + line);
        }

        output.WriteLine();
        output.WriteLine("Usage:");
        output.WriteLine($"  {Path(_command)} [options]");
        output.WriteLine();
        var grouped = _groups.SelectMany(g => g.Options).ToHashSet();
        var sections = _groups.Append(("Help", [.. _command.Options.Where(o => !grouped.Contains(o))])).ToList();
        var rows = sections.SelectMany(s => s.Options).Where(o => !o.Hidden).Select(Label).ToList();
        int column = Math.Min(44, rows.Count == 0 ? 0 : rows.Max(r => r.Length) + 2);
        foreach (var (title, options) in sections)
        {
            var visible = options.Where(o => !o.Hidden).ToList();
            if (visible.Count == 0)
            {
                continue;
            }

            output.WriteLine(title + ":");
            foreach (var option in visible)
            {
                WriteRow(output, Label(option), Describe(option), column, width);
            }

            output.WriteLine();
        }

        if (_examples.Count > 0)
        {
            output.WriteLine("Examples:");
            foreach (string example in _examples)
            {
                output.WriteLine("  " + example);
            }
        }
    }

    private static string Path(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c; s = c.Parents.FirstOrDefault())
        {
            names.Add(c is RootCommand ? "embed" : c.Name);
        }

        if (names[^1] != "embed")
        {
            names.Add("embed");
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    private static string Label(Option option)
    {
        if (option is HelpOption)
        {
            return "-h, --help";
        }

        string names = string.Join(", ", option.Aliases.Order().Append(option.Name).Distinct());
        bool flag = option.ValueType == typeof(bool);
        return flag ? names : $"{names} <{option.HelpName ?? option.Name.TrimStart('-')}>";
    }

    private static string Describe(Option option)
    {
        if (option is HelpOption)
        {
            return "Show this help.";
        }

        string description = option.Description ?? "";
        if (option.HasDefaultValue && option.ValueType != typeof(bool) && option.GetDefaultValue() is { } value)
        {
            string text = value switch
            {
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            };
            description += $" [default: {text}]";
        }

        return description;
    }

    private static void WriteRow(TextWriter output, string label, string description, int column, int width)
    {
        var lines = Wrap(description, Math.Max(30, width - column - 2)).ToList();
        string first = "  " + label;
        if (first.Length + 1 >= column + 2)
        {
            output.WriteLine(first);
            first = "";
        }

        for (int i = 0; i < Math.Max(1, lines.Count); i++)
        {
            string lead = i == 0 && first.Length > 0 ? first.PadRight(column + 2) : new string(' ', column + 2);
            output.WriteLine((lead + (i < lines.Count ? lines[i] : "")).TrimEnd());
        }
    }

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new System.Text.StringBuilder();
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : "").Append(word);
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
