# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Building the app image on the controller (or a remote builder's engine), and shipping it to hosts without a
registry: ``docker save`` there, minus the layers a host already has, ``docker load`` on the host."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
import time
import typing as t
from dataclasses import dataclass, field

LOG_TAIL = 30


class BuildError(Exception):
    """The build failed; the message holds the builder's last lines."""


@dataclass
class Built:
    reference: str
    image_id: str
    seconds: float
    pushed: bool = False
    log: list[str] = field(default_factory=list)


def git_version(context: str) -> tuple[str, str]:
    """The version a build is tagged with by default: the commit of ``context`` (Kamal's default), with
    ``-uncommitted-<digest of the changes>`` when the work tree has changes. -> (version, warning)."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", "-C", context, *arguments], capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
    except (OSError, subprocess.CalledProcessError):
        raise BuildError(f"{context} is not a git checkout with a commit: give the version with -e berth_version=...") from None
    changes = git("status", "--porcelain")
    if not changes.strip():
        return commit, ""
    digest = hashlib.sha256((changes + git("diff", "HEAD")).encode()).hexdigest()[:8]
    return f"{commit}-uncommitted-{digest}", (f"{context} has uncommitted changes: the image is tagged "
                                              f"{commit}-uncommitted-{digest} and holds them")


def build(client: t.Any, context: str, reference: str, dockerfile: str, args: t.Mapping[str, str], target: str,
          labels: t.Mapping[str, str], platform: str) -> Built:
    """Build ``reference`` from ``context`` with the engine of ``client``; BuildError with the log's end."""
    started = time.monotonic()
    log: list[str] = []
    image_id = ""
    options: dict[str, t.Any] = {"path": context, "tag": reference, "dockerfile": dockerfile or "Dockerfile",
                                 "buildargs": dict(args), "labels": dict(labels), "rm": True, "forcerm": True,
                                 "decode": True}
    if target:
        options["target"] = target
    if platform:
        options["platform"] = platform
    for chunk in client.api.build(**options):
        if "stream" in chunk:
            log.extend(line for line in str(chunk["stream"]).splitlines() if line.strip())
        if "error" in chunk:
            raise BuildError(f"{chunk['error'].strip()}\n" + "\n".join(log[-LOG_TAIL:]))
        aux = chunk.get("aux") or {}
        if aux.get("ID"):
            image_id = aux["ID"]
    if not image_id:
        image_id = client.images.get(reference).id
    return Built(reference, image_id, round(time.monotonic() - started, 3), log=log[-LOG_TAIL:])


CLI_CANDIDATES = ("docker", "/usr/bin/docker")  # the second: Debian's docker.io CLI has BuildKit without buildx
NO_BUILDX = "buildx component is missing"


def build_with_secrets(context: str, reference: str, dockerfile: str, args: t.Mapping[str, str], target: str,
                       labels: t.Mapping[str, str], platform: str, secrets: t.Mapping[str, str], docker_host: str,
                       timeout: float) -> Built:
    """Build with BuildKit through the docker CLI (the SDK's builder has no build secrets): each secret is a 0600
    file for the build's lifetime, reached in the Dockerfile with RUN --mount=type=secret,id=NAME, never in a layer."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="berth-build-") as work:
        arguments = ["build", "--tag", reference, "--file", os.path.join(context, dockerfile or "Dockerfile")]
        for name, value in secrets.items():
            path = os.path.join(work, f"secret-{len(arguments)}")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
                handle.write(value)
            arguments += ["--secret", f"id={name},src={path}"]
        for key, value in args.items():
            arguments += ["--build-arg", f"{key}={value}"]
        for key, value in labels.items():
            arguments += ["--label", f"{key}={value}"]
        arguments += (["--target", target] if target else []) + (["--platform", platform] if platform else [])
        environment = {**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_HOST": docker_host}
        output = ""
        for cli in CLI_CANDIDATES:
            try:
                process = subprocess.run([cli, *arguments, context], env=environment, capture_output=True, text=True,
                                         timeout=timeout, check=False)
            except FileNotFoundError:
                continue
            output = process.stdout + process.stderr
            if NO_BUILDX in output:
                continue
            log = [line for line in output.splitlines() if line.strip()][-LOG_TAIL:]
            if process.returncode != 0:
                raise BuildError("\n".join(log))
            return Built(reference, "", round(time.monotonic() - started, 3), log=log)
    raise BuildError("build secrets need BuildKit: a docker CLI that has it (Debian's docker.io, or docker with the "
                     "buildx plugin)" + (f"; the last one said: {output.strip()[-300:]}" if output else ""))


def push(client: t.Any, reference: str, auth: t.Mapping[str, str] | None) -> None:
    repository, tag = reference.rsplit(":", 1)
    for chunk in client.images.push(repository, tag=tag, auth_config=dict(auth) if auth else None, stream=True,
                                    decode=True):
        if "error" in chunk:
            raise BuildError(f"Pushing {reference} failed: {chunk['error'].strip()}")


# shipping -------------------------------------------------------------------------------------------


def layers_present(ours: list[str], theirs: t.Iterable[list[str]]) -> int:
    """How many of ``ours`` (an image's diff ids, base first) a host has as a chain: the longest common prefix with
    any image on it. Docker loads an archive without those layers' files (it finds each chain and skips it)."""
    best = 0
    for layers in theirs:
        count = 0
        for mine, other in zip(ours, layers):
            if mine != other:
                break
            count += 1
        best = max(best, count)
    return best


def archive_layers(path: str) -> tuple[list[str], list[str]]:
    """The image's (diff ids, layer files) in a ``docker save`` archive of one image, base first."""
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        entry = manifest[0]
        config = json.load(archive.extractfile(entry["Config"]))  # type: ignore[arg-type]
    return list(config["rootfs"]["diff_ids"]), list(entry["Layers"])


def without_layers(source: str, destination: str, skip: int) -> tuple[int, int]:
    """Copy the ``docker save`` archive ``source`` to ``destination`` without the files of its first ``skip``
    layers (the host has them). -> (layers left out, bytes written)."""
    _diff_ids, files = archive_layers(source)
    dropped = set(files[:skip]) - set(files[skip:])
    with tarfile.open(source) as archive, tarfile.open(destination, "w") as out:
        for member in archive.getmembers():
            if member.name in dropped:
                continue
            out.addfile(member, archive.extractfile(member) if member.isfile() else None)
    return len(dropped), os.path.getsize(destination)


def save(client: t.Any, reference: str, path: str) -> None:
    image = client.images.get(reference)
    with open(path, "wb") as handle:
        for chunk in image.save(named=reference):
            handle.write(chunk)


def image_chains(client: t.Any) -> tuple[list[list[str]], dict[str, str]]:
    """The layer chains (diff ids) of every image on an engine, and its references -> image ids."""
    chains, references = [], {}
    for image in client.images.list():
        layers = (image.attrs.get("RootFS") or {}).get("Layers") or []
        if layers:
            chains.append(list(layers))
        for tag in image.tags:
            references[tag] = image.id
    return chains, references
