using System.Globalization;
using ParameterServer.Abstractions;
using ParameterServer.Core.Models;
using ParameterServer.Core.Optimizers;
using ParameterServer.Core.Storage;

namespace ParameterServer.Client.Training;

/// <summary>
/// The tables of a rating model: <c>{prefix}.users</c> and <c>{prefix}.items</c> (dim d) and, for models with
/// biases, <c>{prefix}.user_bias</c> and <c>{prefix}.item_bias</c> (dim 1). The model's kind, mean and range are
/// kept as metadata of the item table so <c>predict</c> can rebuild it.
/// </summary>
public sealed class RatingTables
{
    private RatingTables(TableClient users, TableClient items, TableClient? userBias, TableClient? itemBias, RatingModel model)
    {
        Users = users;
        Items = items;
        UserBias = userBias;
        ItemBias = itemBias;
        Model = model;
    }

    /// <summary>User vectors.</summary>
    public TableClient Users { get; }

    /// <summary>Item vectors.</summary>
    public TableClient Items { get; }

    /// <summary>User biases (null for <c>dot</c>).</summary>
    public TableClient? UserBias { get; }

    /// <summary>Item biases (null for <c>dot</c>).</summary>
    public TableClient? ItemBias { get; }

    /// <summary>The model over these tables.</summary>
    public RatingModel Model { get; }

    /// <summary>Every table of the model.</summary>
    public IEnumerable<TableClient> All => UserBias is null ? [Users, Items] : [Users, Items, UserBias, ItemBias!];

    /// <summary>Name of the item table for <paramref name="prefix"/>.</summary>
    public static string ItemTable(string prefix) => prefix + ".items";

    /// <summary>Name of the user table for <paramref name="prefix"/>.</summary>
    public static string UserTable(string prefix) => prefix + ".users";

    /// <summary>Creates (or finds) the tables for a job and records the model with them.</summary>
    public static async Task<RatingTables> CreateAsync(ParameterServerClient ps, TrainingOptions o, RatingModel model)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(o);
        TableSpec Spec(string suffix, int dim, InitializerKind init, float scale, int seedOffset) => new()
        {
            Name = $"{o.TablePrefix}.{suffix}",
            Dim = dim,
            // A bias row is 4 bytes: a quarter of the shards holds them easily, and every shard less is one call less
            // per step (across processes a call costs ~30 µs of CPU, far more than its payload).
            Shards = dim == 1 ? Math.Max(1, o.Shards / 4) : o.Shards,
            Initializer = init,
            InitScale = scale,
            Seed = o.Seed + seedOffset,
            Optimizer = o.Optimizer,
            LearningRate = o.LearningRate,
            WeightDecay = o.WeightDecay,
            Epsilon = OptimizerSettings.DefaultEpsilon(o.Optimizer),
        };

        string itemTable = ItemTable(o.TablePrefix);
        var grain = ps.TableGrain(itemTable);
        if (o.Fresh)
        {
            await ps.DropPrefixAsync(o.TablePrefix);
        }

        // Tables that exist carry their model: a job resumes from their rows with the model they were trained with
        // (its mean and range), and refuses another model rather than mixing two.
        var stored = await grain.Get() is null ? null : await grain.GetMetadata();
        if (stored is not null && stored.TryGetValue("model", out string? storedName) && RatingModel.ParseKind(storedName) != model.Kind)
        {
            throw new ArgumentException($"Tables '{o.TablePrefix}.*' hold a '{storedName}' model, not '{RatingModel.NameOf(model.Kind)}': train with --model {storedName} to resume, or add --fresh to drop them and start over.");
        }

        async Task<TableClient> Create(TableSpec spec)
        {
            try
            {
                return await ps.CreateTableAsync(spec);
            }
            catch (ArgumentException e) when (e.Message.Contains("already exists", StringComparison.Ordinal))
            {
                throw new ArgumentException($"{e.Message} To train these tables from scratch instead, add --fresh.", e);
            }
        }

        var users = await Create(Spec("users", o.Dim, InitializerKind.Normal, o.InitScale, 0));
        var items = await Create(Spec("items", o.Dim, InitializerKind.Normal, o.InitScale, 1));
        TableClient? ub = null, ib = null;
        if (model.HasBiases)
        {
            ub = await Create(Spec("user_bias", 1, InitializerKind.Zeros, 0, 2));
            ib = await Create(Spec("item_bias", 1, InitializerKind.Zeros, 0, 3));
        }

        if (stored is not null && stored.ContainsKey("model") && stored.ContainsKey("mean"))
        {
            float Num(string key) => float.Parse(stored[key], CultureInfo.InvariantCulture);
            return new RatingTables(users, items, ub, ib, new RatingModel(model.Kind, Num("min"), Num("max"), Num("mean")));
        }

        await grain.SetMetadata("model", RatingModel.NameOf(model.Kind));
        await ps.SetNumberAsync(itemTable, "mean", model.Mean);
        await ps.SetNumberAsync(itemTable, "min", model.Min);
        await ps.SetNumberAsync(itemTable, "max", model.Max);
        return new RatingTables(users, items, ub, ib, model);
    }

    /// <summary>Opens the tables of a trained model; the model comes from the item table's metadata.</summary>
    public static async Task<RatingTables> OpenAsync(ParameterServerClient ps, string prefix, RatingModelKind? expected = null)
    {
        ArgumentNullException.ThrowIfNull(ps);
        var items = await ps.OpenTableAsync(ItemTable(prefix));
        var users = await ps.OpenTableAsync(UserTable(prefix));
        var meta = await ps.TableGrain(ItemTable(prefix)).GetMetadata();
        if (!meta.TryGetValue("model", out string? name))
        {
            throw new InvalidOperationException($"Table '{ItemTable(prefix)}' records no model; was it trained by embed train?");
        }

        var kind = RatingModel.ParseKind(name);
        if (expected is { } e && e != kind)
        {
            throw new ArgumentException($"Tables '{prefix}.*' were trained with model '{name}', not '{RatingModel.NameOf(e)}'.");
        }

        float Num(string key) => float.Parse(meta[key], CultureInfo.InvariantCulture);
        var model = new RatingModel(kind, Num("min"), Num("max"), Num("mean"));
        TableClient? ub = null, ib = null;
        if (model.HasBiases)
        {
            ub = await ps.OpenTableAsync(prefix + ".user_bias");
            ib = await ps.OpenTableAsync(prefix + ".item_bias");
        }

        return new RatingTables(users, items, ub, ib, model);
    }

    /// <summary>Every table copies its rows aside.</summary>
    public Task SnapshotAsync(ParameterServerClient ps) => EpochDriver.SnapshotAsync(ps, All);

    /// <summary>Every table goes back to its snapshot.</summary>
    public Task RestoreAsync(ParameterServerClient ps) => EpochDriver.RestoreAsync(ps, All);
}
