# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth.deploy.lock on the controller: record which run holds the lock, and take over a dead run's.

The lock lives on the primary host; whether its holder's run still exists can only be seen here, on
the controller that ran it. Acquiring, this adds the controller and the ``ansible-playbook`` process
(the parent of this worker) to the holder. When the lock is held by a run of this very controller
whose process is gone (Ctrl-C, a killed CI job), it asks the module again to take over that holder.
"""
from __future__ import annotations

import hashlib
import os
import socket
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.berth.deploy.plugins.module_utils._lock import IDENTITY_KEYS


def controller_id() -> str:
    """This machine, its boot and its process namespace: where a process id means the same process."""
    parts = []
    for path in ("/etc/machine-id", "/proc/sys/kernel/random/boot_id"):
        try:
            with open(path, encoding="utf-8") as handle:
                parts.append(handle.read().strip())
        except OSError:
            parts.append("")
    try:
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        parts.append("")
    parts.append(socket.gethostname())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def process_started(pid: int) -> str:
    """The start time of ``pid`` in clock ticks since boot (/proc/PID/stat field 22), "" when unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    return not started or not process_started(pid) or process_started(pid) == started


def run_is_gone(holder: t.Mapping[str, t.Any], here: str) -> bool:
    """Whether ``holder`` is a run of this controller whose process no longer runs."""
    pid = holder.get("pid")
    return holder.get("controller_id") == here and isinstance(pid, int) and pid > 0 \
        and not process_alive(pid, str(holder.get("pid_started") or ""))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("state", "acquired") != "acquired":
            return {**result, **self._execute_module("berth.deploy.lock", module_args=args, task_vars=task_vars)}
        here = controller_id()
        runner = os.getppid()  # workers are forked from ansible-playbook
        args.setdefault("controller", socket.gethostname())
        args.setdefault("controller_id", here)
        args.setdefault("pid", runner)
        args.setdefault("pid_started", process_started(runner))
        outcome = self._execute_module("berth.deploy.lock", module_args=args, task_vars=task_vars)
        holder = outcome.get("holder") or {}
        if outcome.get("failed") and outcome.get("held") and run_is_gone(holder, here):
            args["take_over"] = {key: holder.get(key) for key in IDENTITY_KEYS}
            outcome = self._execute_module("berth.deploy.lock", module_args=args, task_vars=task_vars)
        return {**result, **outcome}
