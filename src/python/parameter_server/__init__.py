"""Python client of the embedding parameter server's gRPC API (parameter_server.v1).

    from parameter_server import ParameterServerClient
    with ParameterServerClient("127.0.0.1:50051", token=...) as ps:
        ps.create_table("demo.users", dim=32, optimizer="adagrad", learning_rate=0.05)
        rows = ps.pull("demo.users", ids)            # numpy float32 [len(ids), dim], rows created lazily
        ps.push("demo.users", ids, gradients)        # the table's optimizer runs on the server
        values, found = ps.lookup("demo.users", ids) # creates nothing
        ps.search("demo.users", key=42, k=10)

Needs grpcio, protobuf and numpy (Debian: python3-grpcio python3-protobuf python3-numpy); the PyTorch module
(parameter_server.torch) needs torch.
"""

from .client import Hit, ParameterServerClient, ParameterServerError

__all__ = ["Hit", "ParameterServerClient", "ParameterServerError"]
