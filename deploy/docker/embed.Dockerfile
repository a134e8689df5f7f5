# The `embed` worker console (training, queries, export). Build from the repository root:
#   docker build -f deploy/docker/embed.Dockerfile -t parameter-server-embed:0.1.0 .
# Run any command: docker run --rm parameter-server-embed:0.1.0 train --cluster redis --ratings /data/ratings.csv
# (--cluster redis reads Orleans__Clustering__ConnectionString and Orleans__ClusterId, as the silos do).
# Runs as uid 10001 and writes only to /tmp (and where --report or --out point), so a read-only root works.
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
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY src/ParameterServer.Abstractions/ParameterServer.Abstractions.csproj src/ParameterServer.Abstractions/
COPY src/ParameterServer.Core/ParameterServer.Core.csproj src/ParameterServer.Core/
COPY src/ParameterServer.Grains/ParameterServer.Grains.csproj src/ParameterServer.Grains/
COPY src/ParameterServer.Storage/ParameterServer.Storage.csproj src/ParameterServer.Storage/
COPY src/ParameterServer.Client/ParameterServer.Client.csproj src/ParameterServer.Client/
COPY src/ParameterServer.Embed/ParameterServer.Embed.csproj src/ParameterServer.Embed/
RUN dotnet restore src/ParameterServer.Embed/ParameterServer.Embed.csproj -r linux-x64
COPY src/ src/
RUN dotnet publish src/ParameterServer.Embed/ParameterServer.Embed.csproj -c Release -r linux-x64 --self-contained --no-restore -o /out

FROM ${PUBLISHED} AS published

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=published /out ./
RUN mkdir -p /reports && chown 10001:10001 /reports
ENV HOME=/tmp \
    TMPDIR=/tmp \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/tmp"]
USER 10001:10001
# A batch job, not a server: nothing to probe.
HEALTHCHECK NONE
ENTRYPOINT ["/app/embed"]
CMD ["--help"]
