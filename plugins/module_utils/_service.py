# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""All containers of a service (and destination) on one host, across roles: prune and remove."""
from __future__ import annotations

import typing as t

from ansible_collections.berth.deploy.plugins.module_utils import _container, _naming


def service_containers(client: t.Any, service: str, destination: str = "") -> list[t.Any]:
    """Every container of the service (all roles, all versions, one-off containers), newest first."""
    found = client.containers.list(all=True, filters={"label": _naming.service_filter(service, destination)})
    return sorted(found, key=lambda item: item.attrs.get("Created", ""), reverse=True)


def labels_of(container: t.Any) -> dict[str, str]:
    return container.attrs.get("Config", {}).get("Labels") or {}


def prune_split(containers: list[t.Any], keep: int) -> tuple[list[t.Any], list[t.Any]]:
    """Split newest-first service containers into (kept, removable).

    Per role the newest ``keep`` containers stay and running ones always stay (as after a deploy),
    also for roles no longer in the configuration. Stopped one-off containers (left by app_exec
    with keep_failed) are removable; running ones belong to a command still running and stay.
    """
    kept: list[t.Any] = []
    removable: list[t.Any] = []
    by_role: dict[str, list[t.Any]] = {}
    for container in containers:
        labels = labels_of(container)
        if _naming.is_exec(labels):
            (kept if _container.is_running(container) else removable).append(container)
        else:
            by_role.setdefault(labels.get(_naming.ROLE_LABEL, ""), []).append(container)
    for role_containers in by_role.values():
        role_kept, role_removable = _container.retained_split(role_containers, keep, active_id=None)
        kept.extend(role_kept)
        removable.extend(role_removable)
    return kept, removable


def roles_of(containers: t.Iterable[t.Any]) -> list[str]:
    """The roles the containers belong to (or ran one-off commands for), sorted."""
    return sorted({role for role in (_naming.role_of(labels_of(item)) for item in containers) if role})
