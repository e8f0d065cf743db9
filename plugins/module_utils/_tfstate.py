# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform state -> servers: reading a state, one server per resource instance, provider mappings.

Two documents describe the same thing: a state (format version 4, what ``terraform state pull``
prints) lists resources, each with instances, one per ``count`` index or ``for_each`` key; the
output of ``terraform show -json`` nests the instances in modules and marks sensitive values in a
parallel ``sensitive_values`` tree. Both become a list of ``Instance``s with sensitive values
removed: those the document marks and those the provider's schema declares (``SENSITIVE``), which
states of Terraform before 0.15 do not mark. Every instance of a mapped resource type is one
server, keyed by its full address (``module.app[0].aws_instance.web["blue"]``), unless it is a
template. Where a provider keeps the name, addresses and tags is data (``MAPPINGS`` in
``_tfproviders``), not code, and users add their own types the same way.
"""
from __future__ import annotations

import functools
import ipaddress
import json
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.deploy.plugins.module_utils._tfproviders import (
    COMPUTE_WORDS, MAPPINGS, NOT_ADDRESSES, SENSITIVE, SERVICE_WORDS, Mapping)

__all__ = ["MAPPINGS", "Mapping", "StateError", "parse", "servers", "unmapped_servers", "module_lineage"]

SUPPORTED_VERSION = 4
REFERENCE = "->"
BACK_REFERENCE = "<-"
EMPTY: tuple[t.Any, ...] = (None, "", [], {})


class StateError(ValueError):
    """A state that cannot be read; the message names the source and what to do."""


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
        if "planned_values" in document or "resource_changes" in document:
            raise StateError(f"{source}: this is a plan (`terraform show -json PLANFILE`), not a state: a plan's "
                             "servers may not exist; read the state (`terraform show -json` without a plan file, "
                             "or the state file)")
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
                attributes=without_provider_secrets(
                    without_sensitive(instance.get("attributes") or {}, instance.get("sensitive_attributes") or []),
                    resource.get("type", "")),
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
            attributes=without_provider_secrets(
                without_marked(resource.get("values") or {}, resource.get("sensitive_values") or {}),
                resource.get("type", "")),
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
    """Every instance of a managed resource whose type has a mapping, templates aside, in document order."""
    index = _Index(document.instances)
    found = []
    for instance in document.instances:
        mapping = mappings.get(instance.type)
        if instance.mode != "managed" or mapping is None:
            continue
        attributes = instance.attributes
        if any(_true(lookup(attributes, path, index)) for path in mapping.template):
            continue
        found.append(Server(
            address=instance.address,
            type=instance.type,
            module=instance.module,
            index=instance.index,
            name=_text(first(attributes, mapping.name, index)),
            public_ip=first_address(attributes, mapping.public, index),
            private_ip=first_address(attributes, mapping.private, index),
            tags=tags_of(first(attributes, mapping.tags, index)),
            attributes=attributes,
        ))
    return found


def unmapped_servers(document: Document, mappings: t.Mapping[str, Mapping]) -> dict[str, int]:
    """Resource types without a mapping that look like servers -> how many instances of each the document has.

    Looks like a server: the type's name ends in a compute word (``lightsail_instance``,
    ``windows_virtual_machine``), has no managed-service word, and an instance holds an IP address.
    """
    candidates: dict[str, list[Instance]] = {}
    for instance in document.instances:
        if instance.mode == "managed" and instance.type not in mappings and _compute_name(instance.type):
            candidates.setdefault(instance.type, []).append(instance)
    return {resource_type: len(instances) for resource_type, instances in candidates.items()
            if any(_holds_address(instance.attributes) for instance in instances)}


def _compute_name(resource_type: str) -> bool:
    words = resource_type.split("_")
    if re.fullmatch(r"v[0-9]+", words[-1]):
        words = words[:-1]
    return len(words) > 1 and words[-1] in COMPUTE_WORDS and not SERVICE_WORDS.intersection(words)


def _holds_address(value: t.Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return _is_ip(address_of(value))
    if depth < 4 and isinstance(value, (dict, list)):
        return any(_holds_address(item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def _is_ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def module_lineage(module: str) -> list[str]:
    """A module's address and its parents', each module call also without its count/for_each key:
    ``module.app.module.edge["eu"]`` -> ``module.app``, ``module.app.module.edge``, ``module.app.module.edge["eu"]``."""
    found: list[str] = []
    prefix = ""
    for step in MODULE_STEP.findall(module):
        call = step.split("[", 1)[0]
        found.extend((prefix + call, prefix + step))
        prefix += step + "."
    return list(dict.fromkeys(found)) if found else [module] if module else []


MODULE_STEP = re.compile(r'module\.[^.\["]+(?:\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\])?')


def _true(value: t.Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


class _Index:
    """Managed instances by their ``id``, and by what they point at (``<-``); each table built on first use."""

    def __init__(self, instances: list[Instance]) -> None:
        self._instances = instances
        self._ids: dict[str, dict[str, t.Any]] | None = None
        self._referring: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, t.Any]]] = {}

    def get(self, resource_id: t.Any) -> dict[str, t.Any] | None:
        if self._ids is None:
            self._ids = {str(instance.attributes["id"]): instance.attributes for instance in self._instances
                         if instance.mode == "managed" and instance.attributes.get("id")}
        return self._ids.get(str(resource_id)) if _is_key(resource_id) else None

    def referring(self, resource_type: str, reference: tuple[str, ...], target: t.Any) -> dict[str, t.Any] | None:
        """The first ``resource_type`` instance whose ``reference`` path holds ``target``."""
        table = self._referring.get((resource_type, reference))
        if table is None:
            table = {}
            for instance in self._instances:
                if instance.mode == "managed" and instance.type == resource_type:
                    value = _walk(instance.attributes, reference)
                    if _is_key(value):
                        table.setdefault(str(value), instance.attributes)
            self._referring[(resource_type, reference)] = table
        return table.get(str(target)) if _is_key(target) else None


def _is_key(value: t.Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and value != ""


@dataclass(frozen=True)
class _Hop:
    kind: str  # "" (the instance itself), REFERENCE or BACK_REFERENCE
    parts: tuple[str, ...]  # the path read after the hop
    type: str = ""  # BACK_REFERENCE: the type of the instance that points here ...
    reference: tuple[str, ...] = ()  # ... and its attribute that does


HOP = re.compile(r"\s*(->|<-)\s*")
BACK_HOP = re.compile(r"([A-Za-z0-9_-]+)\[([^\]\s]+)\](?:\.(\S+))?")


def lookup(attributes: t.Any, path: str, index: _Index | None = None) -> t.Any:
    """The value at a path (``network.0.ip``, ``nic_ids.0 -> ip``, ``<- eip[instance].ip``), or None."""
    value = attributes
    for hop in compiled(path):
        if hop.kind == REFERENCE:
            value = index.get(value) if index is not None else None
        elif hop.kind == BACK_REFERENCE:
            value = index.referring(hop.type, hop.reference, value) if index is not None else None
        value = _walk(value, hop.parts)
        if value is None:
            return None
    return value


def _walk(value: t.Any, parts: tuple[str, ...]) -> t.Any:
    for number, part in enumerate(parts):
        if part == "*":
            items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
            found = (_walk(item, parts[number + 1:]) for item in items)
            return next((item for item in found if item not in EMPTY), None)
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@functools.lru_cache(maxsize=1024)
def compiled(path: str) -> tuple[_Hop, ...]:
    """``a.0 -> b`` -> hops ``a.0`` then ``-> b``; ``<- t[ref].b`` starts at the instance's ``id``.
    Parsed once per path, not once per instance; StateError for a path that cannot be parsed."""
    pieces = HOP.split(path.strip())
    hops = [_Hop("", _parts(pieces[0]) if pieces[0] else ("id",))]
    for kind, text in zip(pieces[1::2], pieces[2::2]):
        match = BACK_HOP.fullmatch(text)
        if kind == REFERENCE:
            hops.append(_Hop(kind, _parts(text)))
        elif match:
            hops.append(_Hop(kind, _parts(match[3] or ""), match[1], _parts(match[2])))
        else:
            raise StateError(f"path {path!r}: after {BACK_REFERENCE} comes TYPE[ATTRIBUTE].PATH, "
                             f"e.g. <- openstack_compute_floatingip_associate_v2[instance_id].floating_ip")
    return tuple(hops)


def _parts(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.strip().split(".") if part)


def first(attributes: t.Mapping[str, t.Any], paths: t.Iterable[str], index: _Index | None = None) -> t.Any:
    """The value of the first path that has a non-empty one."""
    for path in paths:
        value = lookup(attributes, path, index)
        if value not in EMPTY:
            return value
    return None


def first_address(attributes: t.Mapping[str, t.Any], paths: t.Iterable[str], index: _Index | None = None) -> str:
    """The first path's address: ``10.0.0.5/24`` gives ``10.0.0.5``; ``dhcp`` and the like are no address."""
    for path in paths:
        address = address_of(lookup(attributes, path, index))
        if address:
            return address
    return ""


