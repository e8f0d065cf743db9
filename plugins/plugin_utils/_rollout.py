# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of one rollout across hosts: who started, finished, failed, what rolls back, what is said.

Ansible runs the batches (``serial``), the hosts and the hooks; this module decides from what each
host recorded (``HostState``, read from its variables by the ``berth.deploy.rollout`` action):

- ``gate``: may this host start? Not when a host of an earlier batch failed or the run was aborted
  (a pre_deploy hook or the migration failed);
- ``finish``: did the run fail, what does each host roll back to, which hook runs now, what the
  error text is;
- ``summary``: one line per host and role, failures first;
- ``verdict``: what this host fails with at the end.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.deploy.plugins.module_utils._release import STEPS

UNFINISHED = "did not finish (failed or unreachable, see the play output)"


@dataclass
class HostState:
    """What one host recorded in this run."""
    host: str
    started: bool = False
    # the registered result of berth.deploy.release: the deploy's, or the rollback's once it rolled back
    release: t.Mapping[str, t.Any] | None = None
    rolled_back: bool = False
    failure: str | None = None  # a failure after (or around) the release: a hook, an error the rescue caught
    abort: str | None = None  # why the whole run stopped before any host switched (this host ran it)
    hook_failures: t.Mapping[str, str] = field(default_factory=dict)


def release_failure(release: t.Mapping[str, t.Any] | None) -> str | None:
    """Why a registered release result failed (None: it did not, or it did not run)."""
    if not release or release.get("skipped"):
        return None
    if release.get("unreachable"):
        return f"unreachable: {release.get('msg') or 'no connection'}"
    if release.get("failed"):
        return str(release.get("msg") or "the release failed (no message)")
    return None


def host_failure(state: HostState) -> str | None:
    """Why this host failed in this run, or None (it did not start, or it finished)."""
    if not state.started:
        return None
    if state.rolled_back:  # its release had succeeded, or it would not have been rolled back
        return state.failure
    found = release_failure(state.release) or state.failure
    if found:
        return found
    if not state.release or state.release.get("skipped"):
        return UNFINISHED
    return None


def abort_reason(states: t.Iterable[HostState]) -> str:
    return next((state.abort for state in states if state.abort), "")


def gate(states: t.Sequence[HostState], current_batch: t.Collection[str]) -> str:
    """Why a host of ``current_batch`` must not start ("" : it may): earlier batches decide."""
    abort = abort_reason(states)
    if abort:
        return abort
    failed = [state.host for state in states if state.host not in current_batch and host_failure(state)]
    if failed:
        return f"a host of an earlier batch failed ({', '.join(failed)}), so later batches do not start"
    return ""


def errors(states: t.Sequence[HostState]) -> list[str]:
    """What went wrong in this run, one line per problem (the abort reason first)."""
    found = [abort_reason(states)] if abort_reason(states) else []
    return found + [f"{state.host}: {host_failure(state)}" for state in states if host_failure(state)]


def rollback_failure(state: HostState) -> str | None:
    return release_failure(state.release) if state.rolled_back else None


def rollback_targets(state: HostState, run_failed: bool) -> dict[str, str]:
    """Role -> container to serve again on this host: what served before, for roles its release switched."""
    if not run_failed or release_failure(state.release) or not state.release or state.release.get("skipped"):
        return {}
    return {role: report["previous_container"] for role, report in (state.release.get("roles") or {}).items()
            if report.get("changed") and report.get("previous_container")}


def finish(states: t.Sequence[HostState]) -> dict[str, t.Any]:
    """Did the run fail, what does each host roll back to (only hosts that do), which hook runs now."""
    problems = errors(states)
    rollbacks = {state.host: rollback_targets(state, bool(problems)) for state in states}
    return {"run_failed": bool(problems), "error": "\n".join(problems),
            "rollbacks": {host: targets for host, targets in rollbacks.items() if targets},
            "hook": "on_failure" if problems else "post_deploy"}


def starting(states: t.Sequence[HostState], batch: t.Sequence[str], with_roles: t.Collection[str]) -> tuple[list[str], str]:
    """Which hosts of ``batch`` start (those with a berth role, unless ``gate`` says none may), and why not."""
    reason = gate(states, batch)
    return ([] if reason else [host for host in batch if host in with_roles]), reason


def role_line(label: str, role: str, report: t.Mapping[str, t.Any]) -> str:
    seconds = report.get("seconds") or {}
    steps = ", ".join(f"{step} {seconds.get(step, 0):g}" for step in STEPS)
    previous = ",".join(report.get("previous") or []) or "none"
    unchanged = "" if report.get("changed") else " (unchanged)"
    total = round(sum(float(seconds.get(step) or 0) for step in STEPS), 2)
    return f"{label} {role}: {previous} -> {report.get('version')}{unchanged} in {total:g}s ({steps})"


def summary(states: t.Sequence[HostState], service_label: str) -> list[str]:
    """One line per host and role (the rollback's result where a host rolled back), failures first."""
    lines = [f"FAILED {line}" for line in errors(states)]
    for state in states:
        if not state.started:
            continue
        if rollback_failure(state):
            lines.append(f"FAILED {state.host}: the rollback failed: {rollback_failure(state)}")
            continue
        if release_failure(state.release) or not state.release or state.release.get("skipped"):
            continue
        note = " (rolled back)" if state.rolled_back else ""
        for role, report in (state.release.get("roles") or {}).items():
            lines.append(f"{state.host}: {role_line(service_label, role, report)}{note}")
    return lines


def verdict(state: HostState) -> list[str]:
    """What this host fails with at the end of the run (empty: it does not fail)."""
    found = [host_failure(state)] if host_failure(state) else []
    found += [state.abort] if state.abort else []
    found += [message for name, message in state.hook_failures.items() if name in ("post_deploy", "on_failure")]
    if rollback_failure(state):
        found.append(f"the rollback failed: {rollback_failure(state)}")
    return found
