"""An in-memory stand-in for the Docker SDK client and a proxy driver, for unit tests of the release's
sequence (which step runs, what fails, what is put back). The real engine, registry and Traefik are
exercised by tests/integration; this only lets each failing step be provoked on purpose."""
from __future__ import annotations

import itertools
import typing as t

from docker import errors as docker_errors

from ansible_collections.berth.deploy.plugins.module_utils._proxy import ProxyError, Route, Target, claims_of

_ids = itertools.count(1)


class Container:
    def __init__(self, engine: "Engine", name: str, image: str, labels: dict[str, str], env: list[str]):
        number = next(_ids)
        self.engine = engine
        self.id = f"{number:012x}{'0' * 52}"
        self.name = name
        self.attrs: dict[str, t.Any] = {
            "Name": f"/{name}", "Created": f"2026-12-02T00:00:{number:02d}Z", "Image": engine.image_ids[image],
            "Config": {"Labels": dict(labels), "Env": list(env), "Image": image},
            "State": {"Running": False, "Status": "created"},
            "NetworkSettings": {"Networks": {"berth": {"IPAddress": ""}}}}  # as Docker: known once started
        self.stops: list[int] = []
        self.started = False

    def start(self) -> None:
        if self.engine.boot_fails:
            raise RuntimeError("OCI runtime create failed")
        self.attrs["State"] = {"Running": True, "Status": "running"}
        self.started = True

    def stop(self, timeout: int = 10) -> None:
        self.stops.append(timeout)
        self.attrs["State"] = {"Running": False, "Status": "exited", "ExitCode": 0}

    def remove(self, v: bool = False, force: bool = False) -> None:
        self.engine.containers.items.remove(self)

    def reload(self) -> None:
        """Like the SDK's: attributes read at create() are stale until reloaded."""
        if self.started:
            self.attrs["NetworkSettings"]["Networks"]["berth"]["IPAddress"] = self.engine.address

    def logs(self, **_kwargs: t.Any) -> bytes:
        return f"log line of {self.name}\n".encode()


class Containers:
    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.items: list[Container] = []

    def list(self, all: bool = False, filters: dict[str, t.Any] | None = None) -> list[Container]:  # noqa: A002
        wanted = [label.split("=", 1) for label in (filters or {}).get("label", [])]
        every = all
        return [item for item in self.items if every or item.attrs["State"]["Running"]
                if not [key for key, value in wanted if item.attrs["Config"]["Labels"].get(key) != value]]

    def get(self, name: str) -> Container:
        for item in self.items:
            if item.name == name:
                return item
        raise docker_errors.NotFound(f"No such container: {name}")

    def create(self, image: str, **kwargs: t.Any) -> Container:
        if any(item.name == kwargs["name"] for item in self.items):
            raise RuntimeError(f"Conflict. The container name {kwargs['name']} is already in use")
        container = Container(self.engine, kwargs["name"], image, kwargs.get("labels") or {},
                              kwargs.get("environment") or [])
        self.items.append(container)
        return container


class Image:
    def __init__(self, image_id: str):
        self.id = image_id
        self.attrs = {"RepoDigests": []}
        self.tags: list[str] = []


class Images:
    def __init__(self, engine: "Engine"):
        self.engine = engine

    def get(self, reference: str) -> Image:
        if reference not in self.engine.image_ids:
            raise docker_errors.NotFound(f"No such image: {reference}")
        return Image(self.engine.image_ids[reference])

    def pull(self, repository: str, tag: str, auth_config: t.Any = None) -> Image:
        if self.engine.registry_down:
            raise RuntimeError(f"Get https://{repository.split('/')[0]}/v2/: connection refused")
        reference = f"{repository}:{tag}"
        self.engine.image_ids.setdefault(reference, f"sha256:{reference}")
        return Image(self.engine.image_ids[reference])

    def list(self, name: str | None = None) -> list[Image]:
        """The images with a tag of repository ``name`` (every tag of each, as the engine lists them)."""
        found: dict[str, Image] = {}
        for reference, image_id in self.engine.image_ids.items():
            found.setdefault(image_id, Image(image_id)).tags.append(reference)
        return [image for image in found.values()
                if name is None or any(tag.rsplit(":", 1)[0] == name for tag in image.tags)]

    def remove(self, reference: str) -> None:
        image_id = self.engine.image_ids.get(reference)
        if image_id is not None and any(item.attrs["Image"] == image_id for item in self.engine.containers.items) \
                and list(self.engine.image_ids.values()).count(image_id) == 1:
            raise docker_errors.APIError(f"conflict: unable to remove {reference}: image is being used")
        self.engine.image_ids.pop(reference, None)


class Engine:
    """The Docker client double: ``address`` is where every container answers HTTP (a test server)."""

    def __init__(self, address: str = "127.0.0.1"):
        self.address = address
        self.image_ids: dict[str, str] = {}
        self.images = Images(self)
        self.containers = Containers(self)
        self.registry_down = False
        self.boot_fails = False

    def running_names(self) -> list[str]:
        return [item.name for item in self.containers.items if item.attrs["State"]["Running"]]


class Driver:
    """A proxy driver double: routes in memory; ``confirm_fails`` makes the proxy never confirm."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.confirm_fails = False
        self.restored: list[str] = []
        self.canaries: dict[str, t.Any] = {}

    def current_targets(self, name: str) -> list[Target] | None:
        return list(self.routes[name].targets) if name in self.routes else None

    def current_config(self, name: str) -> str | None:
        return repr(self.routes[name]) if name in self.routes else None

    def desired_config(self, route: Route, maintenance: t.Any = None) -> str:
        return repr(route)

    def maintenance(self, name: str) -> None:
        return None

    def apply(self, route: Route, check_mode: bool, maintenance: t.Any = None) -> bool:
        changed = self.routes.get(route.name) != route
        if not check_mode:
            self.previous = self.routes.get(route.name)
            self.routes[route.name] = route
        return changed

    def confirm(self, route: Route, timeout: float, maintenance: t.Any = None) -> float:
        if self.confirm_fails:
            raise ProxyError(f"Traefik did not confirm route {route.name} within {timeout}s: router not loaded")
        return 0.01

    def restore(self, name: str, config: str | None) -> None:
        self.restored.append(name)
        if self.previous is None:
            self.routes.pop(name, None)
        else:
            self.routes[name] = self.previous

    def inflight(self, target: Target) -> int | None:
        return 0

    def canary(self, name: str) -> t.Any:
        return self.canaries.get(name)

    def set_canary(self, name: str, canary: t.Any, check_mode: bool) -> bool:
        changed = self.canaries.get(name) != canary
        if not check_mode:
            if canary is None:
                self.canaries.pop(name, None)
            else:
                self.canaries[name] = canary
        return changed

    def claimed_elsewhere(self, route: Route) -> dict[str, list[str]]:
        return {f"{name}.yml": sorted(f"{host}{prefix}" for host, prefix in claims_of(route) & claims_of(other))
                for name, other in self.routes.items() if name != route.name and claims_of(route) & claims_of(other)}

    def served(self, name: str) -> list[str]:
        return [target.url for target in self.routes[name].targets] if name in self.routes else []
