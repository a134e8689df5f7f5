using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using ParameterServer.Abstractions;
using static ParameterServer.Abstractions.Telemetry.ParameterServerTelemetry;

namespace ParameterServer.Api;

/// <summary>
/// Runs one API call: times it, counts it by method and status and its payload bytes each way, and turns the
/// parameter server's exceptions into status codes that keep the console's messages (secrets masked).
/// </summary>
internal static class ApiCalls
{
    public static async Task<TResponse> Run<TRequest, TResponse>(string method, TRequest request, Func<Task<TResponse>> call)
        where TRequest : IMessage
        where TResponse : IMessage
    {
        long start = Stopwatch.GetTimestamp();
        var methodTag = new KeyValuePair<string, object?>("rpc.method", method);
        ApiPayload.Add(request.CalculateSize(), methodTag, new("direction", "request"));
        var code = StatusCode.OK;
        try
        {
            var response = await call();
            ApiPayload.Add(response.CalculateSize(), methodTag, new("direction", "response"));
            return response;
        }
        catch (Exception e)
        {
            var status = StatusOf(e);
            code = status.StatusCode;
            throw new RpcException(status);
        }
        finally
        {
            ApiRequests.Add(1, methodTag, new("rpc.grpc.status_code", (int)code));
            ApiDuration.Record(SecondsSince(start), methodTag);
        }
    }

    /// <summary>The status an exception of the parameter server maps to.</summary>
    public static Status StatusOf(Exception e)
    {
        string message = ErrorText.MaskSecrets(ErrorText.OneLine(e.Message));
        return e switch
        {
            RpcException r => r.Status,
            KeyNotFoundException => new Status(StatusCode.NotFound, message),
            TooManyIdsException => new Status(StatusCode.ResourceExhausted, message),
            ArgumentException when message.Contains("already exists", StringComparison.Ordinal) => new Status(StatusCode.AlreadyExists, message),
            ArgumentException or FormatException or InvalidDataException => new Status(StatusCode.InvalidArgument, message),
            OperationCanceledException => new Status(StatusCode.Cancelled, message),
            TimeoutException or Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException => new Status(StatusCode.Unavailable, message),
            _ => new Status(StatusCode.Internal, $"{e.GetType().Name}: {message}"),
        };
    }
}

/// <summary>A request with more ids than the server's Grpc:MaxIds.</summary>
internal sealed class TooManyIdsException(string message) : Exception(message);
