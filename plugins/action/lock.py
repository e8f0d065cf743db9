# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""berth.deploy.lock: the deploy lock on the host, driven from the controller.

Each step is one shell command on the host (plugins/module_utils/_lock.py has the scripts): taking
or releasing the lock costs one round trip, no module run. Acquiring, it records the controller and
the ``ansible-playbook`` process (the parent of this worker). A held lock is taken over when its
lease ran out, or at once when it is a run of this very controller whose process is gone (Ctrl-C, a
killed CI job): whether a process runs can only be seen here, where it ran.
"""
from __future__ import annotations

import hashlib
import os
import socket
import time
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.berth.deploy.plugins.module_utils import _lock

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="acquired", choices=["acquired", "released"]),
    directory=dict(type="path", default="/var/lib/berth/locks"),
    performer=dict(type="str", default=""),
    version=dict(type="str", default=""),
    reason=dict(type="str", default=""),
    wait=dict(type="float", default=0),
    token=dict(type="str", no_log=True),
    force=dict(type="bool", default=False),
    lease=dict(type="int", default=900),
    hold=dict(type="bool", default=False),
)
POLL = 1.0


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
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        validated = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validated.error_messages:
            return {**result, "failed": True, "msg": "; ".join(validated.error_messages)}
        params = validated.validated_parameters
        path = _lock.lock_path(params["directory"], params["name"])
        try:
            if params["state"] == "released":
                return {**result, **self._release(path, params)}
            return {**result, **self._acquire(path, params)}
        except _lock.CorruptHolder as exc:
            return {**result, "failed": True, "msg": f"The deploy lock {params['name']} cannot be read: {exc}"}

    def _shell(self, script: str, stdin: str = "") -> _lock.Reply:
        """Run ``script`` with sh on the host; what it printed."""
        # one line group: Ansible appends "&& sleep 0" to the command
        outcome = self._low_level_execute_command(script.rstrip("\n"), in_data=stdin.encode("utf-8"), sudoable=True)
        if outcome.get("rc", 1) != 0:
            raise _lock.CorruptHolder(f"the lock directory could not be used: {(outcome.get('stderr') or '').strip()}")
        return _lock.parse_reply(outcome.get("stdout") or "")

    def _acquire(self, path: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        here = controller_id()
        runner = os.getppid()  # workers are forked from ansible-playbook
        if params["hold"]:  # taken by hand: no run to outlive it, no lease; held until released
            holder = {**_lock.new_holder(params["performer"], params["version"], params["reason"], 0,
                                         socket.gethostname(), here), "held": True}
        else:
            holder = _lock.new_holder(params["performer"], params["version"], params["reason"], params["lease"],
                                      socket.gethostname(), here, runner, process_started(runner))
        started = time.monotonic()
        take_over: _lock.Reply | None = None  # the stale holder being replaced, as last seen
        while True:
            script = _lock.peek_script(path) if self._task.check_mode else \
                _lock.acquire_script(path, take_over.holder_digest if take_over else None)
            reply = self._shell(script, _lock.holder_text(holder))
            if reply.what in ("acquired", "free"):
                found: dict[str, t.Any] = {"changed": True, "holder": _lock.public(holder),
                                           "token": "" if reply.what == "free" else holder["token"],
                                           "waited": round(time.monotonic() - started, 3), "taken_over": {}}
                if take_over is not None:
                    old = _lock.parse_holder(take_over.holder_text, path) or {}
                    found["taken_over"] = _lock.public(old)
                    found["warnings"] = [self._takeover_warning(params["name"], old, here)]
                return found
            current = _lock.parse_holder(reply.holder_text, path) or {}
            if take_over is None and (run_is_gone(current, here) or
                                      _lock.lease_expired(current, params["lease"], reply.now)):
                if self._task.check_mode:
                    return {"changed": True, "holder": _lock.public(holder), "token": "", "waited": 0.0,
                            "taken_over": _lock.public(current)}
                take_over = reply
                continue
            take_over = None
            if time.monotonic() - started >= params["wait"]:
                held = _lock.LockHeld(params["name"], current)
                return {"failed": True, "held": True, "holder": _lock.public(current),
                        "msg": f"{held}. Wait for it, retry with berth_lock_wait, or see playbooks/lock.yml."}
            time.sleep(POLL)

    @staticmethod
    def _takeover_warning(name: str, old: dict[str, t.Any], here: str) -> str:
        why = "its run is gone (that process no longer runs on this controller)" if run_is_gone(old, here) \
            else "its lease ran out"
        return f"Took over the deploy lock {name} from {_lock.describe(old)}: {why}"

    def _release(self, path: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        if self._task.check_mode:
            return {"changed": self._shell(_lock.peek_script(path)).what == "held", "holder": {}}
        reply = self._shell(_lock.release_script(path, params["force"]), (params["token"] or "") + "\n")
        if reply.what == "held":
            try:
                current = _lock.parse_holder(reply.holder_text, path) or {}
            except _lock.CorruptHolder:
                current = {"performer": "unknown (unreadable holder.json)"}
            return {"failed": True, "holder": _lock.public(current),
                    "msg": f"Not releasing: {_lock.describe(current)} holds the lock "
                           "(release it with force, e.g. playbooks/lock.yml -e lock_action=release)"}
        return {"changed": reply.what == "released", "holder": {}}
