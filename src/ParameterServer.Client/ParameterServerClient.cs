using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Streams;
using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>Entry point of a worker: creates, finds and drops tables, and gives <see cref="TableClient"/>s.</summary>
public sealed class ParameterServerClient
{
    /// <summary>
    /// Creates the client over <paramref name="grains"/> (an Orleans client or a co-hosted silo); with
    /// <paramref name="events"/>, training jobs publish their events on the <see cref="TrainingEvents"/> stream; with
    /// <paramref name="local"/> (the silo in this process), steps read and write that silo's active shards in place.
    /// </summary>
    /// <param name="grains">An Orleans client or a co-hosted silo's grain factory.</param>
    /// <param name="events">The training-events stream provider, or null.</param>
    /// <param name="local">The silo in this process, or null.</param>
    /// <param name="connectedGateway">Which gateways an Orleans client is connected to (see <see cref="StepClient"/>); null: all of the cluster's.</param>
    /// <param name="stepSerializer">With an Orleans client's serializer, steps go to the silos' step sockets where they have one (see <see cref="StepClient"/>).</param>
    public ParameterServerClient(IGrainFactory grains, IStreamProvider? events = null, ILocalShardAccess? local = null, Func<IPEndPoint, bool>? connectedGateway = null,
        Serializer? stepSerializer = null)
    {
        Grains = grains ?? throw new ArgumentNullException(nameof(grains));
        Events = events;
        Steps = new StepClient(grains, local, connectedGateway, stepSerializer);
    }

    /// <summary>
    /// Creates the client over an Orleans cluster client, with the training-events stream when the client was
    /// configured with it (<see cref="ParameterServerClientBuilder.AddParameterServerClient"/>). The cluster client of
    /// a silo hosted in this process (the embedded silo) also gives steps in-place access to that silo's active shards
    /// (<see cref="ILocalShardAccess"/>); any other sends its steps to the silos' step sockets unless
    /// <paramref name="stepSocket"/> is false (then through the gateways, as grain calls).
    /// </summary>
    public ParameterServerClient(IClusterClient client, bool stepSocket = true)
        : this(
            client,
            (client ?? throw new ArgumentNullException(nameof(client))).ServiceProvider.GetKeyedService<IStreamProvider>(TrainingEvents.StreamProvider),
            client.ServiceProvider.GetService<ILocalShardAccess>(),
            ConnectedGateways(client.ServiceProvider),
            stepSocket && client.ServiceProvider.GetService<ILocalShardAccess>() is null ? client.ServiceProvider.GetService<Serializer>() : null)
    {
    }

    /// <summary>
    /// The gateways a client given a static list connects to (those only); null for a client that finds the cluster's
    /// gateways in its membership table, and so may connect to any.
    /// </summary>
    private static Func<IPEndPoint, bool>? ConnectedGateways(IServiceProvider services)
    {
        var listed = services.GetService<IOptions<StaticGatewayListProviderOptions>>()?.Value.Gateways;
        if (listed is not { Count: > 0 })
        {
            return null;
        }

        var endpoints = listed.Select(uri => uri.ToGatewayAddress()?.Endpoint).OfType<IPEndPoint>().ToHashSet();
        return endpoint => endpoints.Contains(endpoint);
    }

    /// <summary>
    /// How the table calls that are safe to repeat (create-or-find, reads, metadata, checkpoints, snapshots, histories) ride out a
    /// silo that leaves or dies: a table's grain on a stopping silo answers "silo stopping" until it has moved.
    /// </summary>
    internal static RetryPolicy Admin => RetryPolicy.Default;

    // The grain factory stays inside this assembly: callers reach tables, shards and queries through this facade and
    // TableClient, so routing (shard of a row, silo of a step) is decided in one place.
    private IGrainFactory Grains { get; }

    /// <summary>The grain of table <paramref name="name"/> (its definition, metadata, snapshots, checkpoints).</summary>
    internal ITableGrain TableGrain(string name) => Grains.GetGrain<ITableGrain>(name);

    internal IShardGrain ShardGrain(string table, int shard) => Grains.GetGrain<IShardGrain>(ShardKey.Of(table, shard));

    /// <summary>The query grain (top-k search, peeks, label lookups).</summary>
    internal IQueryGrain QueryGrain => Grains.GetGrain<IQueryGrain>(0);

    /// <summary>Pulls and pushes of a whole step over several tables, one call each (see <see cref="StepClient"/>).</summary>
    public StepClient Steps { get; }

    /// <summary>The training-events stream provider, or null.</summary>
    public IStreamProvider? Events { get; }

    /// <summary>Creates a table (or finds the same one) and returns a client for it.</summary>
    public async Task<TableClient> CreateTableAsync(TableSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var created = await Admin.RunAsync(() => TableGrain(spec.Name).Create(spec));
        return new TableClient(Grains, created);
    }

    /// <summary>A client for an existing table; <see cref="KeyNotFoundException"/> when it does not exist.</summary>
    public async Task<TableClient> OpenTableAsync(string name)
    {
        TableSpec.ValidateName(name);
        var spec = await Admin.RunAsync(() => TableGrain(name).Get());
        if (spec is null)
        {
            string existing = string.Join(", ", await ListTablesAsync());
            throw new KeyNotFoundException($"Unknown table '{name}'. Existing tables: {(existing.Length > 0 ? existing : "(none)")}.");
        }

        return new TableClient(Grains, spec);
    }

