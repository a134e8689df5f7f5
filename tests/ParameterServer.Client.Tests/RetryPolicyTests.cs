namespace ParameterServer.Client.Tests;

/// <summary>RetryPolicy.RunAsync: transient failures are retried within the policy's bounds, bad input never.</summary>
public sealed class RetryPolicyTests
{
    private static readonly RetryPolicy Quick = new() { MaxAttempts = 3, InitialDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) };

    [Fact]
    public async Task Transient_failures_are_retried_until_the_call_succeeds()
    {
        int calls = 0;
        await Quick.RunAsync(() => ++calls < 3 ? throw new TimeoutException("lost answer") : Task.CompletedTask);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Retries_stop_at_the_most_attempts_and_bad_input_is_not_retried()
    {
        int calls = 0;
        await Assert.ThrowsAsync<TimeoutException>(() => Quick.RunAsync(() => { calls++; throw new TimeoutException("down"); }));
        Assert.Equal(4, calls); // the call and 3 retries

        calls = 0;
        await Assert.ThrowsAsync<ArgumentException>(() => Quick.RunAsync(() => { calls++; throw new ArgumentException("bad row"); }));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_call_with_a_result_answers_the_result_of_the_try_that_succeeded()
    {
        int calls = 0;
        // A silo that is stopping or gone fails calls to its grains until they have moved: transient.
        int answer = await Quick.RunAsync(() => ++calls < 3 ? throw new SiloUnavailableException("Silo stopping") : Task.FromResult(calls * 10));
        Assert.Equal(30, answer);
        Assert.Equal(3, calls);

        calls = 0;
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Quick.RunAsync<int>(() => { calls++; throw new KeyNotFoundException("Unknown table 'x'"); }));
        Assert.Equal(1, calls);
    }
}
