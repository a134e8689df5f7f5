using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ParameterServer.Abstractions;
using ParameterServer.Client.Query;
using ParameterServer.Core.Search;
using ParameterServer.Embed.Options;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed query</c>: the rows of a table closest to a row (by id or label) or to a vector.</summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var table = new Option<string>("--table") { Description = "Table to search.", DefaultValueFactory = _ => "ratings.items" };
        var key = new Option<long?>("--key") { Description = "Query by row id: the neighbours of this row." };
        var label = new Option<string?>("--label") { Description = "Query by row label, e.g. a movie title: exact match first, then ignoring case." };
        var vector = new Option<string?>("--vector") { Description = "Query by a raw vector of the table's dim: comma-separated numbers, e.g. \"0.1,0.2,...\"." };
        var positive = new Option<string[]>("--positive") { Description = "Analogy: rows whose unit vectors are added, e.g. --positive king,woman (commas not followed by a space separate labels; id:N names a row by id). Repeatable.", AllowMultipleArgumentsPerToken = false };
        var negative = new Option<string[]>("--negative") { Description = "Analogy: rows whose unit vectors are subtracted, e.g. --negative man. The rows named are left out of the answer." };
        var k = TopK();
        var metric = Metric("cosine");
        var excludeSelf = new Option<bool>("--exclude-self") { Description = "Leave the queried row out of the answer." };
        var minUpdates = MinUpdates();
        var minRatings = MinRatings();
        var json = Json();
        var approx = new Option<bool>("--approx") { Description = "Approximate search through each shard's inverted-file index (built in the background on first use; shards answer exactly until theirs is ready). Not with --positive." };
        var probes = Probes();
        var cluster = CommonOptions.Cluster();
        var command = new Command("query", "Top-k nearest rows of a table, over every shard, by cosine, dot or euclidean distance: exact, or approximate with --approx. Prints rank, id, score and label.")
        {
            table, key, label, vector, positive, negative, k, metric, excludeSelf, minUpdates, minRatings, json, approx, probes, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            string[] plus = p.GetValue(positive) ?? [], minus = p.GetValue(negative) ?? [];
            int given = (p.GetValue(key) is null ? 0 : 1) + (p.GetValue(label) is null ? 0 : 1) + (p.GetValue(vector) is null ? 0 : 1) + (plus.Length + minus.Length > 0 ? 1 : 0);
            if (given != 1)
            {
                throw new ArgumentException("Give exactly one of --key, --label, --vector or --positive (with --negative).");
            }

            int top = CheckK(p.GetValue(k));
            var m = SimilarityMetrics.Parse(p.GetValue(metric)!);
            int nprobe = p.GetValue(approx) ? CheckProbes(p.GetValue(probes)) : 0;
            if (plus.Length + minus.Length > 0)
            {
                if (nprobe > 0)
                {
                    throw new ArgumentException("--approx searches from a row or a vector; an analogy (--positive) is always exact.");
                }

                if (plus.Length == 0)
                {
                    throw new ArgumentException("--negative needs at least one --positive row to subtract from.");
                }

                await using var analogyConnection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
                long analogyMin = await ResolveMinRatings(analogyConnection.Client, p.GetValue(table)!, p.GetValue(minRatings));
                var analogy = await WithEmbeddedHint(analogyConnection, () => new QueryClient(analogyConnection.Client).AnalogyAsync(p.GetValue(table)!, QueryClient.ParseTerms(plus), QueryClient.ParseTerms(minus), top, m, CheckMinUpdates(p.GetValue(minUpdates)), analogyMin));
                var hits = analogy.Result.Hits(0);
                if (p.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        table = p.GetValue(table),
                        metric = SimilarityMetrics.NameOf(m),
                        positive = analogy.Positive.Select(r => new { id = r.Id, label = r.Label }),
                        negative = analogy.Negative.Select(r => new { id = r.Id, label = r.Label }),
                        hits = hits.Select(h => new { rank = h.Rank, id = h.Id, score = h.Score, label = h.Label }),
                    }));
                    return 0;
                }

                static string Names(ResolvedRow[] rows) => string.Join(" + ", rows.Select(r => r.Label is { } l ? $"\"{l}\"" : $"row {r.Id}"));
                Console.WriteLine($"nearest to {Names(analogy.Positive)}{(analogy.Negative.Length > 0 ? " - " + Names(analogy.Negative).Replace(" + ", " - ", StringComparison.Ordinal) : "")} (unit vectors) in {p.GetValue(table)} by {SimilarityMetrics.NameOf(m)}, k {top}:");
                PrintHits(hits, null);
                if (MinRatingsNote(p.GetValue(minRatings), analogyMin) is { } analogyNote)
                {
                    Console.WriteLine(analogyNote);
                }
                return 0;
            }

            var target = p.GetValue(key) is { } id ? QueryTarget.ById(id)
                : p.GetValue(label) is { } text ? QueryTarget.ByLabel(text)
                : QueryTarget.ByVector(QueryTarget.ParseVector(p.GetValue(vector)!));
            await using var connection = await ClusterConnection.StartAsync(p.GetValue(cluster), ct);
            long minCount = await ResolveMinRatings(connection.Client, p.GetValue(table)!, p.GetValue(minRatings));
            var answer = await WithEmbeddedHint(connection, () => new QueryClient(connection.Client).NearestAsync(p.GetValue(table)!, target, top, m, p.GetValue(excludeSelf), CheckMinUpdates(p.GetValue(minUpdates)), minCount, nprobe));
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    table = answer.Table,
                    metric = SimilarityMetrics.NameOf(answer.Metric),
                    query_id = answer.QueryId,
                    query_label = answer.QueryLabel,
                    probes = nprobe,
                    indexed_shards = answer.IndexedShards,
                    hits = answer.Hits.Select(h => new { rank = h.Rank, id = h.Id, score = h.Score, label = h.Label }),
                }));
                return 0;
            }

            string what = answer.QueryId is { } qid ? (answer.QueryLabel is { } ql ? $"\"{ql}\" (id {qid})" : $"row {qid}") : "the vector";
            Console.WriteLine($"nearest to {what} in {answer.Table} by {SimilarityMetrics.NameOf(answer.Metric)}, k {top}:");
            if (answer.LabelMatches > 1)
            {
                Console.WriteLine($"note: {answer.LabelMatches} rows carry that label; the one with the lowest id was used.");
            }

            PrintHits(answer.Hits, null);
            if (nprobe > 0)
            {
                Console.WriteLine(answer.IndexedShards == 0
                    ? "note: approximate search asked, but no shard's index was ready: this answer is exact (the indexes are being built; ask again shortly)."
                    : $"approximate: {answer.IndexedShards} shard(s) answered from their index, probing {nprobe} lists each; any other shard scanned every row.");
            }

            if (MinRatingsNote(p.GetValue(minRatings), minCount) is { } note)
            {
                Console.WriteLine(note);
            }
            return 0;
        });
        return command;
    }

    public static Option<int> TopK() => new("-k", "--top")
    {
        Description = $"How many rows to return (1 to {QueryLimits.MaxK}).",
        DefaultValueFactory = _ => 10,
    };

    public static Option<string> Metric(string defaultValue) => new("--metric")
    {
        Description = "cosine (angle; row norms are kept current by the shards), dot (inner product) or euclidean (distance, lower is closer).",
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<long> MinUpdates() => new("--min-updates")
    {
        Description = "Leave out rows updated fewer than this many times (rarely seen items keep vectors close to their random start). Default 0: every row.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>What --min-ratings means when not given: rows seen this few times in training are mostly noise.</summary>
    public const long DefaultMinRatings = 5;

    public static Option<long?> MinRatings() => new("--min-ratings")
    {
        Description = $"Leave out rows seen fewer than this many times in the training data of the job that trained the table (for items: their ratings): films rated once or twice keep vectors close to their random start. Default {DefaultMinRatings} when the table has training counts (a rating job writes them), else 0; 0 shows every row.",
    };

    /// <summary>
    /// The --min-ratings to use on <paramref name="table"/>: the given value, or without one
    /// <see cref="DefaultMinRatings"/> when the table has training counts and 0 when it has none.
    /// </summary>
    public static async Task<long> ResolveMinRatings(Client.ParameterServerClient ps, string table, long? given)
    {
        if (given is { } n)
        {
            return n >= 0 ? n : throw new ArgumentException($"--min-ratings must be 0 or more; got {n}.");
        }

        var tables = await ps.ListTablesAsync();
        if (!tables.Contains(table))
        {
            return 0; // the search itself names the unknown table
        }

        return (await ps.DescribeAsync(table)).Metadata.ContainsKey(TrainingCounts.MetadataKey) ? DefaultMinRatings : 0;
    }

    /// <summary>The line that says a default filter is on, or null.</summary>
    public static string? MinRatingsNote(long? given, long used) =>
        given is null && used > 0 ? $"(rows seen fewer than {used} times in training are left out; --min-ratings 0 shows every row)" : null;

    public static long CheckMinUpdates(long n) => n >= 0 ? n : throw new ArgumentException($"--min-updates must be 0 or more; got {n}.");

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object instead of a table." };

    public static Option<int> Probes() => new("--nprobe")
    {
        Description = $"With --approx: lists of each shard's index to scan per query (1 to {QueryLimits.MaxProbes}); more finds more of the exact top-k and costs more.",
        DefaultValueFactory = _ => 16,
    };

    public static int CheckProbes(int probes) => probes is > 0 and <= QueryLimits.MaxProbes ? probes : throw new ArgumentException($"--nprobe must be between 1 and {QueryLimits.MaxProbes}; got {probes}.");

    public static int CheckK(int k) => k is > 0 and <= QueryLimits.MaxK ? k : throw new ArgumentException($"-k must be between 1 and {QueryLimits.MaxK}; got {k}.");

    /// <summary>Runs <paramref name="action"/>; on an embedded silo an unknown table gets a hint that it starts empty.</summary>
    public static async Task<T> WithEmbeddedHint<T>(ClusterConnection connection, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (KeyNotFoundException e) when (connection.Embedded && e.Message.StartsWith("Unknown table", StringComparison.Ordinal))
        {
            throw new KeyNotFoundException($"{e.Message} The embedded silo of this process starts empty: run the query with --cluster against the silo that holds the trained tables.", e);
        }
    }

    /// <summary>Prints hits as a table; <paramref name="predicted"/> adds a column when given.</summary>
    public static void PrintHits(IReadOnlyList<SearchHit> hits, IReadOnlyList<float>? predicted, string predictedHeader = "predicted")
    {
        Console.WriteLine(predicted is null ? $"{"rank",4} {"id",10} {"score",10}  label" : $"{"rank",4} {"id",10} {predictedHeader,9} {"score",10}  label");
        for (int i = 0; i < hits.Count; i++)
        {
            var h = hits[i];
            string pred = predicted is null ? "" : string.Create(CultureInfo.InvariantCulture, $" {predicted[i],9:F3}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{h.Rank,4} {h.Id,10}{pred} {h.Score,10:F4}  {h.Label ?? ""}"));
        }

        if (hits.Count == 0)
        {
            Console.WriteLine("(no rows)");
        }
    }
}
