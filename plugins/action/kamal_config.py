# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a Kamal 2 configuration on the controller: its hosts, and each host's berth variables (add_host)."""
from __future__ import annotations

import os
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.berth.deploy.plugins.plugin_utils._kamal import Imported, import_config
from ansible_collections.berth.deploy.plugins.plugin_utils._kamal_source import KamalError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("path", "destination", "host", "inventory_hosts"))
    _requires_connection = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        path = str(args.get("path") or "")
        if not path:
            return {**result, "failed": True, "msg": "path (berth_kamal_config) is required: the Kamal configuration, "
                                                     "e.g. config/deploy.yml"}
        secrets = self._templar.template(task_vars.get("berth_kamal_secrets") or {})
        if not isinstance(secrets, dict):
            return {**result, "failed": True, "msg": "berth_kamal_secrets must be a mapping of secret name to value"}
        environment = {**os.environ, **{str(key): str(value) for key, value in secrets.items()}}
        try:
            imported = import_config(path, str(args.get("destination") or ""), environment)
        except KamalError as exc:
            return {**result, "failed": True, "msg": str(exc), "problems": exc.problems}
        inventory = [str(host) for host in args.get("inventory_hosts") or [] if host != "localhost"]
        host = args.get("host")
        if host is not None:
            return {**result, "changed": False, "add_host": self._add_host(imported, str(host), bool(inventory))}
        targets = inventory or sorted(imported.hosts)
        result.update(changed=False, hosts=targets, from_file=not inventory, service=imported.variables["berth_service"],
                      roles={name: [entry.name for entry in imported.hosts.values() if name in entry.groups]
                             for name in imported.variables["berth_roles"]},
                      secret_names=imported.secret_names,
                      msg=f"{path}: service {imported.variables['berth_service']}, {len(targets)} host(s)"
                          f"{' of the inventory' if inventory else ''}")
        if imported.warnings:
            result["warnings"] = imported.warnings
        return result

    @staticmethod
    def _add_host(imported: Imported, host: str, inventory_given: bool) -> dict[str, t.Any]:
        """The host, its groups and variables; a host of the given inventory keeps its groups and connection."""
        variables = dict(imported.variables_for(host))
        groups: list[str] = []
        if not inventory_given and host in imported.hosts:
            groups = imported.hosts[host].groups
            variables.update(imported.connection, ansible_host=host)
        return {"host_name": host, "groups": groups, "host_vars": variables}
