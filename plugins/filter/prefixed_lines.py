# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's log lines, each prefixed with where it comes from (logs.yml -e logs_follow=true)."""
from __future__ import annotations

import typing as t

DOCUMENTATION = r"""
name: prefixed_lines
short_description: A container's log lines, each prefixed with the host and the container
version_added: 0.2.0
description:
  - Takes one entry of M(berth.deploy.app_logs_info)'s C(containers) and returns its C(lines), each as
    C(<host> <container> | <line>), so the lines of several hosts and containers printed together stay legible.
author:
  - berth.deploy maintainers (@berth-deploy)
positional: host
options:
  _input:
    description: An entry of C(containers) (C(name), C(lines)).
    type: dict
    required: true
  host:
    description: The host the container runs on.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Print the new lines
  ansible.builtin.debug:
    msg: "{{ found.containers | map('berth.deploy.prefixed_lines', inventory_hostname) | flatten }}"
"""

RETURN = r"""
_value:
  description: The prefixed lines, oldest first.
  type: list
  elements: str
"""


def prefixed_lines(container: t.Mapping[str, t.Any], host: str) -> list[str]:
    return [f"{host} {container.get('name', '?')} | {line}" for line in container.get("lines") or []]


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"prefixed_lines": prefixed_lines}
