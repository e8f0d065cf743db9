# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy lock: one deploy at a time per service/destination, that a dead run cannot wedge.

The lock is a directory on the primary host (``mkdir`` is atomic) holding ``holder.json``: who,
when, version, message, the token of the run that holds it (only that token releases it, unless
forced), the controller and process of that run, and a lease.

The ``berth.deploy.lock`` action drives it from the controller with one shell command per step
(the scripts below; no Python module to start on the host, so taking and releasing the lock cost a
round trip each, not a module run). What to do with a held lock is decided on the controller:
it is taken over when its lease has run out, counted from ``since_epoch`` on the host's own clock,
or when its run is gone (same controller, that process no longer runs). ``lock_info`` and the
scripts read the holder through ``parse_holder``.
"""
from __future__ import annotations

import calendar
import json
import os
import shlex
import time
import typing as t
import uuid
from dataclasses import dataclass

HOLDER_FILE = "holder.json"
RELEASE_HINT = "if no deploy is running, release the lock with playbooks/lock.yml -e lock_action=release"


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
    if holder.get("held"):
        text += " [held until released: playbooks/lock.yml -e lock_action=release]"
    elif holder.get("pid"):
        text += f" [process {holder['pid']} on {holder.get('controller') or '?'}"
        text += f", lease {holder['lease']}s]" if holder.get("lease") else "]"
    return text


def public(holder: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The holder without its release token."""
    return {key: value for key, value in (holder or {}).items() if key != "token"}


def lock_path(directory: str, name: str) -> str:
    return os.path.join(directory, f"{name}.lock")


def parse_holder(text: str | None, path: str, exists: bool = True) -> dict[str, t.Any] | None:
    """The holder of the lock at ``path`` from its holder.json text; None when the lock is free.

    Raises CorruptHolder when the text is not a holder."""
    holder_file = os.path.join(path, HOLDER_FILE)
    if text is None or not text.strip():
        return None if not exists else {"performer": "unknown (holder.json missing)"}
    try:
        holder = json.loads(text)
    except ValueError as exc:
        raise CorruptHolder(f"{holder_file} is not a lock holder written by berth.deploy ({exc}); {RELEASE_HINT}") from None
    if not isinstance(holder, dict):
        raise CorruptHolder(f"{holder_file} holds {type(holder).__name__}, not a lock holder; {RELEASE_HINT}")
    return holder


def read_holder(path: str) -> dict[str, t.Any] | None:
    """The holder of a lock on this machine (what lock_info reads)."""
    try:
        with open(os.path.join(path, HOLDER_FILE), encoding="utf-8") as handle:
            text: str | None = handle.read()
    except FileNotFoundError:
        text = None
    return parse_holder(text, path, exists=os.path.isdir(path))


def new_holder(performer: str, version: str, reason: str, lease: int, controller: str = "",
               controller_id: str = "", pid: int = 0, pid_started: str = "", now: float | None = None
               ) -> dict[str, t.Any]:
    """A holder; ``since_epoch`` 0 is replaced by the host's clock when the acquire script writes it."""
    now = time.time() if now is None else now
    return {"performer": performer, "version": version, "reason": reason,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "since_epoch": 0,
            "lease": lease, "controller": controller, "controller_id": controller_id, "pid": pid,
            "pid_started": pid_started, "token": uuid.uuid4().hex}


def holder_text(holder: dict[str, t.Any]) -> str:
    return json.dumps(holder, sort_keys=True) + "\n"


