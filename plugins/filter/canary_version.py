# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version of the running canary, from berth.deploy.canary_info results of every host."""
from __future__ import annotations

import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._canary import running_version

DOCUMENTATION = r"""
name: canary_version
short_description: The version of the canary running on a set of hosts
version_added: 0.2.0
description:
  - Reads the M(berth.deploy.canary_info) results of every host of the run (C(playbooks/canary.yml),
    to promote or abort) and returns the one version their canaries run, or why there is none (none runs,
    several versions run, or it is not the one given).
author:
  - berth.deploy maintainers (@berth-deploy)
positional: given
options:
  _input:
    description: The registered M(berth.deploy.canary_info) results, one per host (skipped ones are ignored).
    type: list
    elements: raw
    required: true
  given:
    description: C(berth_version) when it was passed (it must be the canary's), else null.
    type: str
"""

EXAMPLES = r"""
- name: Take the canary's version
  ansible.builtin.set_fact:
    found: "{{ ansible_play_hosts | map('extract', hostvars, 'canary_found') | berth.deploy.canary_version(berth_plan.version) }}"
"""

RETURN = r"""
_value:
  description: C({version, problem}); C(version) is null when C(problem) says why.
  type: dict
"""


def canary_version(found: t.Iterable[t.Any], given: str | None = None) -> dict[str, t.Any]:
    return running_version(found, given)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"canary_version": canary_version}
