namespace ParameterServer.Abstractions;

/// <summary>
/// The entry point of a silo for a worker's whole step: one call carries the rows of every table and shard the step
/// touches, and the silo hands each shard its part in process (shards it does not hold are reached with ordinary
/// shard calls from there). A step then costs one message each way per silo instead of one per shard per table.
/// Two services answer it: <see cref="IStepRouter"/> on whichever silo receives the call, and
/// <see cref="ISiloStepService"/> on a silo the caller names.
/// </summary>
[Alias("ps.IStepService")]
public interface IStepService : IAddressable
{
    /// <summary>The rows of every part, one block per part in the order of <see cref="StepPull.Parts"/>.</summary>
    [Alias("Pull")]
    Task<StepRows> Pull(StepPull request);

    /// <summary>
    /// Applies every part's gradients. Each part is applied or refused on its own, as a call to its shard would be;
    /// a refused part fails the call with that part's <see cref="ArgumentException"/> after the others were applied.
    /// </summary>
    [Alias("Push")]
    Task Push(StepPush request);

    /// <summary>
    /// Applies <paramref name="push"/>'s parts, then answers <paramref name="pull"/>'s rows: a worker's push of one
    /// step and its pull of a later one in one message each way, so a step costs one call per silo instead of two. A
    /// refused push part does not fail the call (the pull is still answered): its message comes back in
    /// <see cref="StepRows.PushRefused"/> after the other parts were applied.
    /// </summary>
    [Alias("PushPull")]
    Task<StepRows> PushPull(StepPush push, StepPull pull);
}

/// <summary>
/// The step service as a stateless worker: activated on the silo that receives the call (for a client, its
/// gateway), several times when calls overlap. Used when the caller does not know where a step's shards live.
/// </summary>
[Alias("ps.IStepRouter")]
public interface IStepRouter : IStepService, IGrainWithIntegerKey;

/// <summary>
/// The step service of one silo, a system target every silo runs (address <see cref="SiloStepServiceId"/>). Its
/// address names the silo, so a client's message goes to that silo's gateway and is served there; a grain call from
/// a client goes instead to a gateway picked by hashing the grain's id, which forwards it when the grain lives
/// elsewhere: with N silos, (N-1)/N of the steps' rows crossed the loopback twice and were decoded and encoded again
/// on the way. A worker that knows where each shard lives sends each silo only the parts of the shards it holds, so
/// a step costs one message per silo it touches, however many silos the cluster has; a part whose shard moved away is
/// reached from there with a shard call (the answer's <see cref="StepRows.Forwarded"/> tells the caller to look again).
/// </summary>
[Alias("ps.ISiloStepService")]
public interface ISiloStepService : IStepService, Orleans.Services.IGrainService;

/// <summary>Addresses of <see cref="ISiloStepService"/>.</summary>
public static class SiloStepServiceId
{
    /// <summary>
    /// Step services per silo, each its own system target: one serves one turn at a time, so a client spreads its
    /// steps over these in turn and a silo serves several at once without handing each to another thread.
    /// </summary>
    public const int PerSilo = 4;

    private static readonly GrainType[] Types = [.. Enumerable.Range(0, PerSilo).Select(n => SystemTargetGrainId.CreateGrainType($"ps-step-{n}"))];

    /// <summary>
    /// Step service <paramref name="n"/> (0 to <see cref="PerSilo"/> - 1) at <paramref name="address"/>: a silo's own
    /// address (reached through any gateway, or directly from inside the cluster), or its gateway's address with
    /// generation 0 (from a client connected to that gateway, the message goes there directly).
    /// </summary>
    public static GrainId At(int n, SiloAddress address) => SystemTargetGrainId.Create(Types[n], address).GrainId;
}

/// <summary>Limits of a step call.</summary>
public static class StepLimits
{
    /// <summary>Most parts (table and shard pairs) one step call may carry.</summary>
    public const int MaxParts = 4096;
}

/// <summary>The ids a step needs from one shard of one table.</summary>
/// <param name="Table">Table name.</param>
/// <param name="Shard">Shard index.</param>
/// <param name="Request">The ids, as a shard pull would carry them.</param>
[GenerateSerializer, Immutable, Alias("ps.ShardPull")]
public sealed record ShardPull([property: Id(0)] string Table, [property: Id(1)] int Shard, [property: Id(2)] PullRequest Request);

/// <summary>The pulls of one step, every table and shard together.</summary>
/// <param name="Parts">One part per table and shard.</param>
/// <param name="Values">How the answer's rows travel back (pushes say so in their own blocks).</param>
[GenerateSerializer, Immutable, Alias("ps.StepPull")]
public sealed record StepPull([property: Id(0)] ShardPull[] Parts, [property: Id(1)] WireValues Values = WireValues.Float32);

/// <summary>The rows a step pulled: one block per part, in the order of the request's parts.</summary>
/// <param name="Parts">One answer per part.</param>
/// <param name="Forwarded">
/// Parts whose shard was not active on the answering silo, reached from there with a shard call: a caller that routes
/// by placement should look its shards up again.
/// </param>
/// <param name="PushRefused">
/// Of <see cref="IStepService.PushPull"/>: the message of the first push part refused (bad values, unknown table),
/// or null when every part was applied.
/// </param>
[GenerateSerializer, Immutable, Alias("ps.StepRows")]
public sealed record StepRows([property: Id(0)] ShardRows[] Parts, [property: Id(1)] int Forwarded = 0, [property: Id(2)] string? PushRefused = null);

/// <summary>One shard's answer to a step pull: the rows, and the slots they sit in for the push that follows.</summary>
/// <param name="Rows">The rows, in the order of the part's ids.</param>
/// <param name="Slots">Where the rows sit in the shard, or null (a shard reached with an ordinary call).</param>
[GenerateSerializer, Immutable, Alias("ps.ShardRows")]
public sealed record ShardRows([property: Id(0)] RowBlock Rows, [property: Id(1)] SlotHints? Slots);

/// <summary>
/// The slots of a part's rows in its shard's store, as the pull found them (raw little-endian int32s, one block), and
/// the store's generation then. A push of the same rows carries them back, and the shard takes each hint that still
/// holds its row instead of looking the id up; any other is looked up as usual, so a hint never changes which row is
/// updated.
/// </summary>
/// <param name="Generation">The store generation the slots belong to.</param>
/// <param name="Slots">One int32 per row.</param>
[GenerateSerializer, Immutable, Alias("ps.SlotHints")]
public sealed record SlotHints([property: Id(0)] int Generation, [property: Id(1)] byte[] Slots)
{
    /// <summary>The slots as ints.</summary>
    public ReadOnlySpan<int> Values => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(Slots);
}

/// <summary>The gradients a step sends to one shard of one table.</summary>
/// <param name="Table">Table name.</param>
/// <param name="Shard">Shard index.</param>
/// <param name="Request">Ids and gradients, as a shard push would carry them.</param>
/// <param name="Slots">The slots the step's pull answered for these rows, or null.</param>
[GenerateSerializer, Immutable, Alias("ps.ShardPush")]
public sealed record ShardPush([property: Id(0)] string Table, [property: Id(1)] int Shard, [property: Id(2)] PushRequest Request, [property: Id(3)] SlotHints? Slots = null);

/// <summary>The pushes of one step, every table and shard together.</summary>
/// <param name="Parts">One part per table and shard.</param>
[GenerateSerializer, Immutable, Alias("ps.StepPush")]
public sealed record StepPush([property: Id(0)] ShardPush[] Parts);