def since_epoch(holder: dict[str, t.Any]) -> float | None:
    if isinstance(holder.get("since_epoch"), (int, float)) and holder["since_epoch"] > 0:
        return float(holder["since_epoch"])
    try:
        return float(calendar.timegm(time.strptime(str(holder.get("since")), "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def lease_expired(holder: dict[str, t.Any], lease: float, now: float) -> bool:
    """Whether the holder's lease (its own, else ``lease``) ran out; a holder without a time, or one taken by hand
    (``held``: playbooks/lock.yml -e lock_action=acquire), never expires."""
    if holder.get("held"):
        return False
    started = since_epoch(holder)
    own = holder.get("lease")
    return started is not None and now - started > (own if isinstance(own, (int, float)) and own > 0 else lease)


# The shell side: POSIX sh, coreutils or busybox. Each script prints "now=<epoch>" (the host's clock),
# then one word saying what happened, then, for a held lock, the sha256 of its holder.json and the file.

def _show_holder(lock: str) -> str:
    return f'echo held; sha256sum < {lock}/{HOLDER_FILE} 2>/dev/null | cut -d" " -f1; cat {lock}/{HOLDER_FILE} 2>/dev/null'


def acquire_script(path: str, take_over_digest: str | None = None) -> str:
    """Take the lock at ``path`` with the holder given on stdin (its since_epoch 0 becomes the host's
    clock). With ``take_over_digest``, first move aside the lock if its holder.json still has that sha256."""
    lock = shlex.quote(path)
    lines = ["umask 077", f"mkdir -p {shlex.quote(os.path.dirname(path))} || exit 3", "now=$(date +%s)", 'echo "now=$now"']
    if take_over_digest is not None:
        digest = shlex.quote(take_over_digest)
        aside = shlex.quote(f"{path}.taken-over-{uuid.uuid4().hex[:8]}")
        lines.append(f'if [ "$(sha256sum < {lock}/{HOLDER_FILE} 2>/dev/null | cut -d" " -f1)" = {digest} ] && '
                     f"mv {lock} {aside} 2>/dev/null; then rm -rf {aside}; fi")
    # The holder is written into a new directory that is then renamed onto the lock: rename(2) fails on an
    # existing lock (it is never empty), so a lock directory always holds a whole holder.json.
    fresh = shlex.quote(f"{path}.new-{uuid.uuid4().hex[:8]}")
    lines.append(f"mkdir {fresh} && "
                 f'sed "s/\\"since_epoch\\": 0,/\\"since_epoch\\": $now,/" > {fresh}/{HOLDER_FILE} || exit 3')
    lines.append(f"if mv -T {fresh} {lock} 2>/dev/null; then echo acquired; "
                 f"else rm -rf {fresh}; {_show_holder(lock)}; fi")
    return "\n".join(lines) + "\n"


def peek_script(path: str) -> str:
    """Read the lock without changing it (check mode, lock_info)."""
    lock = shlex.quote(path)
    return f'echo "now=$(date +%s)"\nif [ -d {lock} ]; then {_show_holder(lock)}; else echo free; fi\n'


def release_script(path: str, force: bool) -> str:
    """Release the lock at ``path`` if its holder has the token given on stdin (any holder with ``force``)."""
    lock = shlex.quote(path)
    match = "true" if force else f'grep -qF "\\"token\\": \\"$token\\"" {lock}/{HOLDER_FILE} 2>/dev/null'
    return (f'read -r token || true\necho "now=$(date +%s)"\n'
            f"if [ ! -d {lock} ]; then echo free; elif {match}; then rm -rf {lock} && echo released; "
            f"else {_show_holder(lock)}; fi\n")


@dataclass(frozen=True)
class Reply:
    now: float  # the host's clock
    what: str  # acquired, held, free, released
    holder_text: str = ""  # holder.json of a held lock
    holder_digest: str = ""  # its sha256, which names exactly this holder when taking it over


def parse_reply(stdout: str) -> Reply:
    """What one of the scripts printed."""
    lines = stdout.splitlines()
    now = next((float(line[4:]) for line in lines if line.startswith("now=") and line[4:].isdigit()), time.time())
    rest = [line for line in lines if not line.startswith("now=")]
    what = rest[0].strip() if rest else ""
    if what != "held":
        return Reply(now, what)
    digest = rest[1].strip() if len(rest) > 1 else ""
    return Reply(now, what, "\n".join(rest[2:]), digest)
