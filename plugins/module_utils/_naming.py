# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container names and labels: the only code that knows the naming scheme.

An app container is named ``<service>-<role>[-<destination>]-<version>-<hash>`` (``<hash>``: the
first characters of its spec hash, so each spec booted gets a name of its own) and carries the
labels ``berth.service``, ``berth.role``, ``berth.destination``, ``berth.version`` and
``berth.spec-hash``. Labels are authoritative; names are for humans and for Docker DNS.

A one-off container (``app_exec``) is named ``<service>-<role>[-<destination>]-exec-<stamp>`` and
carries ``berth.exec-role`` instead of ``berth.role``: it belongs to the service (so removing the
service removes it) but never counts as one of the role's versions.

An accessory (a database, a cache: one long-lived container, no versions) is named
``<service>-<accessory>[-<destination>]`` and carries ``berth.accessory`` and ``berth.accessory-of``
(the service) instead of ``berth.service``: app operations (prune, remove, status) never touch it.
"""
from __future__ import annotations

import re
import typing as t

LABEL_PREFIX = "berth."
SERVICE_LABEL = "berth.service"
ROLE_LABEL = "berth.role"
DESTINATION_LABEL = "berth.destination"
VERSION_LABEL = "berth.version"
SPEC_HASH_LABEL = "berth.spec-hash"
EXEC_ROLE_LABEL = "berth.exec-role"
ACCESSORY_LABEL = "berth.accessory"
ACCESSORY_OF_LABEL = "berth.accessory-of"

# Whole values only (re.fullmatch): "$" would also match before a final newline.
NAME_PATTERN = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
VERSION_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def role_prefix(service: str, role: str, destination: str = "") -> str:
    """The part of a container name shared by every version of one role."""
    parts = [service, role] + ([destination] if destination else [])
    return "-".join(parts)


def container_name(service: str, role: str, version: str, destination: str = "") -> str:
    return f"{role_prefix(service, role, destination)}-{version}"


BOOT_HASH_LENGTH = 7


def boot_name(service: str, role: str, version: str, spec_hash: str, destination: str = "") -> str:
    """The name of the container that runs one spec of a role's version."""
    return f"{container_name(service, role, version, destination)}-{spec_hash[:BOOT_HASH_LENGTH]}"


def route_name(service: str, role: str, destination: str = "") -> str:
    """Name of the proxy route (router and service) for one role."""
    return role_prefix(service, role, destination)


def labels(service: str, role: str, version: str, destination: str = "") -> dict[str, str]:
    return {
        SERVICE_LABEL: service,
        ROLE_LABEL: role,
        DESTINATION_LABEL: destination,
        VERSION_LABEL: version,
    }


def role_filter(service: str, role: str, destination: str = "") -> list[str]:
    """Docker label filters selecting every container (any version) of one role."""
    return [
        f"{SERVICE_LABEL}={service}",
        f"{ROLE_LABEL}={role}",
        f"{DESTINATION_LABEL}={destination}",
    ]


def exec_container_name(service: str, role: str, stamp: str, destination: str = "") -> str:
    """Name of a one-off container of ``role``; ``stamp`` makes it unique (a UTC time and a few random characters)."""
    return f"{role_prefix(service, role, destination)}-exec-{stamp}"


def exec_labels(service: str, role: str, version: str, destination: str = "") -> dict[str, str]:
    """Labels of a one-off container: the service's, but no ``berth.role`` (it is not a version of the role)."""
    return {
        SERVICE_LABEL: service,
        EXEC_ROLE_LABEL: role,
        DESTINATION_LABEL: destination,
        VERSION_LABEL: version,
    }


def accessory_labels(service: str, accessory: str, destination: str = "") -> dict[str, str]:
    """Labels of an accessory container: its name and its service, but no ``berth.service``."""
    return {ACCESSORY_LABEL: accessory, ACCESSORY_OF_LABEL: service, DESTINATION_LABEL: destination}


def service_filter(service: str, destination: str = "") -> list[str]:
    """Docker label filters selecting every container of a service and destination (all roles, one-offs too)."""
    return [f"{SERVICE_LABEL}={service}", f"{DESTINATION_LABEL}={destination}"]


def role_of(container_labels: t.Mapping[str, str] | None) -> str | None:
    """The role of an app container, or of the role a one-off container ran for."""
    labels_ = container_labels or {}
    return labels_.get(ROLE_LABEL) or labels_.get(EXEC_ROLE_LABEL)


def is_exec(container_labels: t.Mapping[str, str] | None) -> bool:
    return EXEC_ROLE_LABEL in (container_labels or {})


def version_of(container_labels: t.Mapping[str, str] | None) -> str | None:
    return (container_labels or {}).get(VERSION_LABEL)


def is_valid_name(value: str) -> bool:
    return bool(NAME_PATTERN.fullmatch(value))


def is_valid_version(value: str) -> bool:
    return bool(VERSION_PATTERN.fullmatch(value))
