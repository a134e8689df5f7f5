#!/usr/bin/env python3
"""Static checks of deploy/compose/compose.yaml against the repository (no Docker engine needed).

Checks that the file parses; that it names only images built from the repository's Dockerfiles or pinned official
images; that every file it mounts exists; that published ports are bound to 127.0.0.1; that the silos' and the
worker's settings agree with each other, with the Dockerfiles and with the compose Prometheus configuration.
Writes, for the shell part of the check, one file per silo with its environment (Dockerfile ENV, then compose) and
the worker's command line. Usage: compose_check.py REPO_ROOT OUT_DIR
"""
import json
import os
import re
import sys

import yaml

root, out = sys.argv[1], sys.argv[2]
compose_dir = os.path.join(root, "deploy", "compose")
failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL: {message}")


def ok(message):
    print(f"ok: {message}")


def dockerfile_env(path):
    """The ENV settings of a Dockerfile's last stage (KEY=VALUE pairs, continued lines)."""
    text = open(path, encoding="utf-8").read().replace("\\\n", " ")
    stages = re.split(r"^FROM ", text, flags=re.M)
    env = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r"(\S+?)=(\S+)", line[4:]):
                env[key] = value
    return env


def dockerfile_entrypoint(path):
    text = open(path, encoding="utf-8").read()
    match = re.search(r"^ENTRYPOINT (\[.*\])$", text, flags=re.M)
    return json.loads(match.group(1)) if match else None


def mount_source(spec):
    """The host side of a short-syntax volume, with ${VAR:-default} taken at its default; None for named volumes."""
    source = spec.split(":")[0] if not spec.startswith("${") else spec[: spec.index("}") + 1]
    default = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", source)
    if default:
        source = default.group(2)
    if not (source.startswith(".") or source.startswith("/")):
        return None
    return os.path.normpath(os.path.join(compose_dir, source))


with open(os.path.join(compose_dir, "compose.yaml"), encoding="utf-8") as f:
    compose = yaml.safe_load(f)  # merge keys (<<: *silo) resolve here as in compose
ok("compose.yaml parses")
services = compose.get("services", {})
expected = {"redis", "silo-1", "silo-2", "silo-3", "worker", "prometheus", "grafana"}
if set(services) != expected:
    fail(f"services are {sorted(services)}, expected {sorted(expected)}")

pinned_official = {"redis", "prom/prometheus", "grafana/grafana"}
built = {}
for name, service in services.items():
    image = service.get("image", "")
    if "build" in service:
        build = service["build"]
        context = os.path.normpath(os.path.join(compose_dir, build["context"]))
        dockerfile = os.path.join(context, build["dockerfile"])
        if not os.path.isfile(dockerfile):
            fail(f"{name}: Dockerfile {dockerfile} does not exist")
        elif not os.path.commonpath([context, root]) == os.path.normpath(root):
            fail(f"{name}: build context {context} is outside the repository")
        else:
            built[name] = dockerfile
            ok(f"{name}: built from {os.path.relpath(dockerfile, root)} as {image}")
    else:
        repo, _, tag = image.partition(":")
        if repo not in pinned_official or not tag or tag == "latest":
            fail(f"{name}: image '{image}' is neither built from the repository nor a pinned official image")
        else:
            ok(f"{name}: official image {image}")
    for spec in service.get("volumes", []):
        source = mount_source(spec)
        if source is None:
            continue
        if not os.path.exists(source):
            fail(f"{name}: mounted path {source} does not exist")
        else:
            ok(f"{name}: mounts {os.path.relpath(source, root)}")
    for port in service.get("ports", []):
        if not str(port).startswith("127.0.0.1:"):
            fail(f"{name}: port {port} is published on every interface; bind it to 127.0.0.1")

# The silos: the environment each process sees, for `ParameterServer.Silo.dll --check-config` in the shell part.
silo_http_ports = {}
for name in ("silo-1", "silo-2", "silo-3"):
    service = services[name]
    env = dockerfile_env(built[name]) if name in built else {}
    env.update({k: str(v) for k, v in service.get("environment", {}).items()})
    with open(os.path.join(out, f"{name}.env"), "w", encoding="utf-8") as f:
        for key, value in env.items():
            f.write(f"{key}={value}\n")
    if env.get("Orleans__AdvertisedIP") != service.get("hostname"):
        fail(f"{name}: advertises {env.get('Orleans__AdvertisedIP')}, but its host name is {service.get('hostname')}")
    redis = env.get("Orleans__Clustering__ConnectionString", "")
    if redis.split(":")[0] not in services:
        fail(f"{name}: Redis '{redis}' is not a service of the file")
    silo_http_ports[name] = env.get("Http__Port")
    published = [str(p).split(":")[-1] for p in service.get("ports", [])]
    for container_port in published:
        if container_port not in (env.get("Http__Port"), env.get("Orleans__GatewayPort")):
            fail(f"{name}: publishes container port {container_port}, which is neither Http__Port nor Orleans__GatewayPort")

worker = services["worker"]
command = [str(c) for c in worker["command"]]
with open(os.path.join(out, "worker.args"), "w", encoding="utf-8") as f:
    f.write("\n".join(command) + "\n")
with open(os.path.join(out, "worker.entrypoint"), "w", encoding="utf-8") as f:
    f.write("\n".join(dockerfile_entrypoint(built["worker"]) or []) + "\n")
with open(os.path.join(out, "silo.entrypoint"), "w", encoding="utf-8") as f:
    f.write("\n".join(dockerfile_entrypoint(built["silo-1"]) or []) + "\n")
worker_env = {k: str(v) for k, v in worker.get("environment", {}).items()}
silo_env = dict(line.strip().split("=", 1) for line in open(os.path.join(out, "silo-1.env"), encoding="utf-8"))
for key in ("Orleans__ClusterId", "Orleans__Clustering__ConnectionString"):
    if worker_env.get(key) != silo_env.get(key):
        fail(f"worker: {key} = {worker_env.get(key)} differs from the silos' {silo_env.get(key)}")
data_mount = next((v for v in worker.get("volumes", []) if v.removesuffix(":ro").endswith(":/data")), None)
data_dir = mount_source(data_mount) if data_mount else None
for value in command:
    if value.startswith("/data/"):
        path = os.path.join(data_dir or "", value[len("/data/"):])
        if not os.path.isfile(path):
            fail(f"worker: {value} is not in the mounted data directory ({path})")
        else:
            ok(f"worker: {value} exists in {os.path.relpath(data_dir, root)}")

# Prometheus scrapes what the silos and the worker serve.
with open(os.path.join(compose_dir, "prometheus.yml"), encoding="utf-8") as f:
    prometheus = yaml.safe_load(f)
targets = {t for job in prometheus["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
wanted = {f"{services[n]['hostname']}:{silo_http_ports[n]}" for n in silo_http_ports}
metrics_port = command[command.index("--metrics-port") + 1] if "--metrics-port" in command else None
if metrics_port:
    wanted.add(f"worker:{metrics_port}")
    if command[command.index("--metrics-address") + 1] != "0.0.0.0":
        fail("worker: --metrics-address must be 0.0.0.0 for Prometheus in another container to scrape it")
if targets != wanted:
    fail(f"prometheus.yml targets {sorted(targets)}, but the services serve metrics at {sorted(wanted)}")
else:
    ok(f"prometheus.yml scrapes {sorted(targets)}")

print(f"compose static checks: {'0 failed' if not failures else f'{len(failures)} failed'}")
sys.exit(1 if failures else 0)
