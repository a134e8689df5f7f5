using ParameterServer.Abstractions;

namespace ParameterServer.Grains;

/// <summary>One bucket of a job's user histories, kept as grain state.</summary>
[GenerateSerializer, Alias("ps.UserHistoryState")]
public sealed class UserHistoryState
{
    /// <summary>Each user's items, ascending and distinct.</summary>
    [Id(0)] public Dictionary<long, long[]> Items { get; set; } = [];
}

/// <summary>A bucket of user histories (<see cref="IUserHistoryGrain"/>).</summary>
public sealed class UserHistoryGrain([PersistentState("history", ParameterServerSilo.MetadataStorage)] IPersistentState<UserHistoryState> state) : Grain, IUserHistoryGrain
{
    /// <inheritdoc/>
    public async Task Add(long[] users, long[] items)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(items);
        if (users.Length != items.Length || users.Length > UserHistory.MaxItemsPerCall)
        {
            throw new ArgumentException($"History of '{this.GetPrimaryKeyString()}' refused: {users.Length} users and {items.Length} items; a call carries as many of each, at most {UserHistory.MaxItemsPerCall:N0}.");
        }

        var held = state.State.Items;
        foreach (var group in users.Select((u, i) => (User: u, Item: items[i])).GroupBy(x => x.User))
        {
            held[group.Key] = held.TryGetValue(group.Key, out var had)
                ? [.. had.Concat(group.Select(x => x.Item)).Distinct().Order()]
                : [.. group.Select(x => x.Item).Distinct().Order()];
        }

        await state.WriteStateAsync();
    }

    /// <inheritdoc/>
    public Task<long[]> Items(long user) => Task.FromResult(state.State.Items.TryGetValue(user, out var items) ? items : []);

    /// <inheritdoc/>
    public Task<(int Users, long Items)> Count() => Task.FromResult((state.State.Items.Count, state.State.Items.Values.Sum(v => (long)v.Length)));

    /// <inheritdoc/>
    public async Task Clear()
    {
        if (state.State.Items.Count > 0 || state.RecordExists)
        {
            await state.ClearStateAsync();
        }
    }
}
