# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""App containers: the desired spec, create/start/stop/remove, and one role's versions.

Idempotence uses a hash of the spec stored in the ``berth.spec-hash`` label. Secret values are
left out of the hash (labels must hold nothing secret); they are compared against the
container's environment instead.

A role's container is found by what it is (spec hash and secret values), never by its name: every
boot of a new spec gets a name of its own (``<service>-<role>-<version>-<hash>``, see
``_naming.boot_name``), so a route that names a container can never end up on another one, and
redeploying the serving version with a changed setting is an ordinary blue/green switch.
"""
from __future__ import annotations

import hashlib
import json
import typing as t
import threading
import time
from dataclasses import dataclass, field

from ansible_collections.berth.deploy.plugins.module_utils import _docker, _naming
from ansible_collections.berth.deploy.plugins.module_utils._options import (RUN_OPTIONS, OptionError, normalize_options, parse_publish,
                                                                            parse_volume)
from ansible_collections.berth.deploy.plugins.module_utils._proxy.host import SETTINGS_LABEL, label_value


class SpecError(ValueError):
    """The requested container cannot be built as given; the message says why."""


@dataclass
class ContainerSpec:
    name: str
    image: str
    command: t.Any = None
    env: dict[str, str] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    network: str | None = None
    options: dict[str, t.Any] = field(default_factory=dict)
    log_driver: str = "json-file"
    log_options: dict[str, str] = field(default_factory=dict)
    restart_policy: str = "unless-stopped"

    def public_view(self, image_id: str | None) -> dict[str, t.Any]:
        """Everything that defines the container except its name and secret values (safe to show and hash)."""
        return {
            "image": self.image,
            "image_id": image_id,
            "command": self.command,
            "env": dict(sorted(self.env.items())),
            "secret_env_names": sorted(self.secret_env),
            "labels": dict(sorted(self.labels.items())),
            "volumes": list(self.volumes),
            "network": self.network,
            "options": self.options,
            "log": {"driver": self.log_driver, "options": dict(sorted(self.log_options.items()))},
            "restart_policy": self.restart_policy,
        }

    def spec_hash(self, image_id: str | None) -> str:
        encoded = json.dumps(self.public_view(image_id), sort_keys=True, default=str).encode("utf-8")
        return hashlib.sha256(encoded).hexdigest()[:24]


def build_spec(params: t.Mapping[str, t.Any]) -> ContainerSpec:
    """Build a ContainerSpec from the container module's parameters."""
    options, problems = normalize_options(params.get("options") or {})
    if problems:
        raise SpecError("; ".join(f"options.{name}: {message}" for name, message in problems))
    env = {str(k): _env_value(v) for k, v in (params.get("env") or {}).items()}
    secret_env = {str(k): _env_value(v) for k, v in (params.get("secret_env") or {}).items()}
    for key, value in {**env, **secret_env}.items():
        if "\n" in value or "\x00" in value:
            raise SpecError(f"environment variable {key} holds a newline or NUL byte (not allowed in env files)")
    labels = dict(options.pop("labels", {}))
    service, role, accessory = params.get("service"), params.get("role"), params.get("accessory")
    if service and accessory:
        labels.update(_naming.accessory_labels(service, accessory, params.get("destination") or ""))
    elif service and role:
        labels.update(_naming.labels(service, role, params.get("version") or "", params.get("destination") or ""))
    if params.get("proxy_settings") is not None:
        labels[SETTINGS_LABEL] = label_value(params["proxy_settings"])
    return ContainerSpec(
        name=container_name(params),
        image=params["image"],
        command=params.get("command"),
        env=env,
        secret_env=secret_env,
        labels=labels,
        volumes=_checked_volumes(params.get("volumes") or []),
        network=params.get("network"),
        options=options,
        log_driver=params.get("log_driver") or "json-file",
        log_options={str(k): str(v) for k, v in {**(params.get("log_options") or {}),
                                                 **(params.get("log_secret_options") or {})}.items()},
        restart_policy=params.get("restart_policy") or "unless-stopped",
    )


