using System.Text.Json;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;

namespace ParameterServer.Embed.Views;

/// <summary>The one JSON form of a <see cref="TrainingReport"/>: written by <c>embed train --report</c> and <c>--json</c>, read by <c>embed plot</c>.</summary>
internal static class ReportJson
{
    // NaN stands for "not measured" (no validation set, no steps): written as "NaN", not an exception.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The report as JSON: indented for a file, or on one line for <c>--json</c>.</summary>
    public static string Serialize(TrainingReport report, bool indented) => JsonSerializer.Serialize(report, indented ? Indented : Compact);

    /// <summary>A link job's report as JSON.</summary>
    public static string Serialize(LinkTrainingReport report, bool indented) => JsonSerializer.Serialize(report, indented ? Indented : Compact);

    /// <summary>A hyper-parameter search's trials as JSON.</summary>
    public static string Serialize(Commands.TuneReport report, bool indented) => JsonSerializer.Serialize(report, indented ? Indented : Compact);

    /// <summary>A cross-validation's figures as JSON.</summary>
    public static string Serialize(Commands.CrossValidationReport report, bool indented) => JsonSerializer.Serialize(report, indented ? Indented : Compact);

    /// <summary>Reads a report file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">The file is not a training report.</exception>
    public static TrainingReport Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The report file {path} does not exist (write one with embed train --report FILE).", path);
        }

        string text = File.ReadAllText(path);
        try
        {
            return JsonSerializer.Deserialize<TrainingReport>(text, Compact)
                ?? throw new DataFormatException(path, 0, "holds null, not a training report written by embed train --report.");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(path, (e.LineNumber ?? -1) + 1, $"not a training report written by embed train --report: {OneLine(e.Message)}");
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
