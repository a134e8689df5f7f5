# The parameter-server silo. Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t parameter-server-silo:0.1.0 .
# Configured by environment variables (Orleans__*, Http__*, Checkpoints__*, Otlp__*; see SiloHostOptions and
# `dotnet ParameterServer.Silo.dll --check-config`). Runs as uid 10001 and writes only to /tmp and the checkpoint
# directory, so it runs with a read-only root filesystem.
# Full versions, never a floating tag (a rebuild gets the same toolchain); override both, e.g. with @sha256 digests.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0.401
# The app is published self-contained (it brings its own .NET), so the runtime base needs only .NET's native
# dependencies (glibc, libstdc++, ICU, OpenSSL, CA certificates, tzdata): Microsoft's runtime-deps image, or any
# Debian or Ubuntu base with those packages (CI builds one with debootstrap, as no registry is reachable there).
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0.12
# Where the published app comes from: the build stage below, or an image that already holds it in /out (CI
# publishes on the host and passes one, so it needs no SDK image).
ARG PUBLISHED=build

FROM ${SDK_IMAGE} AS build
WORKDIR /src
# Restore first, from the project files alone, so source edits do not invalidate the package layer.
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY src/ParameterServer.Abstractions/ParameterServer.Abstractions.csproj src/ParameterServer.Abstractions/
COPY src/ParameterServer.Core/ParameterServer.Core.csproj src/ParameterServer.Core/
COPY src/ParameterServer.Grains/ParameterServer.Grains.csproj src/ParameterServer.Grains/
COPY src/ParameterServer.Storage/ParameterServer.Storage.csproj src/ParameterServer.Storage/
COPY src/ParameterServer.Client/ParameterServer.Client.csproj src/ParameterServer.Client/
COPY src/ParameterServer.Api/ParameterServer.Api.csproj src/ParameterServer.Api/
COPY src/ParameterServer.Silo/ParameterServer.Silo.csproj src/ParameterServer.Silo/
RUN dotnet restore src/ParameterServer.Silo/ParameterServer.Silo.csproj -r linux-x64
COPY src/ src/
RUN dotnet publish src/ParameterServer.Silo/ParameterServer.Silo.csproj -c Release -r linux-x64 --self-contained --no-restore -o /out

FROM ${PUBLISHED} AS published

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=published /out ./
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
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["/app/ParameterServer.Silo", "--healthcheck"]
# SIGTERM stops the silo gracefully: every shard writes its checkpoint before the process leaves (up to 90 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/ParameterServer.Silo"]
