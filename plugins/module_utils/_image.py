# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images: pull (with optional credentials), load from an archive, prune unused tags of one repository."""
from __future__ import annotations

import json
import tarfile
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.berth.deploy.plugins.module_utils import _docker


def split_reference(reference: str) -> tuple[str, str]:
    """``registry:5000/acme/app:v1`` -> (``registry:5000/acme/app``, ``v1``); the tag defaults to latest."""
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = reference.rsplit(":", 1)
        return repository, tag
    return reference, "latest"


DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def registry_host(reference: str) -> str:
    """The registry a reference pulls from, as Docker decides it: the first path component when it looks
    like a host (has ``.`` or ``:`` or is ``localhost``), else Docker Hub (``postgres:17``, ``acme/app``)."""
    first, separator = reference.partition("/")[:2]
    if not separator or not ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB
    host = first.lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def on_registry(reference: str, server: str) -> bool:
    """Whether ``reference`` pulls from ``server`` (a ``host[:port]``), so that server's credentials apply."""
    if not server:
        return False
    server = server.lower()
    return registry_host(reference) == (DOCKER_HUB if server in DOCKER_HUB_ALIASES else server)


def local_id(client: t.Any, reference: str) -> str | None:
    image = _docker.get_image(client, reference)
    return image.id if image is not None else None


def local_digests(client: t.Any, reference: str) -> set[str]:
    image = _docker.get_image(client, reference)
    if image is None:
        return set()
    return {digest.split("@", 1)[1] for digest in image.attrs.get("RepoDigests") or [] if "@" in digest}


def remote_digest(client: t.Any, reference: str, auth: dict[str, str] | None) -> str:
    """The registry's manifest digest for ``reference`` (asks the engine; nothing is pulled)."""
    return client.images.get_registry_data(reference, auth_config=auth).id


def pull(client: t.Any, reference: str, auth: dict[str, str] | None) -> str:
    repository, tag = split_reference(reference)
    image = client.images.pull(repository, tag=tag, auth_config=auth)
    return image.id


@dataclass
class Pulled:
    """The image before and after ``ensure`` (``after`` is None in check mode when it would change)."""
    reference: str
    changed: bool
    before: str | None
    after: str | None
    seconds: float


def ensure(client: t.Any, reference: str, pull_mode: str, auth: dict[str, str] | None, check_mode: bool) -> Pulled:
    """Have ``reference`` on the host: ``always`` asks the registry (a moved tag is noticed), ``missing``
    pulls only when there is no local copy. Check mode asks the registry for the digest, pulls nothing."""
    started = time.monotonic()
    before = local_id(client, reference)
    if pull_mode == "missing" and before is not None:
        changed = False
    elif check_mode:
        changed = before is None or remote_digest(client, reference, auth) not in local_digests(client, reference)
    else:
        changed = pull(client, reference, auth) != before
    after = (None if changed else before) if check_mode else local_id(client, reference)
    return Pulled(reference, changed, before, after, round(time.monotonic() - started, 3))


class ArchiveError(Exception):
    """The archive cannot be read as a ``docker save`` archive."""


def archive_image_ids(path: str) -> dict[str, str]:
    """Map of ``repo:tag`` -> image id, read from a ``docker save`` archive without loading it."""
    try:
        with tarfile.open(path) as archive:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
    except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
        raise ArchiveError(f"cannot read {path} as a 'docker save' archive: {exc}") from None
    found: dict[str, str] = {}
    for entry in manifest:
        config = entry.get("Config", "")
        digest = config.rsplit("/", 1)[-1]
        digest = digest[:-len(".json")] if digest.endswith(".json") else digest
        for tag in entry.get("RepoTags") or []:
            found[tag] = f"sha256:{digest}"
    return found


def load(client: t.Any, path: str) -> None:
    with open(path, "rb") as handle:
        client.images.load(handle.read())


def unused_references(client: t.Any, repository: str, keep: t.Iterable[str] = ()) -> list[str]:
    """References of ``repository`` whose image no container (running or stopped) uses, except ``keep``.

    Tagged images are named by tag; images of the repository that lost their tag (the tag moved to
    a newer push) are named by digest, so they are pruned too instead of piling up on the disk.
    """
    used = {container.attrs.get("Image") for container in client.containers.list(all=True)}
    protected = set(keep)
    references = []
    for image in client.images.list(name=repository):
        if image.id in used:
            continue
        tags = [tag for tag in image.tags if split_reference(tag)[0] == repository]
        if tags:
            references.extend(tag for tag in tags if tag not in protected)
        elif not image.tags:
            references.extend(digest for digest in image.attrs.get("RepoDigests") or []
                              if digest.split("@", 1)[0] == repository)
    return sorted(references)
