#!/usr/bin/env python3
"""Runs the build stage of a Dockerfile without Docker, to prove its COPY lists and commands are complete.

The build context is the repository as `docker build` would send it (tracked and untracked files, minus
.dockerignore); the stage's WORKDIR becomes a fresh directory; COPY copies from that context; RUN runs there with
/out mapped to a fresh output directory. Then the runtime stage's ENTRYPOINT must name a file of the output.
Only what these Dockerfiles use is understood (ARG, FROM, WORKDIR, COPY SRC... DEST, RUN, ENV); anything else in
the build stage fails the check rather than being skipped. The runtime stage must take the app from the build stage
(directly, or through the PUBLISHED stage whose default is the build stage) and its ENTRYPOINT must be a published
executable. Usage: dockerfile_check.py REPO_ROOT DOCKERFILE WORK_DIR
Prints the output directory's path last.
"""
import fnmatch
import json
import os
import shutil
import subprocess
import sys

root, dockerfile, work = sys.argv[1], sys.argv[2], sys.argv[3]


def instructions(path):
    text = open(path, encoding="utf-8").read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


def context_files():
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, check=True, capture_output=True, text=True).stdout.split("\n")
    ignore = [p.strip().rstrip("/") for p in open(os.path.join(root, ".dockerignore"), encoding="utf-8") if p.strip() and not p.startswith("#")]

    def ignored(path):
        parts = path.split("/")
        for pattern in ignore:
            bare = pattern.removeprefix("**/")
            if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) or fnmatch.fnmatch(parts[i], bare) for i in range(len(parts))):
                return True
        return False

    return [p for p in listed if p and not ignored(p) and os.path.isfile(os.path.join(root, p))]


context = os.path.join(work, "context")
for rel in context_files():
    os.makedirs(os.path.dirname(os.path.join(context, rel)), exist_ok=True)
    shutil.copy2(os.path.join(root, rel), os.path.join(context, rel))

stages = []
args = {}
for word, rest in instructions(dockerfile):
    if word == "ARG" and not stages:
        name, _, default = rest.partition("=")
        args[name] = default
        continue
    if word == "FROM":
        stages.append([])
    stages[-1].append((word, rest))
build, runtime = stages[0], stages[-1]
build_name = build[0][1].split()[-1]
copied_from = {rest.split()[0].removeprefix("--from=") for word, rest in runtime if word == "COPY" and rest.startswith("--from=")}
aliases = {s[0][1].split()[-1]: s[0][1].split()[0] for s in stages[1:-1]}
resolved = {aliases.get(c, c) for c in copied_from}
resolved = {args.get(r[2:-1], r) if r.startswith("${") else r for r in resolved}
if resolved != {build_name}:
    sys.exit(f"the runtime stage copies from {sorted(copied_from)}, which by default is {sorted(resolved)}, not the build stage '{build_name}'")
print(f"ok: the runtime stage takes the app from the build stage ({', '.join(sorted(copied_from))})")

src = os.path.join(work, "src")
out = os.path.join(work, "out")
os.makedirs(src)
workdir = None
for word, rest in build:
    if word in ("FROM", "ENV", "ARG"):
        continue
    if word == "WORKDIR":
        workdir = rest
    elif word == "COPY":
        *sources, dest = rest.split()
        target = os.path.join(src, dest.removeprefix(workdir).lstrip("/")) if dest.startswith("/") else os.path.join(src, dest)
        for source in sources:
            path = os.path.join(context, source)
            if not os.path.exists(path):
                sys.exit(f"COPY {source}: not in the build context (missing, or excluded by .dockerignore)")
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(target, os.path.basename(source.rstrip("/"))) if not source.endswith("/") else target, dirs_exist_ok=True)
            else:
                os.makedirs(target if dest.endswith("/") else os.path.dirname(target), exist_ok=True)
                shutil.copy2(path, target if not dest.endswith("/") else os.path.join(target, os.path.basename(source)))
        print(f"ok: COPY {rest}")
    elif word == "RUN":
        command = rest.replace(" /out", " " + out)
        print(f"== RUN {rest}", flush=True)
        subprocess.run(command, shell=True, cwd=src, check=True)
    else:
        sys.exit(f"{word} in the build stage: not understood by this check")

entry = next((json.loads(rest) for word, rest in runtime if word == "ENTRYPOINT"), None)
program = entry and os.path.join(out, os.path.basename(entry[0]))
if not entry or not os.path.isfile(program) or not os.access(program, os.X_OK):
    sys.exit(f"ENTRYPOINT {entry}: {entry and entry[0]} is not an executable of the published output")
print(f"ok: ENTRYPOINT {' '.join(entry)} is in the published output")
print(out)
