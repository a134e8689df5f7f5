using System.Globalization;
using System.Text.Json;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Data;

/// <summary>How an entity's text becomes its row id.</summary>
public enum EntityIdMode
{
    /// <summary>Numeric when every entity is an integer (movie ids), hashed otherwise.</summary>
    Auto,

    /// <summary>The entity is an integer id; anything else is a malformed line.</summary>
    Numeric,

    /// <summary><see cref="StableHash.Of"/> of the text, kept as the row's label (titles, words).</summary>
    Hash,
}

/// <summary>How <see cref="LinkPairsReader"/> reads a pairs file.</summary>
public sealed record LinkReaderOptions
{
    /// <summary>NDJSON (one object per line) instead of delimited text. Default false.</summary>
    public bool Ndjson { get; init; }

    /// <summary>Field delimiter of delimited text. Default ','.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Delimited text starts with a header naming the columns. Default true.</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>Entity column (header name or 0-based index) or NDJSON field. Default "entity".</summary>
    public string EntityColumn { get; init; } = "entity";

    /// <summary>Link column or NDJSON field (a string, or an array of strings). Default "link".</summary>
    public string LinkColumn { get; init; } = "link";

    /// <summary>Splits one link cell into several links (e.g. '|' for MovieLens genres). Default none.</summary>
    public char? LinkSeparator { get; init; }

    /// <summary>Links seen with fewer distinct entities than this are dropped (the recipe's rare-link filter). Default 1.</summary>
    public int MinLinkEntities { get; init; } = 1;

    /// <summary>Links to drop, compared ignoring case (e.g. "Wikipedia", "ISBN"). Default none.</summary>
    public IReadOnlySet<string>? StopList { get; init; }

    /// <summary>Skip and count malformed lines instead of stopping at the first. Default false.</summary>
    public bool SkipBadRows { get; init; }

    /// <summary>How entity texts become row ids. Default <see cref="EntityIdMode.Auto"/>.</summary>
    public EntityIdMode EntityIds { get; init; }
}

/// <summary>
/// Reads (entity, link) pairs from delimited text (CSV/TSV, columns by name or index; a link cell may hold several
/// links) or NDJSON (<c>{"entity": "War and Peace", "link": ["Leo Tolstoy", "Novel"]}</c>). Repeated pairs count
/// once; rare and stop-listed links are dropped. Malformed lines raise <see cref="DataFormatException"/> naming the
/// file and line, unless <see cref="LinkReaderOptions.SkipBadRows"/> counts and skips them. Link ids are
/// <see cref="StableHash.Of"/> of the link text.
/// </summary>
public static class LinkPairsReader
{
    /// <summary>Reads every pair of <paramref name="path"/>.</summary>
    public static LinkPairs Read(string path, LinkReaderOptions? options = null)
    {
        options ??= new LinkReaderOptions();
        if (options.MinLinkEntities < 1)
        {
            throw new ArgumentException($"The least number of entities per link must be at least 1; got {options.MinLinkEntities}.");
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Pairs file '{path}' does not exist.", path);
        }

        var raw = new RawPairs();
        using (var reader = new StreamReader(path, System.Text.Encoding.UTF8, true, 1 << 16))
        {
            if (options.Ndjson)
            {
                ReadNdjson(reader, path, options, raw);
            }
            else
            {
                ReadDelimited(reader, path, options, raw);
            }
        }

        if (raw.Pairs.Count == 0)
        {
            throw new DataFormatException(path, 0, raw.Skipped > 0 ? $"no valid pairs ({raw.Skipped} malformed lines skipped)." : "the file holds no pairs.");
        }

        return Build(path, options, raw);
    }

    private sealed class RawPairs
    {
        public readonly Dictionary<string, int> Entities = new(StringComparer.Ordinal);
        public readonly Dictionary<string, int> Links = new(StringComparer.Ordinal);
        public readonly HashSet<(int Entity, int Link)> Pairs = [];
        public int Skipped;
        public int Repeated;
        public int Stopped;