    /// <summary>Writes a checkpoint of every shard of table <paramref name="name"/> now; one result per shard.</summary>
    public Task<CheckpointResult[]> CheckpointAsync(string name)
    {
        TableSpec.ValidateName(name);
        return Admin.RunAsync(() => TableGrain(name).Checkpoint());
    }

    /// <summary>Every table name.</summary>
    public Task<string[]> ListTablesAsync() => Admin.RunAsync(() => Grains.GetGrain<ITableCatalogGrain>(0).List());

    /// <summary>What a table holds.</summary>
    public Task<TableInfo> DescribeAsync(string name)
    {
        TableSpec.ValidateName(name);
        return Admin.RunAsync(() => TableGrain(name).Describe());
    }

    /// <summary>Drops a table; false when it did not exist.</summary>
    public Task<bool> DropAsync(string name)
    {
        TableSpec.ValidateName(name);
        return TableGrain(name).Drop();
    }

    /// <summary>
    /// Drops every table named <c>{prefix}.*</c> (the tables of one job: <c>{prefix}.users</c>, <c>{prefix}.items</c>,
    /// ...) and the job's user histories, and returns the tables' names, ascending; empty when none existed. <paramref name="prefix"/> must itself be a
    /// valid table name, so a prefix can never match every table.
    /// </summary>
    public async Task<string[]> DropPrefixAsync(string prefix)
    {
        TableSpec.ValidateName(prefix);
        string[] names = [.. (await ListTablesAsync()).Where(n => n.StartsWith(prefix + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        var dropped = await Task.WhenAll(names.Select(DropAsync));
        // The job's user histories go with its tables.
        await ClearHistoryAsync(prefix);
        return [.. names.Where((_, i) => dropped[i])];
    }

    /// <summary>
    /// Records that <paramref name="users"/>[i] interacted with <paramref name="items"/>[i] in job
    /// <paramref name="prefix"/> (rated in training, or folded in): recommendations then leave those items out.
    /// One call per history bucket that holds any of the users, in parallel.
    /// </summary>
    public async Task RecordHistoryAsync(string prefix, IReadOnlyList<long> users, IReadOnlyList<long> items)
    {
        TableSpec.ValidateName(prefix);
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(items);
        if (users.Count != items.Count)
        {
            throw new ArgumentException($"{users.Count} users for {items.Count} items: the history takes one (user, item) pair per row.");
        }

        var calls = Enumerable.Range(0, users.Count)
            .GroupBy(i => UserHistory.BucketOf(users[i]))
            .SelectMany(bucket => bucket.Chunk(UserHistory.MaxItemsPerCall).Select(rows =>
            {
                // An add merges (distinct items), so sending it again after a lost answer changes nothing.
                long[] u = [.. rows.Select(i => users[i])], v = [.. rows.Select(i => items[i])];
                var grain = Grains.GetGrain<IUserHistoryGrain>(UserHistory.Key(prefix, bucket.Key));
                return RetryPolicy.Default.RunAsync(() => grain.Add(u, v));
            }));
        await Task.WhenAll(calls);
    }

    /// <summary>The items <paramref name="user"/> interacted with in job <paramref name="prefix"/>, ascending (empty when none are recorded).</summary>
    public Task<long[]> HistoryAsync(string prefix, long user)
    {
        TableSpec.ValidateName(prefix);
        var bucket = Grains.GetGrain<IUserHistoryGrain>(UserHistory.Key(prefix, UserHistory.BucketOf(user)));
        return Admin.RunAsync(() => bucket.Items(user));
    }

    /// <summary>Forgets every user history of job <paramref name="prefix"/>.</summary>
    public Task ClearHistoryAsync(string prefix)
    {
        TableSpec.ValidateName(prefix);
        return Task.WhenAll(Enumerable.Range(0, UserHistory.Buckets).Select(b => Admin.RunAsync(() => Grains.GetGrain<IUserHistoryGrain>(UserHistory.Key(prefix, b)).Clear())));
    }

    /// <summary>Sets labels of rows (routed to their shards, one call per shard); see <see cref="TableClient.SetLabelsAsync"/>.</summary>
    public Task SetLabelsAsync(TableClient table, IReadOnlyDictionary<long, string> labels)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.SetLabelsAsync(labels);
    }

    /// <summary>Stores a text with a table.</summary>
    public Task SetTextAsync(string table, string key, string value)
    {
        TableSpec.ValidateName(table);
        return Admin.RunAsync(() => TableGrain(table).SetMetadata(key, value));
    }

    /// <summary>Stores a number with a table.</summary>
    public Task SetNumberAsync(string table, string key, double value) =>
        Admin.RunAsync(() => TableGrain(table).SetMetadata(key, value.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>A number stored with a table, or null.</summary>
    public async Task<double?> GetNumberAsync(string table, string key)
    {
        var meta = await Admin.RunAsync(() => TableGrain(table).GetMetadata());
        return meta.TryGetValue(key, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
    }
}
