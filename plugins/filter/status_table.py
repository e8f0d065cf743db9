# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render per-host container_info results as a table (the status playbook's output)."""
from __future__ import annotations

import typing as t

DOCUMENTATION = r"""
name: status_table
short_description: Per host and role, the running version, its health and the retained versions, as table lines
version_added: 0.1.0
description:
  - Takes the play's hosts and C(hostvars); reads each host's registered C(status_roles) loop of
    M(berth.deploy.container_info) results.
  - When hosts have registered C(status_accessories) (a loop of M(berth.deploy.accessory_info) results),
    a second table follows, one line per accessory - its container's status, health and image.
author:
  - berth.deploy maintainers (@berth-deploy)
positional: hostvars
options:
  _input:
    description: Host names, in order.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) of the play.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Table
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts | berth.deploy.status_table(hostvars) }}"
"""

RETURN = r"""
_value:
  description: The table, one string per line, header first.
  type: list
  elements: str
"""

ROW = "{:<20} {:<10} {:<22} {}"


def status_table(hosts: t.Iterable[str], hostvars: t.Mapping[str, t.Any]) -> list[str]:
    hosts = list(hosts)
    lines = [ROW.format("HOST", "ROLE", "RUNNING", "RETAINED (newest first)")]
    for host in hosts:
        for result in (hostvars[host].get("status_roles") or {}).get("results", []):
            running = [item for item in result.get("containers", []) if item.get("status") == "running"]
            shown = ",".join(item["version"] for item in running) or "none"
            health = [item["health"] for item in running if item.get("health")]
            if health:
                shown += f" ({','.join(health)})"
            lines.append(ROW.format(host, result.get("status_role", "?"), shown, " ".join(result.get("retained", []))))
    return lines + canary_lines(hosts, hostvars) + accessory_lines(hosts, hostvars)


def canary_lines(hosts: list[str], hostvars: t.Mapping[str, t.Any]) -> list[str]:
    rows = []
    for host in hosts:
        for route, canary in sorted(((hostvars[host].get("status_canaries") or {}).get("canaries") or {}).items()):
            split = f"{canary['version']} {canary['percent']}%"
            rows.append(ROW.format(host, route, split, f"{100 - canary['percent']}% to {' '.join(canary['stable'])}"))
    return [ROW.format("HOST", "CANARY ROUTE", "CANARY", "THE OTHER CLIENTS"), *rows] if rows else []


def accessory_lines(hosts: list[str], hostvars: t.Mapping[str, t.Any]) -> list[str]:
    rows = []
    for host in hosts:
        for result in (hostvars[host].get("status_accessories") or {}).get("results", []):
            container = result.get("container") or {}
            status = container.get("status", "absent") if result.get("exists") else "absent"
            if container.get("health"):
                status += f" ({container['health']})"
            rows.append(ROW.format(host, result.get("status_accessory", "?"), status, container.get("image", "")))
    return [ROW.format("HOST", "ACCESSORY", "STATUS", "IMAGE"), *rows] if rows else []


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"status_table": status_table}
