# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock: one deploy at a time per service/destination, that a dead run cannot wedge.

The lock is a directory (``mkdir`` is atomic) holding ``holder.json``: who, when, version, message,
the token of the run that holds it (only that token releases it, unless forced), the controller
and process of that run, and a lease.

A held lock is taken over (the caller is told whose it was) when its lease has run out, counted
from ``since_epoch`` on this host's clock, or when the caller names exactly this holder in
``take_over``: the controller-side action does that after it saw that the holder's process, on
the same controller, is gone (an interrupted ansible-playbook).
"""
from __future__ import annotations

import calendar
import json
import os
import shutil
import time
import typing as t
import uuid

from ansible_collections.berth.deploy.plugins.module_utils import _files

HOLDER_FILE = "holder.json"
# What names one run's holder when the controller asks to take it over.
IDENTITY_KEYS = ("controller_id", "pid", "since")


class LockHeld(Exception):
    """Someone else holds the lock; ``holder`` says who."""

    def __init__(self, name: str, holder: dict[str, t.Any]):
        self.holder = holder
        super().__init__(f"The deploy lock {name} is held by {describe(holder)}")


class CorruptHolder(Exception):
    """holder.json cannot be read: the message says which file and how to release it."""


def describe(holder: dict[str, t.Any]) -> str:
    who = f"{holder.get('performer', '?')} since {holder.get('since', '?')}"
    if not holder.get("version") and holder.get("reason"):
        text = f"{who}, {holder['reason']}"  # not a deploy: prune.yml or remove.yml say what they do
    else:
        text = f"{who}, deploying {holder.get('version') or '?'}"
        text += f" ({holder['reason']})" if holder.get("reason") else ""
    if holder.get("pid"):
        text += f" [process {holder['pid']} on {holder.get('controller') or '?'}"
        text += f", lease {holder['lease']}s]" if holder.get("lease") else "]"
    return text


def public(holder: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The holder without its release token."""
    return {key: value for key, value in (holder or {}).items() if key != "token"}


def lock_path(directory: str, name: str) -> str:
    return os.path.join(directory, f"{name}.lock")


def read_holder(path: str) -> dict[str, t.Any] | None:
    """The holder of the lock at ``path``, None when free; raises CorruptHolder when unreadable."""
    holder_file = os.path.join(path, HOLDER_FILE)
    text = _files.read_text(holder_file)
    if text is None:
        return None if not os.path.isdir(path) else {"performer": "unknown (holder.json missing)"}
    try:
        holder = json.loads(text)
    except ValueError as exc:
        raise CorruptHolder(f"{holder_file} is not a lock holder written by berth.deploy ({exc}); if no deploy is "
                            "running, release the lock with playbooks/lock.yml -e lock_action=release") from None
    if not isinstance(holder, dict):
        raise CorruptHolder(f"{holder_file} holds {type(holder).__name__}, not a lock holder; if no deploy is "
                            "running, release the lock with playbooks/lock.yml -e lock_action=release")
    return holder


def new_holder(performer: str, version: str, reason: str, lease: int, controller: str = "",
               controller_id: str = "", pid: int = 0, pid_started: str = "", now: float | None = None
               ) -> dict[str, t.Any]:
    now = time.time() if now is None else now
    return {"performer": performer, "version": version, "reason": reason,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "since_epoch": round(now, 3),
            "lease": lease, "controller": controller, "controller_id": controller_id, "pid": pid,
            "pid_started": pid_started, "token": uuid.uuid4().hex}


def since_epoch(holder: dict[str, t.Any]) -> float | None:
    if isinstance(holder.get("since_epoch"), (int, float)):
        return float(holder["since_epoch"])
    try:
        return float(calendar.timegm(time.strptime(str(holder.get("since")), "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def lease_expired(holder: dict[str, t.Any], lease: float, now: float) -> bool:
    """Whether the holder's lease (its own, else ``lease``) ran out; a holder without a time never expires."""
    started = since_epoch(holder)
    own = holder.get("lease")
    return started is not None and now - started > (own if isinstance(own, (int, float)) and own > 0 else lease)


def is_named(holder: dict[str, t.Any], take_over: dict[str, t.Any] | None) -> bool:
    """Whether ``take_over`` names exactly this holder (and nothing that any holder lacks)."""
    return bool(take_over) and all(holder.get(key) == (take_over or {}).get(key) for key in IDENTITY_KEYS) \
        and bool(holder.get("controller_id")) and bool(holder.get("pid"))


def try_acquire(path: str, holder: dict[str, t.Any]) -> bool:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return False
    _files.write_atomic(os.path.join(path, HOLDER_FILE), json.dumps(holder, sort_keys=True) + "\n", 0o600)
    return True


def replace_holder(path: str) -> None:
    """Move the old lock aside and remove it (one rename: of two runs taking it over, one wins)."""
    aside = f"{path}.taken-over-{uuid.uuid4().hex[:8]}"
    os.rename(path, aside)
    shutil.rmtree(aside, ignore_errors=True)


def acquire(path: str, name: str, holder: dict[str, t.Any], wait: float, take_over: dict[str, t.Any] | None = None,
            poll: float = 1.0) -> tuple[float, dict[str, t.Any] | None]:
    """Take the lock, waiting up to ``wait`` seconds; return (seconds waited, the holder taken over or None).

    Raises LockHeld (a live holder) or CorruptHolder."""
    started = time.monotonic()
    while True:
        if try_acquire(path, holder):
            return round(time.monotonic() - started, 3), None
        current = read_holder(path)
        if current is not None and (lease_expired(current, holder["lease"], time.time()) or is_named(current, take_over)):
            try:
                replace_holder(path)
            except FileNotFoundError:
                continue  # released or taken over meanwhile: try again
            if try_acquire(path, holder):
                return round(time.monotonic() - started, 3), current
            continue
        if current is not None and time.monotonic() - started >= wait:
            raise LockHeld(name, current)
        time.sleep(poll)


def would_take_over(current: dict[str, t.Any], lease: float, take_over: dict[str, t.Any] | None) -> bool:
    return lease_expired(current, lease, time.time()) or is_named(current, take_over)


def release(path: str) -> None:
    shutil.rmtree(path)
