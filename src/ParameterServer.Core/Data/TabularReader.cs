using System.Globalization;
using System.Runtime.InteropServices;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Data;

/// <summary>Options of <see cref="TabularReader"/>.</summary>
public sealed record TabularReaderOptions
{
    /// <summary>The columns to read.</summary>
    public required TabularSchema Schema { get; init; }

    /// <summary>Columns computed from others while reading (e.g. <c>year=year(timestamp)</c>). Default none.</summary>
    public IReadOnlyList<DerivedColumn> Derived { get; init; } = [];

    /// <summary>Field delimiter. Default ','.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Whether the first line names the columns. Default true (without it, columns are 0-based indexes).</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>Skip and count malformed rows instead of stopping at the first. Default false.</summary>
    public bool SkipBadRows { get; init; }
}

/// <summary>
/// Reads a delimited file of categorical, numeric and target columns named by the header. A categorical value
/// is its trimmed text, keyed by <see cref="StableHash"/>; numeric values must be finite numbers; a binary target
/// must be 0/1 or true/false. A malformed line stops the read with a <see cref="DataFormatException"/> naming file,
/// line and column, unless <see cref="TabularReaderOptions.SkipBadRows"/> counts and skips it. Blank lines are
/// passed over, so a file holding the lines of a ratings file splits into the same rows (<see cref="SeededSplit"/>).
/// </summary>
public static class TabularReader
{
    /// <summary>Reads every row of <paramref name="path"/>.</summary>
    public static TabularData Read(string path, TabularReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var schema = options.Schema;
        schema.Validate();
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        }

        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, true, 1 << 16);
        var fields = new List<string>();
        List<string>? header = null;
        long linesRead = 0;
        if (options.HasHeader)
        {
            DelimitedHeader.Read(reader, path, options.Delimiter, fields);
            header = [.. fields];
            linesRead++;
        }

        var columns = new Columns(options, header, path);
        int nc = schema.Categorical.Count, nm = schema.Numeric.Count;
        var ids = new List<long>[nc];
        var labels = new Dictionary<long, string>[nc];
        for (int c = 0; c < nc; c++)
        {
            ids[c] = new List<long>(1 << 16);
            labels[c] = [];
        }

        var numeric = new List<float>(nm << 16);
        var targets = new List<float>(1 << 16);
        var rowIds = new long[nc];
        var rowNumbers = new float[nm];
        var derived = new string?[options.Derived.Count];
        int skipped = 0;
        foreach (var (lineNo, line) in DelimitedLine.NonEmptyLines(reader, linesRead))
        {
            if (!DataFormatException.KeepLine(columns.TryParse(line, fields, derived, rowIds, rowNumbers, out float target), options.SkipBadRows, path, lineNo, ref skipped))
            {
                continue;
            }

            for (int c = 0; c < nc; c++)
            {
                ids[c].Add(rowIds[c]);
                ref string? text = ref CollectionsMarshal.GetValueRefOrAddDefault(labels[c], rowIds[c], out bool known);
                if (!known)
                {
                    text = columns.CategoricalText(c, fields, derived);
                }
            }

            numeric.AddRange(rowNumbers);
            targets.Add(target);
        }

        if (targets.Count == 0)
        {
            throw DataFormatException.NoRows(path, skipped);
        }

        return new TabularData(schema, [.. ids.Select(l => l.ToArray())], [.. numeric], [.. targets], labels) { SkippedRows = skipped };
    }

    /// <summary>Where each column of the schema is found on a line, and how a line's fields become a row.</summary>
    private sealed class Columns
    {
        private readonly TabularReaderOptions _o;
        private readonly int[] _categorical;
        private readonly int[] _numeric;
        private readonly int _target;
        private readonly int[] _derivedSource;
        private readonly int _needed;

        public Columns(TabularReaderOptions o, List<string>? header, string path)
        {
            _o = o;
            var s = o.Schema;
            var derivedNames = o.Derived.Select(d => d.Name).ToList();
            if (header is not null && o.Derived.FirstOrDefault(d => header.Any(h => string.Equals(h.Trim(), d.Name, StringComparison.OrdinalIgnoreCase))) is { } clash)
            {
                throw new ArgumentException($"--derive {clash.Name}=...: the file already has a column '{clash.Name}'; give the derived column another name.");
            }

            string? more = derivedNames.Count > 0 ? "--derive adds: " + string.Join(", ", derivedNames) : null;

            // A derived column k is encoded as the negative index −1 − k.
            int Locate(string name, string role)
            {
                int k = derivedNames.FindIndex(d => string.Equals(d, name.Trim(), StringComparison.OrdinalIgnoreCase));
                return k >= 0 ? -1 - k : DelimitedHeader.Resolve(name, header, path, role, more);
            }

            _derivedSource = [.. o.Derived.Select(d => DelimitedHeader.Resolve(d.Source, header, path, $"--derive {d.Name} source"))];
            _categorical = [.. s.Categorical.Select(c => Locate(c.Name, "categorical"))];
            _numeric = [.. s.Numeric.Select(n => Locate(n, "numeric"))];
            _target = Locate(s.Target, "target");
            _needed = _categorical.Concat(_numeric).Concat(_derivedSource).Append(_target).Max() + 1;
        }

        public string CategoricalText(int c, List<string> fields, string?[] derived) => Field(_categorical[c], fields, derived)!.Trim();

        /// <summary>Parses one line into <paramref name="ids"/>, <paramref name="numbers"/> and <paramref name="target"/>; returns the problem or null.</summary>
        public string? TryParse(string line, List<string> fields, string?[] derived, long[] ids, float[] numbers, out float target)
        {
            target = 0;
            if (!DelimitedLine.TrySplit(line, _o.Delimiter, fields))
            {
                return "unclosed quote.";
            }

            if (fields.Count < _needed)
            {
                return $"expected at least {_needed} fields separated by '{_o.Delimiter}', found {fields.Count}.";
            }

            for (int k = 0; k < derived.Length; k++)
            {
                var d = _o.Derived[k];
                derived[k] = d.Compute(fields[_derivedSource[k]].Trim());
                if (derived[k] is null)
                {
                    return $"'{fields[_derivedSource[k]]}' in column '{d.Source}' (column {_derivedSource[k]}) is no time stamp (Unix seconds or an ISO-8601 date), so --derive {d.Name} has no value.";
                }
            }

            var s = _o.Schema;
            for (int c = 0; c < ids.Length; c++)
            {
                ids[c] = StableHash.Of(Field(_categorical[c], fields, derived)!.Trim());
            }

            for (int j = 0; j < numbers.Length; j++)
            {
                string text = Field(_numeric[j], fields, derived)!;
                if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[j]) || !float.IsFinite(numbers[j]))
                {
                    return $"numeric column '{s.Numeric[j]}' (column {Describe(_numeric[j])}): '{text}' is not a finite number.";
                }
            }

            string t = Field(_target, fields, derived)!.Trim();
            if (s.Task == TabularTask.Binary)
            {
                return TryParseBinary(t, out target) ? null : $"target column '{s.Target}' (column {Describe(_target)}): '{t}' is not a binary target; write 0 or 1 (or false or true).";
            }

            return float.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out target) && float.IsFinite(target)
                ? null
                : $"target column '{s.Target}' (column {Describe(_target)}): '{t}' is not a finite number.";
        }

        private static string? Field(int at, List<string> fields, string?[] derived) => at >= 0 ? fields[at] : derived[-1 - at];

        private static string Describe(int at) => at >= 0 ? at.ToString(CultureInfo.InvariantCulture) : "derived";

        private static bool TryParseBinary(string text, out float target)
        {
            if (bool.TryParse(text, out bool b))
            {
                target = b ? 1f : 0f;
                return true;
            }

            return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out target) && (target == 0f || target == 1f);
        }
    }
}
