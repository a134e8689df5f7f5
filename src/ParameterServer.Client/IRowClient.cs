using ParameterServer.Abstractions;

namespace ParameterServer.Client;

/// <summary>
/// The rows of one table as a worker reads and updates them: the table itself (<see cref="TableClient"/>) or a cache
/// in front of it (<see cref="Training.HotRowCache"/>). Training code holds this, never which of the two it is.
/// </summary>
public interface IRowClient
{
    /// <summary>The table's definition.</summary>
    TableSpec Spec { get; }

    /// <summary>
    /// Copies the rows of <paramref name="ids"/> into <paramref name="destination"/> (row-major, <c>ids.Length x dim</c>);
    /// rows that do not exist yet are created with their deterministic initial values.
    /// </summary>
    Task PullAsync(ReadOnlyMemory<long> ids, Memory<float> destination);

    /// <summary>
    /// Sends the gradients of distinct rows <paramref name="ids"/> (row-major in <paramref name="gradients"/>); the
    /// values are copied before this returns, and every gradient is applied exactly once by the server's optimizer.
    /// </summary>
    Task PushAsync(ReadOnlyMemory<long> ids, ReadOnlyMemory<float> gradients);
}
