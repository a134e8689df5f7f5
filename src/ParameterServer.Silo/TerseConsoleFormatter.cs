using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using ParameterServer.Abstractions;

namespace ParameterServer.Silo;

/// <summary>
/// One line per log entry, like the simple console formatter's single-line form, but an exception is shown as its type
/// and message chain instead of a stack trace (a failed start-up then reads as a few lines, not pages); passwords in
/// connection strings are masked. <c>--verbose</c> switches back to full stack traces.
/// </summary>
internal sealed class TerseConsoleFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "terse";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (logEntry.Exception is null && string.IsNullOrEmpty(message))
        {
            return;
        }

        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write("] ");
        textWriter.Write(ErrorText.MaskSecrets(ErrorText.OneLine(message)));
        if (logEntry.Exception is { } e)
        {
            textWriter.Write(" (");
            textWriter.Write(SiloErrors.Describe(e));
            textWriter.Write(')');
        }

        textWriter.WriteLine();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}

/// <summary>Exceptions as one line, with secrets masked: for the console formatter and the silo's last words.</summary>
internal static class SiloErrors
{
    /// <summary>The exception's type and message, then each inner exception's message that adds something; no stack.</summary>
    public static string Describe(Exception e)
    {
        var parts = new List<string> { $"{e.GetType().Name}: {ErrorText.OneLine(e.Message)}" };
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            string m = ErrorText.OneLine(inner.Message);
            if (!parts.Any(p => p.Contains(m, StringComparison.Ordinal)))
            {
                parts.Add(m);
            }
        }

        return ErrorText.MaskSecrets(string.Join(" <- ", parts));
    }

    /// <summary>What a failed start says: the innermost cause first (it names the setting or the server), then the outer message.</summary>
    public static string LastWords(Exception e)
    {
        var innermost = e;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        string cause = ErrorText.OneLine(innermost.Message), outer = ErrorText.OneLine(e.Message);
        return ErrorText.MaskSecrets(ReferenceEquals(innermost, e) || outer.Contains(cause, StringComparison.Ordinal) ? outer : $"{outer.TrimEnd('.')}: {cause}");
    }
}
