# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retained version rollback.yml (no berth_version) or app.yml (app_action=start) serves again."""
from __future__ import annotations

import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._ops import rollback_target, start_target

DOCUMENTATION = r"""
name: retained_version
short_description: The retained version to serve again, the same on every host
version_added: 0.2.0
description:
  - Reads the M(berth.deploy.container_info) results of every host's roles and returns one version they agree on.
  - V(previous) (C(playbooks/rollback.yml) without C(berth_version)) - per host, the newest retained version that is
    not running, the one that served before the last deploy.
  - V(newest) (C(playbooks/app.yml) C(app_action=start)) - each role's newest container's version.
author:
  - berth.deploy maintainers (@berth-deploy)
positional: which
options:
  _input:
    description: Host -> the list of its M(berth.deploy.container_info) results (one per role).
    type: dict
    required: true
  which:
    description: Which retained version.
    type: str
    choices: [previous, newest]
    default: previous
"""

EXAMPLES = r"""
- name: Find the previous version
  ansible.builtin.set_fact:
    target: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['found', 'results'])))
                | berth.deploy.retained_version('previous') }}"
"""

RETURN = r"""
_value:
  description: C({version, problem}); C(version) is null when C(problem) says why.
  type: dict
"""


def retained_version(found: t.Mapping[str, t.Any], which: str = "previous") -> dict[str, t.Any]:
    if which not in ("previous", "newest"):
        raise ValueError(f"retained_version: which is previous or newest, not {which!r}")
    return rollback_target(found) if which == "previous" else start_target(found)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"retained_version": retained_version}
