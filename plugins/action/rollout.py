# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's state across hosts, on the controller (plugins/plugin_utils/_rollout.py decides).

It reads what each host of the play registered in this run, never facts (a fact cache would carry
them into the next run): ``berth_gate`` (this action's gate), ``berth_release`` (the release),
``berth_failure`` (this action's ``failed`` in a rescue), ``berth_finish`` (this action's ``finish``:
once it names a rollback, ``berth_release`` is the rollback's result),
and the hook role's ``hook_failures`` and the migration's ``migrate_failure``.
"""
from __future__ import annotations

import time
import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.berth.deploy.plugins.plugin_utils import _rollout

EVENTS = ("gate", "failed", "finish", "summary")
display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("event", "reason"))
    _requires_connection = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        event = self._task.args.get("event")
        if event not in EVENTS:
            return {**result, "failed": True, "msg": f"event: {event!r} is not one of {', '.join(EVENTS)}"}
        host = task_vars.get("inventory_hostname", "")
        if event == "failed":
            reason = str(self._task.args.get("reason") or "failed (no message)")
            return {**result, "changed": False, "failure": reason}
        states = self._states(task_vars)
        plan = task_vars.get("berth_plan") or {}
        if event == "gate":
            return {**result, **self._gate(states, task_vars, plan)}
        if event == "finish":
            return {**result, "changed": False, **_rollout.finish(states)}
        return {**result, **self._summary(states, task_vars, plan)}

    def _gate(self, states: list[_rollout.HostState], task_vars: dict[str, t.Any], plan: dict[str, t.Any]
              ) -> dict[str, t.Any]:
        """Which hosts of this batch start (run once per batch); a batch after the first starts
        ``berth_boot.wait`` seconds late."""
        host = task_vars.get("inventory_hostname", "")
        batch = list(task_vars.get("ansible_play_batch") or [host])
        hostvars = task_vars.get("hostvars") or {}
        with_roles = [name for name in batch if ((hostvars.get(name) or {}).get("berth_plan") or {}).get("host_roles")]
        started, reason = _rollout.starting(states, batch, with_roles)
        wait = float((plan.get("boot") or {}).get("wait") or 0)
        if started and wait > 0 and any(state.started for state in states if state.host not in batch):
            time.sleep(wait)
        return {"changed": False, "starting": started, "reason": reason}

    def _summary(self, states: list[_rollout.HostState], task_vars: dict[str, t.Any], plan: dict[str, t.Any]
                 ) -> dict[str, t.Any]:
        """The first host shows the summary; every host fails with what went wrong on it."""
        host = task_vars.get("inventory_hostname", "")
        first = (task_vars.get("ansible_play_hosts") or [host])[0] == host
        label = plan.get("service", "") + (f" ({plan['destination']})" if plan.get("destination") else "")
        lines = _rollout.summary(states, label) if first else []
        state = next((item for item in states if item.host == host), _rollout.HostState(host))
        failures = _rollout.verdict(state)
        if failures:
            for line in lines:
                display.display(line)
            return {"failed": True, "msg": "\n".join(failures), "summary": lines}
        if lines:
            return {"changed": False, "msg": lines, "summary": lines, "_ansible_verbose_always": True}
        return {"changed": False, "summary": lines}

    @staticmethod
    def _states(task_vars: dict[str, t.Any]) -> list[_rollout.HostState]:
        hostvars = task_vars.get("hostvars") or {}
        states = []
        for host in task_vars.get("ansible_play_hosts_all") or []:
            variables = hostvars.get(host) or {}
            gate = variables.get("berth_gate") or {}
            hook_failures = dict(variables.get("hook_failures") or {})
            states.append(_rollout.HostState(
                host=host, started=host in (gate.get("starting") or []),
                release=variables.get("berth_release"),
                rolled_back=host in ((variables.get("berth_finish") or {}).get("rollbacks") or {}),
                failure=(variables.get("berth_failure") or {}).get("failure"),
                abort=hook_failures.get("pre_deploy") or variables.get("migrate_failure") or None,
                hook_failures=hook_failures))
        return states