def _checked_volumes(volumes: list[str]) -> list[str]:
    volume_binds(volumes)
    return list(volumes)


def volume_binds(volumes: list[str]) -> dict[str, dict[str, str]]:
    """``SOURCE:/path[:ro|rw]`` entries as the SDK's dict form.

    The list form makes SDK 5.0.3 derive the container path with ``rstrip(':ro')``, which turns
    ``/app/tmp/dir`` into ``/app/tmp/di`` and adds a stray anonymous volume there; the dict form
    passes the path through untouched.
    """
    binds: dict[str, dict[str, str]] = {}
    for volume in volumes:
        try:
            source, path, mode = parse_volume(volume)
        except OptionError as error:
            raise SpecError(f"volumes: {error}") from None
        if source in binds:
            raise SpecError(f"volumes: {source} is mounted twice ({binds[source]['bind']} and {path}); one mount per source")
        binds[source] = {"bind": path, "mode": mode}
    return binds


def container_name(params: t.Mapping[str, t.Any]) -> str:
    """The name asked for: ``name``, an accessory's, or a role version's base name (``boot_name`` adds the hash)."""
    if params.get("name"):
        return params["name"]
    if params.get("service") and params.get("accessory"):
        return _naming.role_prefix(params["service"], params["accessory"], params.get("destination") or "")
    missing = [key for key in ("service", "role", "version") if not params.get(key)]
    if missing:
        raise SpecError(f"set name, or service and accessory, or service, role and version (missing: {', '.join(missing)})")
    return _naming.container_name(params["service"], params["role"], params["version"], params.get("destination") or "")


