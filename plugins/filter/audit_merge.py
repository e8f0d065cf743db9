# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit logs of several hosts as one, oldest first (the audit playbook's output)."""
from __future__ import annotations

import typing as t

DOCUMENTATION = r"""
name: audit_merge
short_description: The audit log lines of several hosts, merged oldest first, each with its host
version_added: 0.2.0
description:
  - Takes host -> that host's audit log lines (C(<UTC time> key=value ...), as M(berth.deploy.release) and
    M(berth.deploy.audit) write them) and returns one list, ordered by time, the host after the time.
author:
  - berth.deploy maintainers (@berth-deploy)
options:
  _input:
    description: Host -> its lines.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the audit log of every host
  ansible.builtin.debug:
    msg: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['audit_read', 'stdout_lines'])))
             | berth.deploy.audit_merge }}"
"""

RETURN = r"""
_value:
  description: C(<time> <host> <fields>) lines, oldest first (lines of one host keep their order).
  type: list
  elements: str
"""


def audit_merge(found: t.Mapping[str, t.Any]) -> list[str]:
    lines = []
    for host, host_lines in found.items():
        for index, text in enumerate(host_lines or []):
            when, _space, rest = str(text).partition(" ")
            lines.append((when, host, index, f"{when} {host} {rest}".rstrip()))
    return [line for _when, _host, _index, line in sorted(lines)]


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"audit_merge": audit_merge}