        public void Add(string entity, string link, IReadOnlySet<string>? stop)
        {
            link = link.Trim();
            if (link.Length == 0)
            {
                return;
            }

            if (stop is not null && stop.Contains(link))
            {
                Stopped++;
                return;
            }

            int e = Number(Entities, entity);
            int l = Number(Links, link);
            if (!Pairs.Add((e, l)))
            {
                Repeated++;
            }
        }

        private static int Number(Dictionary<string, int> map, string text)
        {
            if (!map.TryGetValue(text, out int n))
            {
                n = map.Count;
                map.Add(text, n);
            }

            return n;
        }
    }

    private static void ReadDelimited(StreamReader reader, string path, LinkReaderOptions o, RawPairs raw)
    {
        var fields = new List<string>();
        long lineNo = 0;
        int ecol, lcol;
        if (o.HasHeader)
        {
            string? header = reader.ReadLine();
            lineNo++;
            if (header is null)
            {
                throw new DataFormatException(path, 0, "the file is empty; expected a header line naming the columns.");
            }

            DelimitedLine.TrySplit(header.TrimStart('\uFEFF'), o.Delimiter, fields);
            ecol = DelimitedHeader.Resolve(o.EntityColumn, fields, path, "entity");
            lcol = DelimitedHeader.Resolve(o.LinkColumn, fields, path, "link");
        }
        else
        {
            ecol = DelimitedHeader.Resolve(o.EntityColumn, null, path, "entity");
            lcol = DelimitedHeader.Resolve(o.LinkColumn, null, path, "link");
        }

        int needed = Math.Max(ecol, lcol) + 1;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0)
            {
                continue;
            }

            string? problem = !DelimitedLine.TrySplit(line, o.Delimiter, fields) ? "unclosed quote"
                : fields.Count < needed ? $"expected at least {needed} fields, found {fields.Count}"
                : fields[ecol].Trim().Length == 0 ? $"empty entity in column {ecol}"
                : o.EntityIds == EntityIdMode.Numeric && !IsInteger(fields[ecol]) ? $"entity '{fields[ecol]}' in column {ecol} is not an integer id (--entity-ids numeric)"
                : null;
            if (problem is not null)
            {
                Bad(path, lineNo, problem, o, raw);
                continue;
            }