def _env_value(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def env_file_content(spec: ContainerSpec) -> str:
    merged = {**spec.env, **spec.secret_env}
    return "".join(f"{key}={merged[key]}\n" for key in sorted(merged))


def create_kwargs(spec: ContainerSpec, spec_hash: str) -> dict[str, t.Any]:
    """Keyword arguments for ``client.containers.create`` (Docker SDK 5.0.3 compatible)."""
    kwargs: dict[str, t.Any] = {
        "name": spec.name,
        "command": spec.command,
        "environment": [f"{key}={value}" for key, value in sorted({**spec.env, **spec.secret_env}.items())],
        "labels": {**spec.labels, _naming.SPEC_HASH_LABEL: spec_hash},
        "volumes": volume_binds(spec.volumes) or None,
        "log_config": _docker.log_config(spec.log_driver, spec.log_options),
        "restart_policy": {"Name": spec.restart_policy} if spec.restart_policy != "no" else None,
        "detach": True,
    }
    if spec.network:
        kwargs["network"] = spec.network
    for option, value in spec.options.items():
        keyword = RUN_OPTIONS[option][1]
        if option == "publish":
            value = _port_bindings(value)
        elif option == "ulimits":
            value = [_docker.docker.types.Ulimit(**limit) for limit in value]
        kwargs[keyword] = value
    return {key: value for key, value in kwargs.items() if value is not None}


def _port_bindings(entries: list[str]) -> dict[str, t.Any]:
    bindings: dict[str, list[t.Any]] = {}
    for entry in entries:
        container_port, (address, host_port) = parse_publish(entry)
        binding: t.Any = (address, host_port) if address and host_port else (address,) if address else host_port
        bindings.setdefault(container_port, []).append(binding)
    return {port: found[0] if len(found) == 1 else found for port, found in bindings.items()}


def matches(container: t.Any, spec: ContainerSpec, spec_hash: str) -> bool:
    """Whether an existing container already is ``spec`` (hash label and secret values)."""
    labels = container.attrs.get("Config", {}).get("Labels") or {}
    if labels.get(_naming.SPEC_HASH_LABEL) != spec_hash:
        return False
    actual_env = set(container.attrs.get("Config", {}).get("Env") or [])
    return all(f"{key}={value}" in actual_env for key, value in spec.secret_env.items())


def is_running(container: t.Any) -> bool:
    return (container.attrs.get("State") or {}).get("Running", False)


def summary(container: t.Any) -> dict[str, t.Any]:
    attrs = container.attrs
    labels = attrs.get("Config", {}).get("Labels") or {}
    state = attrs.get("State") or {}
    return {
        "name": attrs.get("Name", "").lstrip("/") or container.name,
        "id": container.id[:12],
        "version": _naming.version_of(labels),
        "image": attrs.get("Config", {}).get("Image"),
        "status": state.get("Status"),
        "health": (state.get("Health") or {}).get("Status"),
        "created": attrs.get("Created"),
    }


def role_containers(client: t.Any, service: str, role: str, destination: str = "") -> list[t.Any]:
    """Every container of one role (any version, any state), newest first."""
    found = client.containers.list(all=True, filters={"label": _naming.role_filter(service, role, destination)})
    return sorted(found, key=lambda item: item.attrs.get("Created", ""), reverse=True)


def stop(container: t.Any, timeout: int) -> None:
    """Graceful stop: SIGTERM (or the image's stop signal), SIGKILL after ``timeout`` seconds."""
    container.stop(timeout=timeout)


def retained_split(containers: list[t.Any], keep: int, active_id: str | None) -> tuple[list[t.Any], list[t.Any]]:
    """Split newest-first containers into (kept, removable): the newest ``keep`` stay, running ones always stay."""
    kept: list[t.Any] = []
    removable: list[t.Any] = []
    for container in containers:
        if container.id == active_id or is_running(container) or len(kept) < keep:
            kept.append(container)
        else:
            removable.append(container)
    return kept, removable


def identical(containers: t.Iterable[t.Any], spec: ContainerSpec, spec_hash: str) -> t.Any | None:
    """The newest of ``containers`` that already is ``spec`` (running ones first), or None."""
    found = [container for container in containers if matches(container, spec, spec_hash)]
    found.sort(key=lambda container: (is_running(container), container.attrs.get("Created", "")), reverse=True)
    return found[0] if found else None


def free_name(wanted: str, taken: t.Collection[str]) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``... when a container of another spec holds it (say, other secrets)."""
    name, number = wanted, 1
    while name in taken:
        number += 1
        name = f"{wanted}-{number}"
    return name


def names_of(containers: t.Iterable[t.Any]) -> set[str]:
    return {container.name for container in containers}


def running(containers: t.Iterable[t.Any]) -> list[t.Any]:
    return [container for container in containers if is_running(container)]


@dataclass
class Boot:
    """What booting a spec did: the container (None when check mode would create it), its name, the actions."""
    name: str
    container: t.Any | None
    actions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    @property
    def created(self) -> bool:
        return any(action.startswith("created ") for action in self.actions)


def boot(client: t.Any, spec: ContainerSpec, image_id: str | None, role_containers_: list[t.Any], check_mode: bool,
         name_for: t.Callable[[str], str]) -> Boot:
    """Run ``spec`` as one of a role's containers: start the identical one if there is one, else create it
    under a name of its own (``name_for(spec_hash)``, made free of the role's other containers)."""
    started = time.monotonic()
    spec_hash = spec.spec_hash(image_id)
    current = identical(role_containers_, spec, spec_hash)
    if current is not None:
        result = Boot(current.name, current)
        if not is_running(current):
            result.actions.append(f"started {current.name}")
            if not check_mode:
                current.start()
        result.seconds = round(time.monotonic() - started, 3)
        return result
    spec.name = free_name(name_for(spec_hash), names_of(role_containers_))
    result = Boot(spec.name, None, [f"created {spec.name}", f"started {spec.name}"])
    if not check_mode:
        result.container = client.containers.create(spec.image, **create_kwargs(spec, spec_hash))
        result.container.start()
    result.seconds = round(time.monotonic() - started, 3)
    return result


def stop_all(containers: list[t.Any], timeout: int) -> None:
    """Graceful stops of several containers at once (each waits for its app to finish in-flight requests)."""
    if len(containers) == 1:
        stop(containers[0], timeout)
        return
    threads = [threading.Thread(target=stop, args=(container, timeout)) for container in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
