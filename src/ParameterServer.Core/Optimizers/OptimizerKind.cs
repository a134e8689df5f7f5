namespace ParameterServer.Core.Optimizers;

/// <summary>The server-side optimizers a table can use.</summary>
public enum OptimizerKind
{
    /// <summary>Plain stochastic gradient descent; no state.</summary>
    Sgd = 0,

    /// <summary>Adagrad; one accumulator per value.</summary>
    Adagrad = 1,

    /// <summary>Lazy Adam; two moments per value and a step count per row.</summary>
    Adam = 2,
}
