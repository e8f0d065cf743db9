# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock: one deploy at a time per service/destination.

The lock is a directory (``mkdir`` is atomic) holding ``holder.json``: who, when, version, message
and the token of the run that holds it. Only that token releases it, unless forced.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils import _files

HOLDER_FILE = "holder.json"


class LockHeld(Exception):
    """Someone else holds the lock; ``holder`` says who."""

    def __init__(self, name: str, holder: dict[str, t.Any]):
        self.holder = holder
        super().__init__(f"The deploy lock {name} is held by {describe(holder)}")


def describe(holder: dict[str, t.Any]) -> str:
    who = f"{holder.get('performer', '?')} since {holder.get('since', '?')}"
    if not holder.get("version") and holder.get("reason"):
        return f"{who}, {holder['reason']}"  # not a deploy: prune.yml or remove.yml say what they do
    text = f"{who}, deploying {holder.get('version') or '?'}"
    return text + (f" ({holder['reason']})" if holder.get("reason") else "")


def public(holder: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The holder without its release token."""
    return {key: value for key, value in (holder or {}).items() if key != "token"}


def lock_path(directory: str, name: str) -> str:
    return os.path.join(directory, f"{name}.lock")


def read_holder(path: str) -> dict[str, t.Any] | None:
    text = _files.read_text(os.path.join(path, HOLDER_FILE))
    if text is None:
        return None if not os.path.isdir(path) else {"performer": "unknown (holder.json missing)"}
    return json.loads(text)


def try_acquire(path: str, holder: dict[str, t.Any]) -> bool:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return False
    _files.write_atomic(os.path.join(path, HOLDER_FILE), json.dumps(holder, sort_keys=True) + "\n", 0o600)
    return True


def acquire(path: str, name: str, holder: dict[str, t.Any], wait: float, poll: float = 1.0) -> float:
    """Take the lock, waiting up to ``wait`` seconds; return seconds waited or raise LockHeld."""
    started = time.monotonic()
    while not try_acquire(path, holder):
        current = read_holder(path) or {}
        if time.monotonic() - started >= wait:
            raise LockHeld(name, current)
        time.sleep(poll)
    return round(time.monotonic() - started, 3)


def release(path: str) -> None:
    shutil.rmtree(path)
