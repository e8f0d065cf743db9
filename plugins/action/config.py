# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate and normalize the berth_* variables on the controller; set the berth_plan fact."""
from __future__ import annotations

import getpass
import socket
import time
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, DEFAULTS, build_plan, unknown_variables


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("mode",))
    _requires_connection = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        mode = self._task.args.get("mode", "deploy")
        names = [name for name in task_vars if name.startswith("berth_")]
        variables = {name: self._templar.template(task_vars[name]) for name in names
                     if name in DEFAULTS or name in unknown_variables([name])}
        try:
            plan = build_plan(variables, mode=mode, group_names=task_vars.get("group_names", []),
                              groups=task_vars.get("groups", {}), performer=self._performer(task_vars),
                              inventory_dir=task_vars.get("inventory_dir") or "",
                              inventory_sources=task_vars.get("ansible_inventory_sources") or (),
                              play_hosts=task_vars.get("ansible_play_hosts_all"),
                              host=task_vars.get("inventory_hostname", ""))
        except ConfigError as exc:
            result.update(failed=True, msg=str(exc), problems=exc.problems)
            return result
        plan["started_at"] = round(time.time(), 3)  # BERTH_RUNTIME of the post_deploy and on_failure hooks
        result.update(changed=False, ansible_facts={"berth_plan": plan}, msg=self._summary(plan))
        if plan["warnings"]:
            result["warnings"] = plan["warnings"]
        return result

    @staticmethod
    def _performer(task_vars: dict[str, t.Any]) -> str:
        """Who deploys: the AWX/Automation Platform user when launched from there, else user@controller."""
        for name in ("awx_user_name", "tower_user_name"):
            if task_vars.get(name):
                return f"{task_vars[name]} (AWX)"
        return f"{getpass.getuser()}@{socket.gethostname()}"

    @staticmethod
    def _summary(plan: dict[str, t.Any]) -> str:
        roles = ", ".join(plan["host_roles"]) or "none (host is in no role's group)"
        version = plan["version"] or "(no version: setup only)"
        return f"{plan['service']} {version}: roles on this host: {roles}"
