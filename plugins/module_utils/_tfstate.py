# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform state -> servers: reading a state, one server per resource instance, provider mappings.

Two documents describe the same thing: a state (format version 4, what ``terraform state pull``
prints) lists resources, each with instances, one per ``count`` index or ``for_each`` key; the
output of ``terraform show -json`` nests the instances in modules and marks sensitive values in a
parallel ``sensitive_values`` tree. Both become a list of ``Instance``s with sensitive values
removed. Every instance of a mapped resource type is one server, keyed by its full address
(``module.app[0].aws_instance.web["blue"]``). Where a provider keeps the name, addresses and tags
is data (``MAPPINGS``), not code: a mapping names an attribute path for each (``->`` follows a
resource id to the resource it names, as Azure's NIC and public IP), and users add their own
types the same way.
"""
from __future__ import annotations

import functools
import json
import re
import typing as t
from dataclasses import dataclass, field

SUPPORTED_VERSION = 4
REFERENCE = "->"


class StateError(ValueError):
    """A state that cannot be read; the message names the source and what to do."""


@dataclass(frozen=True)
class Mapping:
    """Attribute paths (dots and list indexes: ``network_interface.0.network_ip``) of one resource type.

    ``a.0 -> b`` reads ``a.0`` as a resource id and goes on at ``b`` of the instance with that id.
    """
    name: tuple[str, ...]
    public: tuple[str, ...]
    private: tuple[str, ...]
    tags: tuple[str, ...] = ()


def _paths(*paths: str) -> tuple[str, ...]:
    return paths


AZURE_NIC = "network_interface_ids.0 -> ip_configuration.0"
# resource type -> where its name, public and private IPv4 address and tags (or labels) are
MAPPINGS: dict[str, Mapping] = {
    "aws_instance": Mapping(_paths("tags.Name"), _paths("public_ip"), _paths("private_ip"), _paths("tags")),
    "hcloud_server": Mapping(_paths("name"), _paths("ipv4_address"), _paths("network.0.ip"), _paths("labels")),
    "digitalocean_droplet": Mapping(_paths("name"), _paths("ipv4_address"), _paths("ipv4_address_private"),
                                    _paths("tags")),
    "google_compute_instance": Mapping(_paths("name"), _paths("network_interface.0.access_config.0.nat_ip"),
                                       _paths("network_interface.0.network_ip"), _paths("labels")),
    "azurerm_linux_virtual_machine": Mapping(
        _paths("computer_name", "name"),
        _paths("public_ip_address", f"{AZURE_NIC}.public_ip_address_id -> ip_address"),
        _paths("private_ip_address", f"{AZURE_NIC}.private_ip_address"), _paths("tags")),
    "linode_instance": Mapping(_paths("label"), _paths("ip_address"), _paths("private_ip_address"), _paths("tags")),
    "vultr_instance": Mapping(_paths("label", "hostname"), _paths("main_ip"), _paths("internal_ip"), _paths("tags")),
    "openstack_compute_instance_v2": Mapping(_paths("name"), _paths("access_ip_v4", "network.0.fixed_ip_v4"),
                                             _paths("network.0.fixed_ip_v4"), _paths("metadata", "tags")),
    "scaleway_instance_server": Mapping(_paths("name"), _paths("public_ip", "public_ips.0.address"),
                                        _paths("private_ip"), _paths("tags")),
    "oci_core_instance": Mapping(_paths("display_name"), _paths("public_ip"), _paths("private_ip"),
                                 _paths("freeform_tags")),
    # Proxmox (Telmate and bpg providers) and libvirt know one address per interface, public or not;
    # bpg lists the loopback interface first
    "proxmox_vm_qemu": Mapping(_paths("name"), _paths("default_ipv4_address", "ssh_host"),
                               _paths("default_ipv4_address", "ssh_host"), _paths("tags")),
    "proxmox_virtual_environment_vm": Mapping(_paths("name"), _paths("ipv4_addresses.1.0"),
                                              _paths("ipv4_addresses.1.0"), _paths("tags")),
    "libvirt_domain": Mapping(_paths("name"), _paths("network_interface.0.addresses.0"),
                              _paths("network_interface.0.addresses.0"), _paths("metadata")),
}


@dataclass
class Instance:
    """One instance of a resource, whatever document it came from; sensitive values removed."""
    address: str  # the instance's full address
    mode: str  # managed or data
    type: str
    module: str
    index: t.Any  # count index (int), for_each key (str) or None
    attributes: dict[str, t.Any]


@dataclass
class Document:
    source: str
    instances: list[Instance]
    outputs: dict[str, t.Any]  # name -> value, the non-sensitive ones
    sensitive_outputs: dict[str, t.Any]  # name -> value


@dataclass
class Server:
    address: str
    type: str
    module: str
    index: t.Any
    name: str
    public_ip: str
    private_ip: str
    tags: dict[str, str]
    attributes: dict[str, t.Any] = field(default_factory=dict)


def parse(text: str, source: str) -> Document:
    """A state (version 4) or ``terraform show -json`` output; refuse anything else, naming ``source``."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StateError(f"{source}: not a Terraform state (invalid JSON: {error})") from None
    if isinstance(document, dict) and "format_version" in document and "version" not in document:
        return _parse_show(document, source)
    if not isinstance(document, dict) or "version" not in document:
        raise StateError(f"{source}: not a Terraform state (no 'version' key)")
    if document["version"] != SUPPORTED_VERSION:
        raise StateError(f"{source}: state format version {document['version']!r} is unsupported (only "
                         f"{SUPPORTED_VERSION}): run `terraform state pull` with Terraform 0.12 or newer to get a "
                         "version 4 state")
    if not isinstance(document.get("resources") or [], list):
        raise StateError(f"{source}: 'resources' is not a list")
    plain, sensitive = _split_outputs(document.get("outputs"))
    return Document(source, list(_state_instances(document)), plain, sensitive)


def _state_instances(state: t.Mapping[str, t.Any]) -> t.Iterator[Instance]:
    for resource in state.get("resources") or []:
        for instance in resource.get("instances") or []:
            index = instance.get("index_key")
            yield Instance(
                address=instance_address(resource, index),
                mode=resource.get("mode", "managed"),
                type=resource.get("type", ""),
                module=resource.get("module", ""),
                index=index,
                attributes=without_sensitive(instance.get("attributes") or {},
                                             instance.get("sensitive_attributes") or []),
            )


def _parse_show(document: t.Mapping[str, t.Any], source: str) -> Document:
    values = document.get("values") or {}  # a state with no resources has no values
    if not isinstance(values, dict):
        raise StateError(f"{source}: not `terraform show -json` output ('values' is not an object)")
    plain, sensitive = _split_outputs(values.get("outputs"))
    return Document(source, list(_show_instances(values.get("root_module") or {}, "")), plain, sensitive)


def _show_instances(module: t.Mapping[str, t.Any], module_address: str) -> t.Iterator[Instance]:
    for resource in module.get("resources") or []:
        yield Instance(
            address=resource.get("address") or instance_address(
                {**resource, "module": module_address}, resource.get("index")),
            mode=resource.get("mode", "managed"),
            type=resource.get("type", ""),
            module=module_address,
            index=resource.get("index"),
            attributes=without_marked(resource.get("values") or {}, resource.get("sensitive_values") or {}),
        )
    for child in module.get("child_modules") or []:
        yield from _show_instances(child, child.get("address", ""))


def _split_outputs(outputs: t.Any) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    plain: dict[str, t.Any] = {}
    sensitive: dict[str, t.Any] = {}
    for name, output in (outputs or {}).items() if isinstance(outputs, dict) else ():
        if isinstance(output, dict):
            (sensitive if output.get("sensitive") else plain)[str(name)] = output.get("value")
    return plain, sensitive


def instance_address(resource: t.Mapping[str, t.Any], index: t.Any) -> str:
    """``[module.]type.name[index]``: ``[0]`` for count, ``["key"]`` for for_each."""
    prefix = f"{resource['module']}." if resource.get("module") else ""
    data = "data." if resource.get("mode") == "data" else ""
    suffix = "" if index is None else f"[{index}]" if isinstance(index, int) else f"[{json.dumps(index)}]"
    return f"{prefix}{data}{resource['type']}.{resource['name']}{suffix}"


def servers(document: Document, mappings: t.Mapping[str, Mapping]) -> list[Server]:
    """Every instance of a managed resource whose type has a mapping, in document order."""
    by_id = _ById(document.instances)
    found = []
    for instance in document.instances:
        mapping = mappings.get(instance.type)
        if instance.mode != "managed" or mapping is None:
            continue
        attributes = instance.attributes
        found.append(Server(
            address=instance.address,
            type=instance.type,
            module=instance.module,
            index=instance.index,
            name=_text(first(attributes, mapping.name, by_id)),
            public_ip=_text(first(attributes, mapping.public, by_id)),
            private_ip=_text(first(attributes, mapping.private, by_id)),
            tags=tags_of(first(attributes, mapping.tags, by_id)),
            attributes=attributes,
        ))
    return found


class _ById:
    """Managed instances by their ``id`` attribute, indexed on first use (most mappings never follow ids)."""

    def __init__(self, instances: list[Instance]) -> None:
        self._instances = instances
        self._index: dict[str, dict[str, t.Any]] | None = None

    def get(self, resource_id: t.Any) -> dict[str, t.Any] | None:
        if self._index is None:
            self._index = {str(instance.attributes["id"]): instance.attributes for instance in self._instances
                           if instance.mode == "managed" and instance.attributes.get("id")}
        return self._index.get(str(resource_id)) if isinstance(resource_id, (str, int)) else None


def lookup(attributes: t.Any, path: str, by_id: _ById | None = None) -> t.Any:
    """The value at a dotted path (``network.0.ip``, ``nic_ids.0 -> ip``), or None."""
    value = attributes
    for number, hop in enumerate(_compiled(path)):
        if number:
            value = by_id.get(value) if by_id is not None else None
        for part in hop:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
    return value


@functools.lru_cache(maxsize=1024)
def _compiled(path: str) -> tuple[tuple[str, ...], ...]:
    """``a.0 -> b`` -> ``(("a", "0"), ("b",))``: parsed once per path, not once per instance."""
    return tuple(tuple(hop.strip().split(".")) for hop in path.split(REFERENCE))


def first(attributes: t.Mapping[str, t.Any], paths: t.Iterable[str], by_id: _ById | None = None) -> t.Any:
    """The value of the first path that has a non-empty one."""
    for path in paths:
        value = lookup(attributes, path, by_id)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value: t.Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


TAG_SEPARATOR = re.compile(r"[:=]")
TAG_LIST_SEPARATOR = re.compile(r"[;,\s]+")


def tags_of(value: t.Any) -> dict[str, str]:
    """Tags or labels as a mapping: a map as is; a list (or a ``;``/``,`` separated string, as Proxmox
    keeps them) of ``key:value``/``key=value``/``flag`` items."""
    if isinstance(value, dict):
        return {str(key): _text(item) for key, item in value.items()}
    if isinstance(value, str):
        value = [item for item in TAG_LIST_SEPARATOR.split(value) if item]
    if isinstance(value, list):
        tags = {}
        for item in value:
            parts = TAG_SEPARATOR.split(str(item), maxsplit=1)
            tags[parts[0]] = parts[1] if len(parts) == 2 else ""
        return tags
    return {}


def without_sensitive(attributes: dict[str, t.Any], sensitive: list[t.Any]) -> dict[str, t.Any]:
    """``attributes`` without the values a state's ``sensitive_attributes`` paths name.

    A path is a list of steps, ``{"type": "get_attr", "value": "user_data"}`` or ``{"type": "index",
    "value": {"value": 0, "type": "number"}}``. A path that cannot be followed removes its whole
    top-level attribute: leaving out too much is safe, leaving a secret in is not. Copies only along
    the paths; the rest is shared with the state (nothing here mutates it).
    """
    cleaned = attributes
    for path in sensitive:
        steps = [_step_key(step) for step in path] if isinstance(path, list) else []
        if steps and isinstance(steps[0], str) and steps[0] in cleaned:
            cleaned = _removed(cleaned, steps if _reachable(cleaned, steps) else steps[:1])
    return cleaned


def _step_key(step: t.Any) -> t.Any:
    value = step.get("value") if isinstance(step, dict) else None
    return value.get("value") if isinstance(value, dict) else value


def _removed(value: t.Any, steps: list[t.Any]) -> t.Any:
    """A copy of ``value`` without what ``steps`` (a path that exists in it) leads to; a list item becomes None."""
    head, rest = steps[0], steps[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if rest:
        copy[head] = _removed(value[head], rest)
    elif isinstance(copy, dict):
        del copy[head]
    else:
        copy[head] = None
    return copy


def _reachable(value: t.Any, steps: list[t.Any]) -> bool:
    for step in steps:
        if isinstance(value, dict) and isinstance(step, str) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        else:
            return False
    return True


def without_marked(values: t.Any, marks: t.Any) -> t.Any:
    """``values`` without what ``marks`` (``terraform show -json``'s ``sensitive_values``) marks ``true``."""
    if marks is True:
        return None
    if isinstance(values, dict) and isinstance(marks, dict) and marks:
        return {key: without_marked(item, marks.get(key)) for key, item in values.items() if marks.get(key) is not True}
    if isinstance(values, list) and isinstance(marks, list) and marks:
        return [without_marked(item, marks[number] if number < len(marks) else None)
                for number, item in enumerate(values)]
    return values


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
