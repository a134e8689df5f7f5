using ParameterServer.Core.Search;

namespace ParameterServer.Abstractions;

/// <summary>
/// Response timeout of whole-table and whole-shard calls (drop, snapshot, checkpoint, restore, reset): they touch
/// every row, and a large shard on a slow volume takes longer than the messaging timeout that lets pulls and
/// pushes to a dead silo fail fast.
/// </summary>
public static class AdminTimeout
{
    /// <summary>Five minutes, in <see cref="TimeSpan.Parse(string)"/> syntax.</summary>
    public const string Value = "00:05:00";
}

/// <summary>The metadata of one table (key: the table name). Creates, describes and drops it; fans out to its shards.</summary>
[Alias("ps.ITableGrain")]
public interface ITableGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the table, or returns the existing spec when one with the same dim and shard count exists.
    /// An existing table with another dim or shard count is an <see cref="ArgumentException"/> that says so.
    /// </summary>
    [Alias("Create")]
    Task<TableSpec> Create(TableSpec spec);

    /// <summary>
    /// The spec, or null when the table does not exist. Interleaves with the table's other calls: a shard that
    /// activates asks for the spec, possibly while this grain awaits that very shard in a fan-out (describe,
    /// snapshot, checkpoint), which would otherwise deadlock until the response timeout.
    /// </summary>
    [Alias("Get")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<TableSpec?> Get();

    /// <summary>Spec, rows, bytes and per-shard figures. Unknown table: <see cref="KeyNotFoundException"/>.</summary>
    [Alias("Describe")]
    Task<TableInfo> Describe();

    /// <summary>Drops every row and the metadata. Returns false when the table did not exist.</summary>
    [Alias("Drop")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<bool> Drop();

    /// <summary>Stores a small string property with the table (for example the training mean of an mf model).</summary>
    [Alias("SetMetadata")]
    Task SetMetadata(string key, string value);

    /// <summary>The table's properties.</summary>
    [Alias("GetMetadata")]
    Task<Dictionary<string, string>> GetMetadata();

    /// <summary>Every shard copies its rows aside (to keep the best epoch).</summary>
    [Alias("Snapshot")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task Snapshot();

    /// <summary>Every shard writes a checkpoint now.</summary>
    [Alias("Checkpoint")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<CheckpointResult[]> Checkpoint();

    /// <summary>
    /// Every shard goes back to its last snapshot; answers the shards that had none to go back to (they restarted
    /// from a checkpoint after a crash, or moved when too big to carry it) and so keep their rows.
    /// </summary>
    [Alias("RestoreSnapshot")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<int[]> RestoreSnapshot();
}

/// <summary>
/// One virtual shard of a table (key: <c>"{table}/{index}"</c>): the rows whose <c>mix64(id) % shards</c> is its
/// index. Pull creates rows lazily; push applies the table's optimizer.
/// </summary>
[Alias("ps.IShardGrain")]
public interface IShardGrain : IGrainWithStringKey, IShardRows
{
    /// <summary>The rows of <see cref="PullRequest.Ids"/>, in order, as one block.</summary>
    [Alias("Pull")]
    Task<RowBlock> Pull(PullRequest request);

    /// <summary>Applies the optimizer to every row of the push, or refuses it whole with an <see cref="ArgumentException"/>.</summary>
    [Alias("Push")]
    Task Push(PushRequest request);

    /// <summary>Sets labels of rows.</summary>
    [Alias("SetLabels")]
    Task SetLabels(LabelBatch labels);

    /// <summary>The rows of <see cref="PullRequest.Ids"/> without creating any (missing rows: their initial values, not found).</summary>
    [Alias("Peek")]
    Task<PeekResult> Peek(PullRequest request);

    /// <summary>
    /// Top-k of each query over this shard's rows (exact, or through the shard's index when the request has probes);
    /// euclidean scores are squared distances.
    /// </summary>
    [Alias("Search")]
    Task<SearchResult> Search(ShardSearchRequest request);

    /// <summary>
    /// Builds this shard's index for approximate searches by <paramref name="metric"/> now (cosine searches use one
    /// that files rows by direction, dot and euclidean one that files them by position), from its rows as they are
    /// (<paramref name="lists"/> 0: about √rows lists), and answers when it is ready. Searches with probes otherwise
    /// build it in the background.
    /// </summary>
    [Alias("BuildIndex")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<IndexInfo> BuildIndex(int lists, SimilarityMetric metric);

    /// <summary>This shard's ids labelled <paramref name="label"/> (exactly, and only ignoring case).</summary>
    [Alias("FindLabel")]
    Task<LabelMatches> FindLabel(string label);

    /// <summary>What the shard holds.</summary>
    [Alias("Describe")]
    Task<ShardInfo> Describe();

    /// <summary>
    /// Activates the shard and loads its rows (its checkpoint, if any) now rather than at the first pull, so a
    /// missing table or an unreadable checkpoint shows when the table opens and a worker in the same process finds
    /// the shard's store local from its first step.
    /// </summary>
    [Alias("Open")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task Open();

    /// <summary>
    /// Moves the shard, rows, optimizer state and step counts included, to <paramref name="silo"/> once its current
    /// calls are done (Orleans grain migration; calls that arrive meanwhile are forwarded to the new activation). False
    /// when the shard is already there, or is too big to travel in one message and has no checkpoint to reload from.
    /// </summary>
    [Alias("MoveTo")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<bool> MoveTo(SiloAddress silo);

    /// <summary>Drops every row and deactivates.</summary>
    [Alias("Reset")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task Reset();

    /// <summary>Copies the rows aside.</summary>
    [Alias("Snapshot")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task Snapshot();

    /// <summary>Writes a checkpoint now (checkpoints must be on: <see cref="InvalidOperationException"/> otherwise).</summary>
    [Alias("Checkpoint")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<CheckpointResult> Checkpoint();

    /// <summary>Goes back to the last snapshot; false (and nothing changed) without one.</summary>
    [Alias("RestoreSnapshot")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<bool> RestoreSnapshot();
}

/// <summary>
/// Spreads every table's shards evenly over the active silos (a single grain, key 0): each silo ends up with
/// ⌊S/N⌋ or ⌈S/N⌉ of a table's S shards, moving as few as that takes, each with its rows (<see cref="IShardGrain.MoveTo"/>).
/// Every silo asks it to balance every few seconds, so shards follow silos that join; a silo leaving gracefully asks it
/// to move its own shards away first.
/// </summary>
[Alias("ps.IShardBalancerGrain")]
public interface IShardBalancerGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Moves shards until every active silo, except <paramref name="leaving"/> (which gets none, and is kept out for a
    /// few minutes), holds its share of each table. Answers the moves asked for.
    /// </summary>
    [Alias("Balance")]
    [ResponseTimeout(AdminTimeout.Value)]
    Task<int> Balance(SiloAddress? leaving);
}

/// <summary>The list of tables (a single grain, key 0).</summary>
[Alias("ps.ITableCatalogGrain")]
public interface ITableCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Adds a table name.</summary>
    [Alias("Add")]
    Task Add(string table);

    /// <summary>Removes a table name.</summary>
    [Alias("Remove")]
    Task Remove(string table);

    /// <summary>Every table name, sorted.</summary>
    [Alias("List")]
    Task<string[]> List();
}

/// <summary>Grain keys.</summary>
public static class ShardKey
{
    /// <summary>The key of shard <paramref name="index"/> of <paramref name="table"/>.</summary>
    public static string Of(string table, int index) => $"{table}/{index}";

    /// <summary>Splits a shard key into table and index.</summary>
    public static (string Table, int Index) Parse(string key)
    {
        int slash = key.LastIndexOf('/');
        if (slash <= 0 || !int.TryParse(key.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
        {
            throw new ArgumentException($"'{key}' is not a shard key of the form table/index.");
        }

        return (key[..slash], index);
    }
}
