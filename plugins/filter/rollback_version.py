# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version rollback.yml returns to when no berth_version is given."""
from __future__ import annotations

import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._ops import rollback_target

DOCUMENTATION = r"""
name: rollback_version
short_description: The version that served before the last deploy, the same on every host
version_added: 0.2.0
description:
  - Reads the M(berth.deploy.container_info) results of every host's roles (C(playbooks/rollback.yml) without
    C(berth_version)) and returns, per host, the newest retained version that is not running; they must agree.
author:
  - berth.deploy maintainers (@berth-deploy)
options:
  _input:
    description: Host -> the list of its M(berth.deploy.container_info) results (one per role).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Find the previous version
  ansible.builtin.set_fact:
    target: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['found', 'results'])))
                | berth.deploy.rollback_version }}"
"""

RETURN = r"""
_value:
  description: C({version, problem}); C(version) is null when C(problem) says why.
  type: dict
"""


def rollback_version(found: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return rollback_target(found)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"rollback_version": rollback_version}
