#!/usr/bin/env python3
"""Would the chart's silos find each other? Reads one `helm template` render and checks it against the silo itself.

The silo container's environment is resolved as the kubelet would (downward API fields, Secrets of the render,
$(VAR) references to earlier variables) and handed to `ParameterServer.Silo.dll --check-config`: the silo must
read every key it is given and accept the values. Then its resolved settings must match the manifest: silo,
gateway and HTTP ports equal the container's named ports, the probes and Services use those names, it advertises
the pod IP and listens on every interface, its Redis is the bundled Redis Service (or the external Secret's string),
checkpoints go to the claim's mount or to a bucket (the bundled object store's Service and credentials, or the
given ones, always from Secrets), no ReadWriteMany claim unless checkpoints are on a shared volume, and a worker Job shares the cluster id and Redis and passes only options the
console has. Usage: chart_config_check.py RENDER.yaml SILO_DLL EMBED_DLL
"""
import base64
import json
import os
import re
import subprocess
import sys

import yaml

render, silo_dll, embed_dll = sys.argv[1:4]
docs = [d for d in yaml.safe_load_all(open(render, encoding="utf-8")) if d]
failures = []
POD = {"metadata.name": "ps-parameter-server-silo-0", "metadata.namespace": "ps-test", "status.podIP": "10.42.0.7",
       "metadata.annotations['batch.kubernetes.io/job-completion-index']": "1"}


def check(condition, message):
    print(("ok: " if condition else "FAIL: ") + message)
    if not condition:
        failures.append(message)


def find(kind, predicate=lambda d: True):
    return [d for d in docs if d["kind"] == kind and predicate(d)]


secrets = {}
for s in find("Secret"):
    values = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
    values.update(s.get("stringData") or {})
    secrets[s["metadata"]["name"]] = values


def resolve_env(container):
    """The container's environment as the kubelet builds it; unknown Secrets (existingSecret) get a placeholder."""
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), str(e["value"]))
        elif "fieldRef" in e["valueFrom"]:
            env[e["name"]] = POD[e["valueFrom"]["fieldRef"]["fieldPath"]]
        elif "secretKeyRef" in e["valueFrom"]:
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = secrets.get(ref["name"], {}).get(ref["key"], f"secret-{ref['name']}-{ref['key']}:6379")
    return env


def image_env(dockerfile):
    """The runtime stage's ENV of a Dockerfile: what a container has before the manifest's env overrides it."""
    text = open(dockerfile, encoding="utf-8").read().replace("\\\n", " ")
    last = re.split(r"^FROM ", text, flags=re.M)[-1]
    return dict(kv for line in last.splitlines() if line.startswith("ENV ") for kv in re.findall(r"(\S+?)=(\S+)", line[4:]))


silo_set = find("StatefulSet")[0]
pod = silo_set["spec"]["template"]["spec"]
silo = next(c for c in pod["containers"] if c["name"] == "silo")
env = resolve_env(silo)
# The image's ENV first (the kubelet lets the manifest's env override it, and only that).
baked = image_env(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "docker", "silo.Dockerfile"))
process_env = {"PATH": os.environ["PATH"], "DOTNET_NOLOGO": "1", **({"DOTNET_ROOT": os.environ["DOTNET_ROOT"]} if "DOTNET_ROOT" in os.environ else {}), **baked, **env}
run = subprocess.run(["dotnet", silo_dll, "--check-config"], env=process_env, capture_output=True, text=True)
check(run.returncode == 0, f"the silo reads every key of its rendered environment over the image's ENV ({len(env)} + {len(baked)} variables){'' if run.returncode == 0 else ': ' + run.stderr.strip()}")
if run.returncode != 0:
    sys.exit(1)
o = json.loads(run.stdout)["options"]

ports = {p["name"]: p["containerPort"] for p in silo["ports"]}
check(o["siloPort"] == ports.get("silo"), f"silo port {o['siloPort']} is the container port named silo ({ports.get('silo')})")
check(o["gatewayPort"] == ports.get("gateway"), f"gateway port {o['gatewayPort']} is the container port named gateway ({ports.get('gateway')})")
check(o["httpPort"] == ports.get("http"), f"HTTP port {o['httpPort']} is the container port named http ({ports.get('http')})")
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/ready")):
    get = silo[probe]["httpGet"]
    check(get["path"] == path and get["port"] in ("http", o["httpPort"]), f"{probe} GETs {get['path']} on port {get['port']}")
check(o["advertisedAddress"] == POD["status.podIP"], f"advertises the pod IP ({o['advertisedAddress']})")
check(o["listenOnAnyHostAddress"] and o["httpAddress"] == "0.0.0.0", "listens on every interface of the pod (silo, gateway and HTTP)")
check(o["usesRedis"], "uses Redis clustering")
check(o["clusterId"] not in ("", None), f"cluster id {o['clusterId']}")

