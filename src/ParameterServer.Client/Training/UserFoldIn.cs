using System.Globalization;
using ParameterServer.Core.Models;

namespace ParameterServer.Client.Training;

/// <summary>
/// Folds a new user into a trained rating model without retraining: the user's vector (and bias, for <c>mf</c> and
/// <c>dot-bias</c>) is fitted on the worker against the frozen item rows and biases (read with Peek, never created or
/// changed) by <see cref="FoldInSolver"/>, then stored with <see cref="TableClient.WriteAsync"/> into
/// <c>{prefix}.users</c> and <c>{prefix}.user_bias</c>. Every check (ratings, range, items, an existing user) runs
/// before the first write, so a refused fold-in changes no stored row.
/// </summary>
public static class UserFoldIn
{
    /// <summary>The item table's metadata key under which <c>embed train</c> records its batches per epoch.</summary>
    public const string BatchesPerEpochKey = "batches_per_epoch";

    /// <summary>
    /// Fits and stores user <paramref name="user"/> from <paramref name="ratings"/>[k] of item <paramref name="items"/>[k].
    /// The L2 weight is <see cref="FoldInOptions.L2"/>, or by default the one that matches training's weight decay
    /// (<see cref="FoldInSolver.MatchingL2"/>: the user table's decay times the steps of an epoch that would touch the
    /// user's row, from the batches per epoch the training job recorded).
    /// </summary>
    /// <exception cref="ArgumentException">No ratings, a repeated item, a rating outside the model's range, bad options.</exception>
    /// <exception cref="KeyNotFoundException">
    /// Unknown tables, or items the model was not trained on (not in the item table, or, for <c>mf</c> and
    /// <c>dot-bias</c>, without a row in the item bias table: a title alone creates an item row) unless
    /// <see cref="FoldInOptions.SkipUnknown"/> leaves them out.
    /// </exception>
    /// <exception cref="InvalidOperationException">The user already has a row and <see cref="FoldInOptions.Overwrite"/> is off.</exception>
    public static async Task<FoldInResult> FoldInAsync(ParameterServerClient ps, string prefix, long user, IReadOnlyList<long> items, IReadOnlyList<float> ratings, FoldInOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(ps);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(ratings);
        var o = options ?? new FoldInOptions();
        o.Validate();
        if (items.Count != ratings.Count)
        {
            throw new ArgumentException($"{items.Count} items but {ratings.Count} ratings.");
        }

        if (items.Count == 0)
        {
            throw new ArgumentException($"No ratings to fold in for user {user}: give at least one.");
        }

        CheckDistinct(items);
        var tables = await RatingTables.OpenAsync(ps, prefix);
        var model = tables.Model;
        if (!model.PredictsRatings)
        {
            throw new ArgumentException($"Tables '{prefix}.*' hold a bpr model: it ranks, it does not predict ratings, so a user cannot be folded in from ratings. Train the user with the others instead.");
        }
        for (int k = 0; k < ratings.Count; k++)
        {
            if (!(ratings[k] >= model.Min && ratings[k] <= model.Max))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Rating {ratings[k]} of movie {items[k]} (entry {k + 1} of {ratings.Count}) is outside the model's range [{model.Min}, {model.Max}] (its training ratings' range)."));
            }
        }

        string userTable = tables.Users.Spec.Name;
        var existing = await Query.RowPeek.PeekAsync(ps, userTable, new[] { user }, tables.Users.Dim);
        if (existing.Found[0] && !o.Overwrite)
        {
            throw new InvalidOperationException($"User {user} already has a row in table {userTable} (trained or folded in before); pass --overwrite to replace it.");
        }

        long[] ids = [.. items];
        float[] values = [.. ratings];
        var itemRows = await Query.RowPeek.PeekAsync(ps, tables.Items.Spec.Name, ids, tables.Items.Dim);
        // Training creates an item's bias row with its vector; a title set by --items creates only the vector's row.
        // So for mf and dot-bias an item without a bias row was never trained: its vector is still its random start.
        float[] itemBiases = [];
        bool[] trained = itemRows.Found;
        if (tables.ItemBias is { } ib)
        {
            (itemBiases, var biasFound) = await Query.RowPeek.PeekAsync(ps, ib.Spec.Name, ids, 1);
            trained = [.. trained.Select((f, k) => f && biasFound[k])];
        }

        long[] unknown = [.. ids.Where((_, k) => !trained[k])];
        if (unknown.Length > 0 && !o.SkipUnknown)
        {
            throw new KeyNotFoundException(UnknownItems(unknown, itemRows.Found, ids, tables) + " Leave such movies out, or pass --skip-unknown.");
        }

        if (unknown.Length > 0)
        {
            if (unknown.Length == ids.Length)
            {
                throw new KeyNotFoundException(UnknownItems(unknown, itemRows.Found, ids, tables) + " No rated movie is left to fit.");
            }

            // Compact the trained items to the front, in place, and trim.
            int d = tables.Items.Dim, w = 0;
            for (int k = 0; k < ids.Length; k++)
            {
                if (!trained[k])
                {
                    continue;
                }

                ids[w] = ids[k];
                values[w] = values[k];
                itemRows.Values.AsSpan(k * d, d).CopyTo(itemRows.Values.AsSpan(w * d, d));
                if (itemBiases.Length > 0)
                {
                    itemBiases[w] = itemBiases[k];
                }

                w++;
            }

            ids = ids[..w];
            values = values[..w];
            itemRows = (itemRows.Values[..(w * d)], itemRows.Found);
            itemBiases = itemBiases.Length == 0 ? [] : itemBiases[..w];
        }

        double lambda = o.L2 ?? FoldInSolver.MatchingL2(tables.Users.Spec.WeightDecay, ids.Length, await ps.GetNumberAsync(tables.Items.Spec.Name, BatchesPerEpochKey));
        var fit = FoldInSolver.Fit(model, itemRows.Values, itemBiases, values, tables.Users.Dim, lambda, o.Steps);

        // The bias first: should the vector's write fail, the user still has no row and a retry needs no --overwrite.
        if (tables.UserBias is { } ub)
        {
            await ub.WriteAsync(new long[] { user }, new[] { fit.Bias });
        }

        await tables.Users.WriteAsync(new long[] { user }, fit.Vector);
        // The items the user was folded in with are theirs now: recommendations leave them out.
        await ps.RecordHistoryAsync(prefix, [.. Enumerable.Repeat(user, ids.Length)], ids);
        return new FoldInResult(user, model.Kind, ids.Length, fit.Lambda, fit.Vector, fit.Bias, fit.TrainRmse, fit.Iterations, existing.Found[0], userTable) { Skipped = unknown };
    }

    /// <summary>What is wrong with <paramref name="unknown"/>: not in the item table, or there only by a title.</summary>
    private static string UnknownItems(long[] unknown, bool[] inItemTable, long[] ids, RatingTables tables)
    {
        var present = new HashSet<long>(ids.Where((_, k) => inItemTable[k]));
        long[] absent = [.. unknown.Where(id => !present.Contains(id))];
        long[] untrained = [.. unknown.Where(present.Contains)];
        string items = tables.Items.Spec.Name;
        var parts = new List<string>();
        if (absent.Length > 0)
        {
            parts.Add($"{Movies(absent)} {(absent.Length == 1 ? "is" : "are")} not in table {items}");
        }

        if (untrained.Length > 0)
        {
            parts.Add($"{Movies(untrained)} {(untrained.Length == 1 ? "has a row" : "have rows")} in table {items} (a title) but no trained bias in {tables.ItemBias!.Spec.Name}: never in the training ratings");
        }

        return string.Join("; ", parts) + ". Fold-in fits a user against the items the model was trained on.";
    }

    private static string Movies(long[] ids) =>
        (ids.Length == 1 ? "movie " : "movies ") + string.Join(", ", ids.Take(5)) + (ids.Length > 5 ? $" (and {ids.Length - 5} more)" : "");

    private static void CheckDistinct(IReadOnlyList<long> items)
    {
        var first = new Dictionary<long, int>(items.Count);
        for (int k = 0; k < items.Count; k++)
        {
            if (!first.TryAdd(items[k], k))
            {
                throw new ArgumentException($"Movie {items[k]} is rated twice (entries {first[items[k]] + 1} and {k + 1}); give each movie once.");
            }
        }
    }
}