def address_of(value: t.Any) -> str:
    text = _text(value).strip()
    if "/" in text:
        try:
            return str(ipaddress.ip_interface(text).ip)
        except ValueError:
            return ""
    return "" if text.lower() in NOT_ADDRESSES else text


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


def without_provider_secrets(attributes: dict[str, t.Any], resource_type: str) -> dict[str, t.Any]:
    """``attributes`` without what the provider declares sensitive for ``resource_type`` (``SENSITIVE``)."""
    cleaned = attributes
    for path in SENSITIVE.get(resource_type, ()):
        cleaned = _without_path(cleaned, path.split("."))
    return cleaned


def _without_path(value: t.Any, parts: list[str]) -> t.Any:
    """A copy of ``value`` without what ``parts`` (``*``: every item) lead to; ``value`` itself if nothing is there."""
    head, rest = parts[0], parts[1:]
    if head == "*" and rest and isinstance(value, (dict, list)):
        if isinstance(value, dict):
            return {key: _without_path(item, rest) for key, item in value.items()}
        return [_without_path(item, rest) for item in value]
    if not isinstance(value, dict) or head not in value:
        return value
    copy = dict(value)
    if rest:
        copy[head] = _without_path(value[head], rest)
    else:
        del copy[head]
    return copy


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
    """``{type: {name: PATH|[PATH...], public: ..., private: ..., tags: ..., template: ...}}`` from the inventory file."""
    if not isinstance(value, dict):
        raise StateError("mappings: not a mapping of resource type to {name, public, private, tags, template}")
    mappings = {}
    for resource_type, spec in value.items():
        if not isinstance(spec, dict) or not set(spec) <= set(MAPPING_KEYS):
            raise StateError(f"mappings.{resource_type}: not a mapping with {', '.join(MAPPING_KEYS)} "
                             "(attribute paths like network.0.ip)")
        paths = {key: tuple([spec[key]] if isinstance(spec.get(key), str) else spec.get(key) or ())
                 for key in MAPPING_KEYS}
        for key, items in paths.items():
            for path in items:
                if not isinstance(path, str):
                    raise StateError(f"mappings.{resource_type}.{key}: {path!r} is not an attribute path")
                try:
                    compiled(path)
                except StateError as error:
                    raise StateError(f"mappings.{resource_type}.{key}: {error}") from None
        mappings[str(resource_type)] = Mapping(**paths)
    return mappings


MAPPING_KEYS = ("name", "public", "private", "tags", "template")
