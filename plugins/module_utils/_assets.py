# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asset bridging (Kamal's ``asset_path``): while two versions of a web role serve, neither answers 404 for the
other's fingerprinted assets (``application-3f2a1c.css``).

Per image, the role's asset directory is copied out of the image once (``extracted/<image>``). The new
container gets ``volumes/<image>`` mounted over that directory: its own assets plus the ones of the version
serving before it. The serving container's volume gets the new version's assets too, so a page rendered by
the new version can load its assets from either container while the proxy switches. After the release only
the directories of the new version and the one before it stay: the old assets are kept for one release.
Files are never overwritten: a name present in both keeps its own version's content.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import typing as t
from dataclasses import dataclass

COMPLETE = ".berth-complete"  # written last: an extraction that was interrupted is redone


@dataclass(frozen=True)
class Assets:
    path: str  # the asset directory in the container, e.g. /rails/public/assets
    directory: str  # on the host: <state_dir>/<service>/assets/<service>-<role>[-<destination>]
    options: str = ""  # mount options after the path (ro, z, Z)

    def extracted(self, image_id: str) -> str:
        return os.path.join(self.directory, "extracted", _short(image_id))

    def volume(self, image_id: str) -> str:
        return os.path.join(self.directory, "volumes", _short(image_id))

    def mount(self, image_id: str) -> str:
        return f"{self.volume(image_id)}:{self.path}" + (f":{self.options}" if self.options else "")


def _short(image_id: str) -> str:
    return image_id.replace("sha256:", "")[:16]


def image_of_mount(assets: Assets, container: t.Any) -> str | None:
    """The image key of the asset volume a container of the role mounts (None: it mounts none)."""
    volumes = os.path.join(assets.directory, "volumes") + os.sep
    for mount in container.attrs.get("Mounts") or []:
        source = str(mount.get("Source") or "")
        if mount.get("Destination") == assets.path and source.startswith(volumes):
            return source[len(volumes):]
    return None


def extract(client: t.Any, reference: str, image_id: str, assets: Assets) -> str:
    """Copy the image's asset directory to the host once (a container is created for it, never started)."""
    target = assets.extracted(image_id)
    if os.path.exists(os.path.join(target, COMPLETE)):
        return target
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target, mode=0o755)
    container = client.containers.create(reference, command=["true"], entrypoint=[], network_disabled=True)
    try:
        stream, _stat = container.get_archive(assets.path.rstrip("/") + "/.")
        with tempfile.TemporaryFile() as archive:
            for chunk in stream:
                archive.write(chunk)
            archive.seek(0)
            _unpack(archive, target)
    finally:
        container.remove(force=True)
    with open(os.path.join(target, COMPLETE), "w", encoding="utf-8") as handle:
        handle.write(reference + "\n")
    return target


def _unpack(archive: t.IO[bytes], target: str) -> None:
    """Regular files and directories of the archive, under ``target`` only (no links, devices or ``..``)."""
    with tarfile.open(fileobj=archive) as members:
        for member in members:
            parts = [part for part in member.name.split("/") if part not in ("", ".")]
            if not parts or ".." in parts or os.path.isabs(member.name):
                continue
            destination = os.path.join(target, *parts)
            if member.isdir():
                os.makedirs(destination, mode=0o755, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(destination), mode=0o755, exist_ok=True)
                source = members.extractfile(member)
                if source is not None:
                    with open(destination, "wb") as handle:
                        shutil.copyfileobj(source, handle)
                    os.chmod(destination, 0o644)


def _copy_missing(source: str, destination: str) -> int:
    """Copy the files of ``source`` that ``destination`` lacks (never overwriting); -> files copied."""
    copied = 0
    for root, _dirs, files in os.walk(source):
        relative = os.path.relpath(root, source)
        for name in files:
            if name == COMPLETE:
                continue
            target = os.path.normpath(os.path.join(destination, relative, name))
            if not os.path.exists(target):
                os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
                shutil.copy2(os.path.join(root, name), target)
                copied += 1
    return copied


def prepare(assets: Assets, new_image: str, serving_images: list[str]) -> int:
    """The new version's volume (its assets plus the serving versions'), and the new assets added to the serving
    versions' volumes. -> files added to serving volumes."""
    volume = assets.volume(new_image)
    os.makedirs(volume, mode=0o755, exist_ok=True)
    _copy_missing(assets.extracted(new_image), volume)
    shared = 0
    for image in serving_images:
        if image == _short(new_image):
            continue
        old_extracted = os.path.join(assets.directory, "extracted", image)
        if os.path.isdir(old_extracted):
            _copy_missing(old_extracted, volume)
        old_volume = os.path.join(assets.directory, "volumes", image)
        if os.path.isdir(old_volume):
            shared += _copy_missing(assets.extracted(new_image), old_volume)
    return shared


def prune(assets: Assets, keep: list[str]) -> list[str]:
    """Remove the extracted directories and volumes of images other than ``keep`` (image keys). -> removed keys."""
    keys = {_short(image) for image in keep}
    removed = set()
    for kind in ("extracted", "volumes"):
        base = os.path.join(assets.directory, kind)
        for key in os.listdir(base) if os.path.isdir(base) else []:
            if key not in keys:
                shutil.rmtree(os.path.join(base, key), ignore_errors=True)
                removed.add(key)
    return sorted(removed)
