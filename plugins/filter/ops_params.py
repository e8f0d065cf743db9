# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the -e parameters of the ops playbooks against berth_plan; return settings and problems."""
from __future__ import annotations

import time
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.berth.deploy.plugins.module_utils import _ops

DOCUMENTATION = r"""
name: ops_params
short_description: Check the parameters of app_exec.yml, logs.yml, remove.yml or accessory.yml and apply their defaults
version_added: 0.1.0
description:
  - Takes the parameters given to an ops playbook (a mapping; V(null) or an empty string means not
    given) and returns them with defaults applied, plus C(problems), one line per invalid parameter
    naming the variable, the value and what is allowed. The playbooks assert that C(problems) is
    empty before they touch any host.
author:
  - berth.deploy maintainers (@berth-deploy)
positional: kind, plan
options:
  _input:
    description: The parameters, e.g. C({exec_cmd, exec_role, exec_mode, ...}).
    type: dict
    required: true
  kind:
    description: Which playbook's parameters.
    type: str
    choices: [exec, logs, remove, accessory, canary]
    required: true
  plan:
    description: The host's C(berth_plan) (from M(berth.deploy.config)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the app_exec parameters
  ansible.builtin.set_fact:
    exec_settings: "{{ {'exec_cmd': exec_cmd | default(none)} | berth.deploy.ops_params('exec', berth_plan) }}"
"""

RETURN = r"""
_value:
  description: >-
    The settings with defaults applied and C(problems) (a list of strings, empty when all is well).
    exec - C(cmd), C(role), C(mode), C(hosts), C(version), C(timeout), C(keep_failed);
    logs - C(role), C(lines), C(since), C(grep), C(version), C(timestamps);
    remove - C(confirm), C(proxy);
    accessory - C(accessory), C(action), C(names) (the accessories to act on).
  type: dict
"""


def ops_params(given: t.Mapping[str, t.Any], kind: str, plan: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    if not isinstance(given, dict) or not isinstance(plan, dict):
        raise AnsibleFilterError("ops_params expects a mapping of parameters and berth_plan")
    if kind == "exec":
        return _ops.exec_settings(given, plan)
    if kind == "logs":
        return _ops.logs_settings(given, plan, time.time())
    if kind == "remove":
        return _ops.remove_settings(given, plan)
    if kind == "accessory":
        return _ops.accessory_settings(given, plan)
    if kind == "canary":
        return _ops.canary_settings(given, plan)
    raise AnsibleFilterError(f"ops_params: unknown kind {kind!r} (exec, logs, remove, accessory or canary)")


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"ops_params": ops_params}
