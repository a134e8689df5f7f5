using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ParameterServer.Api;

/// <summary>
/// Refuses, with UNAUTHENTICATED, every call without <c>authorization: Bearer &lt;token&gt;</c> when a token is
/// configured. The comparison takes the same time whatever the given token, and the token never reaches a message.
/// </summary>
internal sealed class BearerToken(ApiOptions options) : Interceptor
{
    private readonly byte[]? _expected = options.Token is { } t ? Encoding.UTF8.GetBytes("Bearer " + t) : null;

    /// <inheritdoc/>
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (_expected is not null)
        {
            string given = context.RequestHeaders.GetValue("authorization") ?? "";
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _expected))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, given.Length == 0
                    ? "This server requires a bearer token: send metadata 'authorization: Bearer <token>'."
                    : "The bearer token is not this server's."));
            }
        }

        return continuation(request, context);
    }
}