redis = o["clusteringConnectionString"]
bundled = find("Service", lambda d: d["metadata"]["name"].endswith("-redis"))
if bundled:
    service = bundled[0]
    host, _, port = redis.partition(":")
    service_port = service["spec"]["ports"][0]["port"]
    check(host == service["metadata"]["name"] and int(port.split(",")[0]) == service_port, f"Redis {redis} is the bundled Service {service['metadata']['name']}:{service_port}")
    server = find("Deployment", lambda d: d["metadata"]["name"] == service["metadata"]["name"])[0]["spec"]["template"]["spec"]["containers"][0]
    server_env = resolve_env(server)
    args = [re.sub(r"\$\((\w+)\)", lambda m: server_env.get(m.group(1), m.group(0)), str(a)) for a in server["args"]]
    password = args[args.index("--requirepass") + 1] if "--requirepass" in args else None
    check(password is not None and f"password={password}" in env["Orleans__Clustering__ConnectionString"] and server_env.get("REDISCLI_AUTH") == password,
          "the bundled Redis asks for a password from a Secret, and silos and its probe give that password")
else:
    entry = next(e for e in silo["env"] if e["name"] == "Orleans__Clustering__ConnectionString")
    ref = entry.get("valueFrom", {}).get("secretKeyRef")
    check(ref is not None, f"external Redis comes from Secret {ref and ref['name']} key {ref and ref['key']}, not from a literal in the manifest")
    if ref and ref["name"] in secrets:
        check(secrets[ref["name"]].get(ref["key"]) == env["Orleans__Clustering__ConnectionString"], "the silo reads the rendered Secret's connection string")

mounts = {m["name"]: m["mountPath"] for m in silo.get("volumeMounts", [])}
claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
directory = o["checkpoints"]["directory"]
if directory:
    volume = next((n for n, p in mounts.items() if p == directory), None)
    check(volume in claims, f"checkpoints in {directory}, the mount of claim {claims.get(volume)}")
    pvc = find("PersistentVolumeClaim", lambda d: d["metadata"]["name"] == claims.get(volume))
    check(not pvc or "ReadWriteMany" in pvc[0]["spec"]["accessModes"], "the checkpoint claim is ReadWriteMany (one volume for every silo)")
ck = o["checkpoints"]
stores = [n for n, on in (("directory", bool(directory)), ("blob", bool(ck["blob"]["container"])), ("s3", bool(ck["s3"]["bucket"]))) if on]
check(len(stores) <= 1, f"checkpoints go to at most one store ({stores or 'none'})")
rwx = find("PersistentVolumeClaim", lambda d: "ReadWriteMany" in d["spec"]["accessModes"])
check(not rwx or stores == ["directory"], f"a ReadWriteMany claim only for checkpoints on a shared volume ({[d['metadata']['name'] for d in rwx] or 'none'})")
for name in ("Checkpoints__Blob__ConnectionString", "Checkpoints__S3__AccessKey", "Checkpoints__S3__SecretKey"):
    entry = next((e for e in silo["env"] if e["name"] == name), None)
    if entry:
        check("secretKeyRef" in entry.get("valueFrom", {}), f"{name} comes from a Secret, not a literal in the manifest")
