# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform state -> servers: reading a state, one server per resource instance, provider mappings.

A state (format version 4, what ``terraform state pull`` prints) lists resources; each resource has
instances, one per ``count`` index or ``for_each`` key. Every instance of a mapped resource type is
one server, keyed by its full address (``module.app[0].aws_instance.web["blue"]``). Where a
provider keeps the name, addresses and tags is data (``MAPPINGS``), not code: a mapping names an
attribute path for each, and users add their own types the same way.
"""
from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass, field

SUPPORTED_VERSION = 4


class StateError(ValueError):
    """A state that cannot be read; the message names the source and what to do."""


@dataclass(frozen=True)
class Mapping:
    """Attribute paths (dots and list indexes: ``network_interface.0.network_ip``) of one resource type."""
    name: tuple[str, ...]
    public: tuple[str, ...]
    private: tuple[str, ...]
    tags: tuple[str, ...] = ()


def _paths(*paths: str) -> tuple[str, ...]:
    return paths


# resource type -> where its name, public and private IPv4 address and tags (or labels) are
MAPPINGS: dict[str, Mapping] = {
    "aws_instance": Mapping(_paths("tags.Name"), _paths("public_ip"), _paths("private_ip"), _paths("tags")),
    "hcloud_server": Mapping(_paths("name"), _paths("ipv4_address"), _paths("network.0.ip"), _paths("labels")),
    "digitalocean_droplet": Mapping(_paths("name"), _paths("ipv4_address"), _paths("ipv4_address_private"),
                                    _paths("tags")),
    "google_compute_instance": Mapping(_paths("name"), _paths("network_interface.0.access_config.0.nat_ip"),
                                       _paths("network_interface.0.network_ip"), _paths("labels")),
    "linode_instance": Mapping(_paths("label"), _paths("ip_address"), _paths("private_ip_address"), _paths("tags")),
    "vultr_instance": Mapping(_paths("label", "hostname"), _paths("main_ip"), _paths("internal_ip"), _paths("tags")),
    "openstack_compute_instance_v2": Mapping(_paths("name"), _paths("access_ip_v4", "network.0.fixed_ip_v4"),
                                             _paths("network.0.fixed_ip_v4"), _paths("metadata", "tags")),
    "scaleway_instance_server": Mapping(_paths("name"), _paths("public_ip", "public_ips.0.address"),
                                        _paths("private_ip"), _paths("tags")),
    "oci_core_instance": Mapping(_paths("display_name"), _paths("public_ip"), _paths("private_ip"),
                                 _paths("freeform_tags")),
}


@dataclass
class Server:
    address: str  # the instance's full address
    type: str
    module: str
    index: t.Any  # count index (int), for_each key (str) or None
    name: str
    public_ip: str
    private_ip: str
    tags: dict[str, str]
    attributes: dict[str, t.Any] = field(default_factory=dict)  # sensitive values removed


def load_state(text: str, source: str) -> dict[str, t.Any]:
    """Parse a state document; refuse what is not a version 4 state, naming ``source``."""
    try:
        state = json.loads(text)
    except ValueError as error:
        raise StateError(f"{source}: not a Terraform state (invalid JSON: {error})") from None
    if not isinstance(state, dict) or "version" not in state:
        raise StateError(f"{source}: not a Terraform state (no 'version' key)")
    if state["version"] != SUPPORTED_VERSION:
        raise StateError(f"{source}: state format version {state['version']!r} is unsupported (only {SUPPORTED_VERSION}): "
                         "run `terraform state pull` with Terraform 0.12 or newer to get a version 4 state")
    if not isinstance(state.get("resources", []), list):
        raise StateError(f"{source}: 'resources' is not a list")
    return state


def instance_address(resource: t.Mapping[str, t.Any], index: t.Any) -> str:
    """``[module.]type.name[index]``: ``[0]`` for count, ``["key"]`` for for_each."""
    prefix = f"{resource['module']}." if resource.get("module") else ""
    data = "data." if resource.get("mode") == "data" else ""
    suffix = "" if index is None else f"[{index}]" if isinstance(index, int) else f"[{json.dumps(index)}]"
    return f"{prefix}{data}{resource['type']}.{resource['name']}{suffix}"


def servers(state: t.Mapping[str, t.Any], mappings: t.Mapping[str, Mapping]) -> list[Server]:
    """Every instance of a managed resource whose type has a mapping, in state order."""
    found = []
    for resource in state.get("resources") or []:
        mapping = mappings.get(resource.get("type", ""))
        if resource.get("mode", "managed") != "managed" or mapping is None:
            continue
        for instance in resource.get("instances") or []:
            attributes = without_sensitive(instance.get("attributes") or {}, instance.get("sensitive_attributes") or [])
            index = instance.get("index_key")
            found.append(Server(
                address=instance_address(resource, index),
                type=resource["type"],
                module=resource.get("module", ""),
                index=index,
                name=_text(first(attributes, mapping.name)),
                public_ip=_text(first(attributes, mapping.public)),
                private_ip=_text(first(attributes, mapping.private)),
                tags=tags_of(first(attributes, mapping.tags)),
                attributes=attributes,
            ))
    return found


def lookup(attributes: t.Any, path: str) -> t.Any:
    """The value at a dotted path (``network.0.ip``), or None."""
    value = attributes
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def first(attributes: t.Mapping[str, t.Any], paths: t.Iterable[str]) -> t.Any:
    """The value of the first path that has a non-empty one."""
    for path in paths:
        value = lookup(attributes, path)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value: t.Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


TAG_SEPARATOR = re.compile(r"[:=]")


def tags_of(value: t.Any) -> dict[str, str]:
    """Tags or labels as a mapping: a map as is; a list of ``key:value``/``key=value``/``flag`` strings."""
    if isinstance(value, dict):
        return {str(key): _text(item) for key, item in value.items()}
    if isinstance(value, list):
        tags = {}
        for item in value:
            parts = TAG_SEPARATOR.split(str(item), maxsplit=1)
            tags[parts[0]] = parts[1] if len(parts) == 2 else ""
        return tags
    return {}


def without_sensitive(attributes: dict[str, t.Any], sensitive: list[t.Any]) -> dict[str, t.Any]:
    """``attributes`` without the values Terraform marks sensitive (``sensitive_attributes`` paths).

    Copies only along those paths; the rest is shared with the state (nothing here mutates it).
    """
    cleaned = attributes
    for path in sensitive:
        steps = [step.get("value") for step in path if isinstance(step, dict)] if isinstance(path, list) else []
        cleaned = _removed(cleaned, steps)
    return cleaned


def _removed(value: t.Any, steps: list[t.Any]) -> t.Any:
    """A copy of ``value`` without what ``steps`` leads to (a list item becomes None)."""
    if not steps:
        return value
    head, rest = steps[0], steps[1:]
    if isinstance(value, dict) and head in value:
        copy = dict(value)
        if rest:
            copy[head] = _removed(value[head], rest)
        else:
            del copy[head]
        return copy
    if isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        copy = list(value)
        copy[head] = _removed(value[head], rest) if rest else None
        return copy
    return value


def outputs(state: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[str]]:
    """-> (the non-sensitive outputs by name, the names of the sensitive ones)."""
    plain: dict[str, t.Any] = {}
    sensitive: list[str] = []
    for name, output in (state.get("outputs") or {}).items():
        if not isinstance(output, dict):
            continue
        if output.get("sensitive"):
            sensitive.append(str(name))
        else:
            plain[str(name)] = output.get("value")
    return plain, sorted(sensitive)


def user_mappings(value: t.Any) -> dict[str, Mapping]:
    """``{type: {name: PATH|[PATH...], public: ..., private: ..., tags: ...}}`` from the inventory file."""
    if not isinstance(value, dict):
        raise StateError("mappings: not a mapping of resource type to {name, public, private, tags}")
    mappings = {}
    for resource_type, spec in value.items():
        if not isinstance(spec, dict) or not set(spec) <= {"name", "public", "private", "tags"}:
            raise StateError(f"mappings.{resource_type}: not a mapping with name, public, private and tags "
                             "(attribute paths like network.0.ip)")
        paths = {key: tuple([spec[key]] if isinstance(spec.get(key), str) else spec.get(key) or ())
                 for key in ("name", "public", "private", "tags")}
        mappings[str(resource_type)] = Mapping(paths["name"], paths["public"], paths["private"], paths["tags"])
    return mappings
