using System.Diagnostics;
using System.Globalization;

namespace ParameterServer.Embed.Transfer;

/// <summary>
/// Progress of a long import or export as a line on a writer (stderr), at most one every <c>every</c>: the phase,
/// rows so far, the share done and rows/s since the phase began. Quick jobs finish before the first line.
/// </summary>
internal sealed class ProgressLine(TextWriter writer, string command, TimeSpan every)
{
    private readonly Stopwatch _phaseClock = Stopwatch.StartNew();
    private readonly TimeSpan _every = every;
    private TimeSpan _next = every;
    private string _phase = "";

    /// <summary>Reports <paramref name="rows"/> done in <paramref name="phase"/>, <paramref name="fraction"/> of it when known.</summary>
    public void Report(string phase, long rows, double? fraction)
    {
        if (phase != _phase)
        {
            _phase = phase;
            _phaseClock.Restart();
            _next = _every;
            return;
        }

        var elapsed = _phaseClock.Elapsed;
        if (elapsed < _next)
        {
            return;
        }

        _next = elapsed + _every;
        string share = fraction is { } f ? string.Create(CultureInfo.InvariantCulture, $" ({Math.Clamp(f, 0, 1):P0})") : "";
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{command}: {phase} {rows:N0} rows{share}, {rows / Math.Max(elapsed.TotalSeconds, 1e-9):N0} rows/s"));
    }
}