/// <summary>Settings of a fold-in.</summary>
public sealed record FoldInOptions
{
    /// <summary>The L2 weight λ; null: the weight that matches training's weight decay (<see cref="FoldInSolver.MatchingL2"/>).</summary>
    public double? L2 { get; init; }

    /// <summary>Most Gauss-Newton steps for <c>dot-bias</c> (the other models are solved in closed form).</summary>
    public int Steps { get; init; } = FoldInSolver.DefaultSteps;

    /// <summary>Leave out rated items the model was not trained on instead of refusing the fold-in.</summary>
    public bool SkipUnknown { get; init; }

    /// <summary>Replace a user that already has a row.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (L2 is { } l2 && !(l2 >= 0 && l2 <= 1e6))
        {
            throw new ArgumentException($"--l2 {l2} must be in [0, 1000000].");
        }

        if (Steps < 1 || Steps > FoldInSolver.MaxSteps)
        {
            throw new ArgumentException($"--steps {Steps} must be in 1..{FoldInSolver.MaxSteps}.");
        }
    }
}

/// <summary>A user folded into a trained model.</summary>
/// <param name="User">The user id.</param>
/// <param name="Model">The rating model.</param>
/// <param name="Ratings">Ratings fitted (without skipped items).</param>
/// <param name="Lambda">The L2 weight used.</param>
/// <param name="Vector">The stored vector.</param>
/// <param name="Bias">The stored bias (0 for <c>dot</c>, which has none).</param>
/// <param name="TrainRmse">RMSE of the model's predictions on the fitted ratings.</param>
/// <param name="Iterations">Gauss-Newton steps (<c>dot-bias</c>); 1 for the closed form.</param>
/// <param name="Replaced">Whether a row of the user was replaced.</param>
/// <param name="UserTable">The table the vector was stored in.</param>
public sealed record FoldInResult(long User, RatingModelKind Model, int Ratings, double Lambda, float[] Vector, float Bias, double TrainRmse, int Iterations, bool Replaced, string UserTable)
{
    /// <summary>Rated items left out because the model was not trained on them (with <see cref="FoldInOptions.SkipUnknown"/>).</summary>
    public IReadOnlyList<long> Skipped { get; init; } = [];
}