            string entity = fields[ecol].Trim();
            if (o.LinkSeparator is { } sep)
            {
                foreach (var link in fields[lcol].Split(sep))
                {
                    raw.Add(entity, link, o.StopList);
                }
            }
            else
            {
                raw.Add(entity, fields[lcol], o.StopList);
            }
        }
    }

    private static void ReadNdjson(StreamReader reader, string path, LinkReaderOptions o, RawPairs raw)
    {
        long lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            string? problem = null;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    problem = "expected a JSON object";
                }
                else if (!root.TryGetProperty(o.EntityColumn, out var entityElement) || Text(entityElement) is not { Length: > 0 } entity)
                {
                    problem = $"no string or number field '{o.EntityColumn}'";
                }
                else if (o.EntityIds == EntityIdMode.Numeric && !IsInteger(entity))
                {
                    problem = $"entity '{entity}' is not an integer id (--entity-ids numeric)";
                }
                else if (!root.TryGetProperty(o.LinkColumn, out var links) || (links.ValueKind != JsonValueKind.Array && Text(links) is null))
                {
                    problem = $"no field '{o.LinkColumn}' holding a string or an array of strings";
                }
                else if (links.ValueKind == JsonValueKind.Array)
                {
                    foreach (var link in links.EnumerateArray())
                    {
                        if (Text(link) is { } text)
                        {
                            raw.Add(entity, text, o.StopList);
                        }
                        else
                        {
                            problem = $"field '{o.LinkColumn}' holds a {link.ValueKind}, not a string";
                            break;
                        }
                    }
                }
                else
                {
                    raw.Add(entity, Text(links)!, o.StopList);
                }
            }
            catch (JsonException e)
            {
                problem = $"not valid JSON ({e.Message})";
            }

            if (problem is not null)
            {
                Bad(path, lineNo, problem, o, raw);
            }
        }
    }

    private static string? Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!.Trim(),
        JsonValueKind.Number => e.GetRawText(),
        _ => null,
    };

    private static bool IsInteger(string text) => long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    private static void Bad(string path, long lineNo, string problem, LinkReaderOptions o, RawPairs raw)
    {
        if (!o.SkipBadRows)
        {
            throw new DataFormatException(path, lineNo, problem + " (use --skip-bad-rows to skip and count such lines)");
        }

        raw.Skipped++;
    }

    private static LinkPairs Build(string path, LinkReaderOptions o, RawPairs raw)
    {
        // Rare links: seen with fewer distinct entities than the minimum (pairs are distinct, so a count of pairs).
        var entitiesPerLink = new int[raw.Links.Count];
        foreach (var pair in raw.Pairs)
        {
            entitiesPerLink[pair.Link]++;
        }

        var entityTexts = new string[raw.Entities.Count];
        foreach (var (text, n) in raw.Entities)
        {
            entityTexts[n] = text;
        }

        var linkTexts = new string[raw.Links.Count];
        foreach (var (text, n) in raw.Links)
        {
            linkTexts[n] = text;
        }

        // Renumber what survives, in order of first appearance, so numbering does not depend on hash-set order.
        var kept = raw.Pairs.Where(p => entitiesPerLink[p.Link] >= o.MinLinkEntities).OrderBy(p => p.Entity).ThenBy(p => p.Link).ToArray();
        if (kept.Length == 0)
        {
            throw new DataFormatException(path, 0, $"no pairs left: every link is seen with fewer than {o.MinLinkEntities} entities.");
        }

        var entityNumber = new int[entityTexts.Length];
        var linkNumber = new int[linkTexts.Length];
        Array.Fill(entityNumber, -1);
        Array.Fill(linkNumber, -1);
        var entityIds = new List<long>();
        var linkIds = new List<long>();
        var entityLabels = new List<string?>();
        var linkLabels = new List<string>();
        bool numeric = o.EntityIds == EntityIdMode.Numeric || (o.EntityIds == EntityIdMode.Auto && entityTexts.All(IsInteger));
        var e = new int[kept.Length];
        var l = new int[kept.Length];
        var linkOwner = new Dictionary<long, string>();
        var entityOwner = new Dictionary<long, string>();
        for (int i = 0; i < kept.Length; i++)
        {
            var (pe, pl) = kept[i];
            if (entityNumber[pe] < 0)
            {
                string text = entityTexts[pe];
                long id = numeric ? long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : StableHash.Of(text);
                if (!entityOwner.TryAdd(id, text))
                {
                    throw new DataFormatException(path, 0, $"entities '{entityOwner[id]}' and '{text}' map to the same row id {id}.");
                }

                entityNumber[pe] = entityIds.Count;
                entityIds.Add(id);
                entityLabels.Add(numeric ? null : text);
            }

            if (linkNumber[pl] < 0)
            {
                string text = linkTexts[pl];
                long id = StableHash.Of(text);
                if (!linkOwner.TryAdd(id, text))
                {
                    throw new DataFormatException(path, 0, $"links '{linkOwner[id]}' and '{text}' map to the same row id {id}.");
                }

                linkNumber[pl] = linkIds.Count;
                linkIds.Add(id);
                linkLabels.Add(text);
            }

            e[i] = entityNumber[pe];
            l[i] = linkNumber[pl];
        }

        return new LinkPairs([.. entityIds], [.. linkIds], e, l, [.. entityLabels], [.. linkLabels])
        {
            SkippedRows = raw.Skipped,
            DroppedRare = raw.Pairs.Count - kept.Length,
            DroppedStopped = raw.Stopped,
            Repeated = raw.Repeated,
        };
    }
}
