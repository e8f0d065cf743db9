# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per berth role, the secret environment values: berth_env.secret, then the role's env.secret over it."""
from __future__ import annotations

import typing as t

DOCUMENTATION = r"""
name: secret_env
short_description: Per berth role, its secret environment values (the plan holds only their names)
version_added: 0.2.0
description:
  - C(berth_plan) never holds secret values. This reads them where the user put them, when a task
    needs them (tasks that pass them set C(no_log)); C(berth_env.secret) first, then
    C(berth_roles.<role>.env.secret) over it.
author:
  - berth.deploy maintainers (@berth-deploy)
positional: berth_env, berth_roles
options:
  _input:
    description: Role names.
    type: list
    elements: str
    required: true
  berth_env:
    description: The C(berth_env) variable (or an empty mapping).
    type: raw
    required: true
  berth_roles:
    description: The C(berth_roles) variable.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Release every role of this host
  berth.deploy.release:
    secret_env: "{{ berth_plan.host_roles | berth.deploy.secret_env(berth_env | default({}), berth_roles) }}"
    # ...
"""

RETURN = r"""
_value:
  description: Role name -> mapping of secret variable name -> value.
  type: dict
"""


def _secret_of(env: t.Any) -> dict[str, t.Any]:
    secret = env.get("secret") if isinstance(env, t.Mapping) else None
    return dict(secret) if isinstance(secret, t.Mapping) else {}


def secret_env(roles: t.Iterable[str], berth_env: t.Any, berth_roles: t.Any) -> dict[str, dict[str, t.Any]]:
    common = _secret_of(berth_env)
    role_settings = berth_roles if isinstance(berth_roles, t.Mapping) else {}
    found = {}
    for role in roles:
        settings = role_settings.get(role)
        own = _secret_of(settings.get("env")) if isinstance(settings, t.Mapping) else {}
        found[role] = {**common, **own}
    return found


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"secret_env": secret_env}
