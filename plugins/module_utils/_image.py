# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images: pull (with optional credentials), load from an archive, prune unused tags of one repository.

Several runs share a host's images: two destinations of a service, or two services of one image
repository. A prune must not remove an image that another run has just pulled and is about to create
a container from (its containers protect it only once they exist). So every pull or load leaves a
**pin** on the host (``Pins``) until a container of that image is created (then the container protects
it) or, for a run that died in between, for ``Pins.seconds``; and pulling and pinning (shared) and
pruning (exclusive) take a ``flock`` per repository, so a prune never sees a pull half done.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import tarfile
import time
import typing as t
import uuid
from dataclasses import dataclass, field

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


class ImagesBusy(Exception):
    """Another run holds the repository's image lock longer than we can wait."""


class Pins:
    """Pins of pulled images on this host (one file per pull, in a root-only directory that a reboot
    empties) and the per-repository lock that orders pulls and prunes."""

    DIRECTORY = "/run/berth/image-pins"
    SECONDS = 3600  # a pin whose run died before it created its container stops counting after this
    WAIT = 600  # seconds a pull waits for a prune of its repository (which takes seconds)

    def __init__(self, directory: str | None = None, seconds: float | None = None, wait: float | None = None):
        self.directory = directory or self.DIRECTORY
        self.seconds = self.SECONDS if seconds is None else seconds
        self.wait = self.WAIT if wait is None else wait

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    @contextlib.contextmanager
    def locked(self, repository: str, exclusive: bool, wait: float | None = None) -> t.Iterator[bool]:
        """Hold the repository's lock (shared for a pull, exclusive for a prune); yields False when it was not
        free within ``wait`` seconds (then nothing is held). ``wait`` defaults to ``self.wait``."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        wait = self.wait if wait is None else wait
        with open(os.path.join(self.directory, f"{self._key(repository)}.lock"), "a", encoding="utf-8") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.2)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def pulling(self, reference: str) -> t.Iterator[list[str]]:
        """Around a pull or load of ``reference``: hold its repository's lock (shared: pulls run side by side,
        a prune waits), and pin the image once the block succeeded; the yielded list then holds the pin."""
        repository = split_reference(reference)[0]
        # the lock is released when this generator closes (contextmanager drives it to the end or throws in)
        with self.locked(repository, exclusive=False) as held:  # pylint: disable=contextmanager-generator-missing-cleanup
            if not held:
                raise ImagesBusy(f"a prune of {repository} on this host held its lock for {self.wait:g}s")
            pin: list[str] = []
            yield pin
            pin.append(self.pin(reference))

    def pin(self, reference: str) -> str:
        """Pin ``reference`` (call it holding the repository's lock); returns the pin, for ``unpin``."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, f"{self._key(reference)}.{uuid.uuid4().hex[:12]}.pin")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(reference + "\n")
        return path

    def _pins_of(self, reference: str) -> list[str]:
        return glob.glob(os.path.join(glob.escape(self.directory), f"{self._key(reference)}.*.pin"))

    def unpin(self, reference: str, pin: str | None = None) -> None:
        """Drop ``pin``, or (a container of ``reference`` was created) the oldest pin of ``reference``."""
        pins = [pin] if pin else sorted(self._pins_of(reference), key=_mtime)[:1]
        for path in pins:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def pinned(self, reference: str) -> bool:
        """Whether a run pinned ``reference`` less than ``seconds`` ago (older pins are dropped)."""
        now = time.time()
        live = False
        for path in self._pins_of(reference):
            if now - _mtime(path) < self.seconds:
                live = True
            else:
                self.unpin(reference, path)
        return live


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return 0.0


def created_from(reference: str) -> None:
    """A container of ``reference`` now exists and protects its image: drop the pin its pull left."""
    with contextlib.suppress(OSError):
        Pins().unpin(reference)


@dataclass
class Pulled:
    """The image before and after ``ensure`` (``after`` is None in check mode when it would change)."""
    reference: str
    changed: bool
    before: str | None
    after: str | None
    seconds: float
    pin: str | None = None  # left on the host until a container of the image exists


def ensure(client: t.Any, reference: str, pull_mode: str, auth: dict[str, str] | None, check_mode: bool,
           pins: Pins | None = None) -> Pulled:
    """Have ``reference`` on the host: ``always`` asks the registry (a moved tag is noticed), ``missing``
    pulls only when there is no local copy. Check mode asks the registry for the digest, pulls nothing.
    With ``pins`` (not in check mode), the image is pinned until a container of it is created."""
    if pins is None or check_mode:
        return _ensure(client, reference, pull_mode, auth, check_mode)
    with pins.pulling(reference) as pin:
        pulled = _ensure(client, reference, pull_mode, auth, check_mode)
    pulled.pin = pin[0]
    return pulled


def _ensure(client: t.Any, reference: str, pull_mode: str, auth: dict[str, str] | None, check_mode: bool) -> Pulled:
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


@dataclass
class Pruned:
    removed: list[str] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)  # unused, but pulled by a run that has not created its container yet
    busy: bool = False  # another run was pulling the repository: nothing was pruned


def prune(client: t.Any, repository: str, keep: t.Iterable[str], check_mode: bool, pins: Pins) -> Pruned:
    """Remove the references of ``repository`` no container uses (``unused_references``), except pinned ones.

    Holds the repository's lock (exclusive): while another run pulls it, nothing is pruned (``busy``);
    the next prune catches up."""
    if check_mode:
        return _prune(client, repository, keep, True, pins)
    with pins.locked(repository, exclusive=True, wait=0) as held:
        return _prune(client, repository, keep, False, pins) if held else Pruned(busy=True)


def _prune(client: t.Any, repository: str, keep: t.Iterable[str], check_mode: bool, pins: Pins) -> Pruned:
    result = Pruned()
    for reference in unused_references(client, repository, keep):
        if pins.pinned(reference):
            result.pinned.append(reference)
            continue
        if not check_mode:
            try:
                client.images.remove(reference)
            except Exception:  # pylint: disable=broad-except
                continue  # used by a container created meanwhile, or removed by another run
        result.removed.append(reference)
    return result


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
