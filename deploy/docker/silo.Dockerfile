# The parameter-server silo. Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t parameter-server-silo:0.1.0 .
# Configured by environment variables (Orleans__*, Http__*, Checkpoints__*, Otlp__*; see SiloHostOptions and
# `dotnet ParameterServer.Silo.dll --check-config`). Runs as uid 10001 and writes only to /tmp and the checkpoint
# directory, so it runs with a read-only root filesystem.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so source edits do not invalidate the package layer.
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY src/ParameterServer.Abstractions/ParameterServer.Abstractions.csproj src/ParameterServer.Abstractions/
COPY src/ParameterServer.Core/ParameterServer.Core.csproj src/ParameterServer.Core/
COPY src/ParameterServer.Grains/ParameterServer.Grains.csproj src/ParameterServer.Grains/
COPY src/ParameterServer.Storage/ParameterServer.Storage.csproj src/ParameterServer.Storage/
COPY src/ParameterServer.Silo/ParameterServer.Silo.csproj src/ParameterServer.Silo/
RUN dotnet restore src/ParameterServer.Silo/ParameterServer.Silo.csproj
COPY src/ src/
RUN dotnet publish src/ParameterServer.Silo/ParameterServer.Silo.csproj -c Release --no-restore -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /out ./
# Listen on every interface inside the container (the host decides what is published), advertise the container's
# address; the silo port, gateway port and HTTP port (metrics, health, dashboard).
ENV Http__Address=0.0.0.0 \
    Http__Port=8080 \
    Orleans__SiloPort=11111 \
    Orleans__GatewayPort=30000 \
    Orleans__ListenOnAnyHostAddress=true \
    Checkpoints__Directory=/checkpoints \
    HOME=/tmp \
    TMPDIR=/tmp \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
RUN mkdir -p /checkpoints && chown 10001:10001 /checkpoints
VOLUME ["/checkpoints", "/tmp"]
EXPOSE 11111 30000 8080
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["dotnet", "/app/ParameterServer.Silo.dll", "--healthcheck"]
# SIGTERM stops the silo gracefully: every shard writes its checkpoint before the process leaves (up to 90 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "/app/ParameterServer.Silo.dll"]
