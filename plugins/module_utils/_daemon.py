# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's /etc/docker/daemon.json: berth's keys merged into what the server has.

The server's file may hold keys berth knows nothing about (a mirror, an insecure registry,
``data-root``): they stay. berth's keys win; a mapping (``log-opts``) is merged key by key, any
other value (a list such as ``insecure-registries``) is replaced, and ``None`` removes a key.
Moving ``data-root`` away from a directory that holds containers is refused: Docker would start
on an empty directory after the restart.
"""
from __future__ import annotations

import json
import os
import typing as t

DEFAULT_DATA_ROOT = "/var/lib/docker"


class DaemonConfigError(Exception):
    """The server's daemon.json cannot be read, or the change is refused; the message says why."""


def parse(text: str | None, path: str) -> dict[str, t.Any]:
    """The server's daemon.json as a mapping (a missing or blank file is an empty one)."""
    if text is None or not text.strip():
        return {}
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise DaemonConfigError(f"{path} is not valid JSON ({exc}); fix or remove it, berth does not overwrite it") from None
    if not isinstance(config, dict):
        raise DaemonConfigError(f"{path} holds a JSON {type(config).__name__}, not an object; fix or remove it")
    return config


def merge(current: t.Mapping[str, t.Any], managed: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``current`` with ``managed`` applied: mappings merged key by key, other values replaced, None removes."""
    merged = dict(current)
    for key, value in managed.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, t.Mapping) and isinstance(merged.get(key), t.Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = _without_none(value)
    return merged


def _without_none(value: t.Any) -> t.Any:
    if isinstance(value, t.Mapping):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    return value


def render(config: t.Mapping[str, t.Any]) -> str:
    """The file's text: the server's keys keep their order, new ones follow."""
    return json.dumps(config, indent=2) + "\n"


def data_root(config: t.Mapping[str, t.Any]) -> str:
    return str(config.get("data-root") or DEFAULT_DATA_ROOT).rstrip("/") or "/"


def count_containers(root: str) -> int:
    """Containers Docker keeps under the data-root ``root`` (one directory each in ``containers``)."""
    try:
        return len(os.listdir(os.path.join(root, "containers")))
    except FileNotFoundError:
        return 0


def refuse_data_root_move(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any],
                          count: t.Callable[[str], int] = count_containers) -> None:
    """Raise when ``after`` moves data-root away from a directory that holds containers."""
    old, new = data_root(before), data_root(after)
    if old == new:
        return
    containers = count(old)
    if containers:
        raise DaemonConfigError(
            f"refusing to change Docker's data-root from {old!r} to {new!r} (berth_host_docker_daemon_extra): "
            f"{containers} container(s) live under {old}, and Docker would start on the empty {new} after the "
            f"restart. Move the data first (stop Docker, copy {old} to {new}, set data-root), or remove the containers.")