store_service = find("Service", lambda d: d["metadata"]["name"].endswith("-objectstore"))
if stores == ["s3"] and store_service:
    service = store_service[0]
    url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    check(ck["s3"]["serviceUrl"] == url, f"S3 checkpoints go to the bundled object store {url} ({ck['s3']['serviceUrl']})")
    server = find("Deployment", lambda d: d["metadata"]["name"] == service["metadata"]["name"])[0]
    server_pod = server["spec"]["template"]
    check(all(server_pod["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items()), "the object store Service selects its server")
    server_env = resolve_env(server_pod["spec"]["containers"][0])
    check(env["Checkpoints__S3__AccessKey"] == server_env["MINIO_ROOT_USER"] and env["Checkpoints__S3__SecretKey"] == server_env["MINIO_ROOT_PASSWORD"],
          "the silos sign with the object store's own credentials")
    claim = server_pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    pvc = find("PersistentVolumeClaim", lambda d: d["metadata"]["name"] == claim)
    check(pvc and pvc[0]["spec"]["accessModes"] == ["ReadWriteOnce"], f"the object store keeps its data on ReadWriteOnce claim {claim}")
    for policy in find("NetworkPolicy", lambda d: d["metadata"]["name"] == service["metadata"]["name"]):
        peers = [p["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"] for p in rule["from"]]
        silo_labels = silo_set["spec"]["template"]["metadata"]["labels"]
        check(bool(peers) and all(peer.get("app.kubernetes.io/component") == "silo" and all(silo_labels.get(k) == v for k, v in peer.items()) for peer in peers),
              "only the silos reach the object store")
elif stores == ["s3"]:
    check(not ck["s3"]["serviceUrl"] or ck["s3"]["serviceUrl"].startswith("http"), f"S3 checkpoints go to {ck['s3']['serviceUrl'] or 'Amazon S3 in ' + ck['s3']['region']}")
else:
    check(not store_service, "no object store runs when the checkpoints do not use it")
for policy in find("NetworkPolicy", lambda d: d["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == "silo"):
    open_rules = [r for r in policy["spec"]["ingress"] if any(p == {"podSelector": {}} or p == {"namespaceSelector": {}} for p in r.get("from", [{}]))]
    check(not open_rules, "no port of the silos is open to every pod (HTTP to Prometheus and labelled clients, the gateway to the release and labelled clients)")
api = o["api"]
if api["port"]:
    check(api["port"] == ports.get("grpc") and api["address"] == "0.0.0.0", f"gRPC API on 0.0.0.0:{api['port']}, the container port named grpc ({ports.get('grpc')})")
    entry = next(e for e in silo["env"] if e["name"] == "Grpc__Token")
    check("secretKeyRef" in entry.get("valueFrom", {}) and api["token"] == "***", "the gRPC API requires a bearer token, from a Secret")
check(not o["dashboardServed"] or bool(o["dashboardUser"]), f"no dashboard without credentials (served: {o['dashboardServed']}, user set: {bool(o['dashboardUser'])})")
images = [c["image"] for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job") for c in d["spec"]["template"]["spec"]["containers"]]
floating = [i for i in images if not re.search(r":(v?\d+\.\d+\.\d+[^:/]*|RELEASE\.[0-9TZ-]+)$", i)]
check(not floating, f"every image has a pinned version tag ({', '.join(images)}){': floating ' + str(floating) if floating else ''}")
check(silo["securityContext"]["readOnlyRootFilesystem"] and "/tmp" in mounts.values(), "read-only root with a writable /tmp")
grace = pod["terminationGracePeriodSeconds"]
check(grace > 90, f"terminationGracePeriodSeconds {grace} exceeds the silo's 90 s shutdown")

labels = silo_set["spec"]["template"]["metadata"]["labels"]
for service in find("Service", lambda d: d["spec"].get("selector") and all(labels.get(k) == v for k, v in d["spec"]["selector"].items())):
    for p in service["spec"]["ports"]:
        target = p.get("targetPort", p["port"])
        check(target in ports or target in ports.values(), f"Service {service['metadata']['name']} port {p['port']} targets the silo's {target}")

for job in find("Job"):
    worker = job["spec"]["template"]["spec"]["containers"][0]
    wenv = resolve_env(worker)
    check(wenv.get("Orleans__ClusterId") == env.get("Orleans__ClusterId"), f"worker Job joins cluster {wenv.get('Orleans__ClusterId')}")
    check(wenv.get("Orleans__Clustering__ConnectionString") == env.get("Orleans__Clustering__ConnectionString"), "worker Job uses the silos' Redis")
    args = [re.sub(r"\$\((\w+)\)", lambda m: wenv.get(m.group(1), m.group(0)), str(a)) for a in worker.get("args", [])]
    if job["spec"].get("completionMode") == "Indexed":
        count = job["spec"]["completions"]
        check(job["spec"]["parallelism"] == count and args[args.index("--worker-count") + 1] == str(count) and args[args.index("--worker-index") + 1] == "1",
              f"indexed worker Job: {count} pods at once, --worker-count {count}, --worker-index from the completion index")
    command = [a for a in args[: next((i for i, a in enumerate(args) if a.startswith("-")), len(args))]]
    help_text = subprocess.run(["dotnet", embed_dll, *command, "--help"], capture_output=True, text=True, check=True).stdout
    unknown = [a for a in args if a.startswith("--") and not re.search(rf"(^|[ ,]){re.escape(a)}([ ,]|$)", help_text, re.M)]
    check(not unknown, f"worker Job args use only options of 'embed {' '.join(command)}'{': unknown ' + str(unknown) if unknown else ''}")
    job_ports = {p["name"]: p["containerPort"] for p in worker.get("ports", [])}
    if "--metrics-port" in args:
        port = int(args[args.index("--metrics-port") + 1])
        annotations = job["spec"]["template"]["metadata"].get("annotations", {})
        check(job_ports.get("metrics") == port and args[args.index("--metrics-address") + 1] == "0.0.0.0",
              f"worker Job serves /metrics on 0.0.0.0:{port}, its container port named metrics ({job_ports.get('metrics')})")
        check(annotations.get("prometheus.io/port", str(port)) == str(port), f"worker Job's scrape annotation names port {annotations.get('prometheus.io/port')}")
    started = subprocess.run(["dotnet", embed_dll, *args, "--help"], capture_output=True, text=True)
    check(started.returncode == 0, f"the console starts with the Job's args ({' '.join(args)})")

print(f"chart configuration: {'0 failed' if not failures else f'{len(failures)} failed'}")
sys.exit(1 if failures else 0)
