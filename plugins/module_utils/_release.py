# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's release: every berth role on it (web roles first), in one process with one Docker client.

Per role: **boot** the new spec beside the serving container -> **health**-check it -> **switch** the
route to it (web roles) -> **drain** the old one -> **stop** the old ones gracefully and keep the
newest ``retain``. Once per host: **pull** before, **prune** unused images after. The steps are the
same functions the public step modules (image, container, healthcheck, proxy_route) call.

A failing step stops the new container (kept for inspection), leaves the route on the old one (the
switch puts the old configuration back when the proxy does not confirm the new), and puts back the
roles of this host that had already switched, so the host serves what it served before.

``restore`` (a rollback after another host failed) names, per role, the container to serve again:
it is started, checked and switched to like a new boot, and the current one retires.
"""
from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from ansible_collections.berth.deploy.plugins.module_utils import (_assets, _audit, _canary, _container, _docker, _health,
                                                                   _image, _naming, _service)
from ansible_collections.berth.deploy.plugins.module_utils._files import FileLock, ensure_file
from ansible_collections.berth.deploy.plugins.module_utils._proxy import (Canary, Driver, ProxyError, Route, SwitchTimings,
                                                                          clash_message, container_target, switch, with_certificate)

STEPS = ("pull", "boot", "health", "switch", "drain", "stop")
LOG_LINES = 40


@dataclass
class RoleSpec:
    """One berth role on this host, as the release needs it."""
    name: str
    container: dict[str, t.Any]  # parameters of _container.build_spec (without name)
    check: _health.ContainerCheck
    stop_timeout: int = 30
    env_file: str | None = None
    route: Route | None = None  # targets are set when switching
    app_port: int | None = None
    health_path: str | None = None
    certificate: tuple[str, str] | None = None  # own (certificate, private_key) of a route with TLS
    assets: _assets.Assets | None = None  # asset bridging (_assets.py)


@dataclass
class Request:
    service: str
    version: str
    image: str  # repository, without tag
    roles: list[RoleSpec]
    destination: str = ""
    pull: str = "always"
    auth: dict[str, str] | None = None
    retain: int = 5
    timings: SwitchTimings = field(default_factory=SwitchTimings)
    restore: dict[str, str] = field(default_factory=dict)  # role -> container to serve again
    canary: str = ""  # "", start, promote, abort (plugins/module_utils/_canary.py)
    canary_percent: int = 0
    check_mode: bool = False
    pins: _image.Pins = field(default_factory=_image.Pins)

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.version}"


@dataclass
class RoleOutcome:
    role: str
    container: str
    version: str | None
    previous: list[str]  # versions that were running before
    previous_container: str | None  # what served before (what a rollback serves again)
    changed: bool
    actions: list[str]
    seconds: dict[str, float]
    route_targets: list[str] = field(default_factory=list)
    maintenance: bool = False
    previous_canary: Canary | None = None  # the split a canary start or promote changed (what a revert puts back)

    def report(self) -> dict[str, t.Any]:
        return {"container": self.container, "version": self.version, "previous": self.previous,
                "previous_container": self.previous_container, "changed": self.changed, "actions": self.actions,
                "seconds": self.seconds, "route_targets": self.route_targets, "maintenance": self.maintenance}


class StepFailed(Exception):
    """A step of one role failed; the message says what happened and what serves now."""

    def __init__(self, step: str, role: str, message: str, health: dict[str, t.Any] | None = None,
                 logs: list[str] | None = None):
        super().__init__(message)
        self.step, self.role, self.health, self.logs = step, role, health or {}, logs or []


class Release:
    """One host's release; ``run`` returns the module's result or raises StepFailed (after reverting)."""

    def __init__(self, client: t.Any, request: Request, driver: Driver | None):
        self.client = client
        self.request = request
        self.driver = driver
        self.done: list[RoleOutcome] = []
        self.reverted: list[str] = []
        self.warnings: list[str] = []
        self.pulled: _image.Pulled | None = None
        self.canaries: dict[str, Canary] = {}

    def run(self) -> dict[str, t.Any]:
        self.check_claims()
        self.check_page_server()
        self.canaries = self.recorded_canaries()
        try:
            self.request = request = _canary.resolve(self.request, self.canaries)
        except _canary.CanaryRefused as exc:
            raise StepFailed("switch", self.request.roles[0].name if self.request.roles else "", str(exc)) from None
        if not request.roles:
            return {"changed": False, "version": request.version, "roles": {}, "pruned_images": [], "pulled": False}
        if not request.restore:
            self.pull()
        try:
            for role in request.roles:
                try:
                    self.done.append(self.release_role(role, request.restore.get(role.name)))
                except StepFailed:
                    self.revert()
                    raise
        finally:
            if self.pulled is not None and self.pulled.pin:
                request.pins.unpin(request.reference, self.pulled.pin)  # its containers protect the image now
        pruned = self.prune()
        changed = bool(self.pulled and self.pulled.changed) or bool(pruned) or any(item.changed for item in self.done)
        return {"changed": changed, "version": request.version, "roles": {item.role: item.report() for item in self.done},
                "pruned_images": pruned, "pulled": bool(self.pulled and self.pulled.changed)}

    def check_claims(self) -> None:
        """Before anything changes: no other route on this proxy (another service's) takes this role's requests."""
        for role in self.request.roles:
            if role.route is None or self.driver is None:
                continue
            try:
                elsewhere = self.driver.claimed_elsewhere(role.route)
            except OSError as exc:
                raise StepFailed("switch", role.name, f"Reading the proxy's routes failed: {exc}") from None
            if elsewhere:
                raise StepFailed("switch", role.name, clash_message(role.route, elsewhere) +
                                 ". Nothing was changed on this host.")

    def check_page_server(self) -> None:
        """Before anything changes: a route with error pages needs the page server the proxy fetches them from."""
        for role in self.request.roles:
            pages = role.route.error_pages if role.route is not None else None
            server = urlsplit(pages.url).hostname if pages is not None else None
            if not server or self.request.check_mode:
                continue
            try:
                container = _docker.get_container(self.client, server)
            except Exception as exc:  # pylint: disable=broad-except
                raise StepFailed("switch", role.name, f"Docker engine error: {_docker.explain(exc)}") from None
            if container is None or not _container.is_running(container):
                raise StepFailed("switch", role.name, f"Route {role.route.name} has error pages, which the page server "
                                                      f"{server} serves, and it does not run on this host: run "
                                                      "playbooks/setup.yml first. Nothing was changed on this host.")

    def recorded_canaries(self) -> dict[str, Canary]:
        found = {}
        for role in self.request.roles:
            if role.route is not None and self.driver is not None:
                try:
                    canary = self.driver.canary(role.route.name)
                except ProxyError as exc:
                    raise StepFailed("switch", role.name, str(exc)) from None
                if canary is not None:
                    found[role.name] = canary
        return found

    # steps -------------------------------------------------------------------------------------

    def pull(self) -> None:
        request = self.request
        try:
            self.pulled = _image.ensure(self.client, request.reference, request.pull, request.auth, request.check_mode,
                                        request.pins)
        except Exception as exc:
            first = request.roles[0].name if request.roles else ""
            raise StepFailed("pull", first, f"Pulling {request.reference} failed: {_docker.explain(exc)}. "
                                            "Nothing was changed on this host.") from None

    def release_role(self, role: RoleSpec, restore: str | None = None) -> RoleOutcome:
        request = self.request
        containers = _container.role_containers(self.client, request.service, role.name, request.destination)
        running_before = _container.running(containers)
        serving = self.serving_container(role, running_before)
        seconds = dict.fromkeys(STEPS, 0.0)
        seconds["pull"] = self.pulled.seconds if self.pulled and role is request.roles[0] else 0.0
        role, bridged = self.bridge_assets(role, running_before, restore)
        booted = self.boot(role, containers, restore)
        seconds["boot"] = booted.seconds
        new = booted.container
        previous_names = [container.name for container in running_before if container.name != booted.name]
        canary = self.request.canary == "start" and restore is None  # a revert puts back what served
        recorded = self.canaries.get(role.name) if self.request.canary in ("start", "promote") else None
        try:
            seconds["health"] = self.health(role, new, booted)
            if canary:
                switched = self.switch_canary(role, self.canary_split(role, booted.name, serving))
            else:
                switched = self.switch_route(role, booted.name) if role.route is not None else None
        except StepFailed as failure:
            self.stop_failed(role, booted, new, running_before)
            raise StepFailed(failure.step, role.name, self.failure_text(failure, booted.name, previous_names),
                             failure.health, failure.logs) from None
        actions = list(booted.actions)
        if switched is not None:
            seconds["switch"] = switched.confirm_seconds
            seconds["drain"] = switched.drain_seconds
            if switched.changed:
                actions.append(f"switched route {role.route.name} to {booted.name}")
            if switched.maintenance is not None:
                self.warnings.append(f"Route {role.route.name} is in maintenance mode: the proxy answers 503 with the "
                                     "maintenance page (the new container serves only the health path) until "
                                     "maintenance mode is turned off.")
        if canary:  # a new split: only a canary container it replaced stops
            replaced = [recorded.container] if recorded is not None and recorded.container != booted.name else []
            stopped, removed, seconds["stop"] = self.stop_named(role, replaced), [], 0.0
        else:
            stopped, removed, seconds["stop"] = self.retire(role, booted, new, serving)
        if self.request.canary == "abort" and role.name in self.canaries:
            removed += self.remove_container(role, self.canaries[role.name].container)
        if bridged is not None and not canary:
            self.prune_assets(role, [new, serving])
        actions += [f"stopped {name}" for name in stopped] + [f"removed {name}" for name in removed]
        return RoleOutcome(
            role=role.name, container=booted.name,
            version=_naming.version_of(_service.labels_of(new)) if new is not None else request.version,
            previous=[_naming.version_of(_service.labels_of(container)) or "?" for container in running_before
                      if container.name != booted.name],
            previous_container=serving.name if serving is not None and serving.name != booted.name else None,
            changed=bool(actions), actions=actions, seconds=seconds,
            route_targets=[target.url for target in switched.route.targets] if switched else [],
            maintenance=switched is not None and switched.maintenance is not None, previous_canary=recorded)

    def bridge_assets(self, role: RoleSpec, running_before: list[t.Any], restore: str | None) -> tuple[RoleSpec, str | None]:
        """Asset bridging: the new container mounts its assets plus the serving version's; the serving containers'
        volumes get the new assets. -> (the role with the mount, the new image's key) or (role, None)."""
        assets = role.assets
        if assets is None or restore or self.request.check_mode:
            return role, None
        request = self.request
        try:
            image_id = _image.local_id(self.client, request.reference) or ""
            _assets.extract(self.client, request.reference, image_id, assets)
            serving = [key for key in (_assets.image_of_mount(assets, container) for container in running_before) if key]
            _assets.prepare(assets, image_id, serving)
        except Exception as exc:  # pylint: disable=broad-except
            raise StepFailed("boot", role.name, f"Bridging the assets of {request.reference} ({assets.path}) failed: "
                                                f"{_docker.explain(exc)}. Nothing was switched.") from None
        container = {**role.container, "volumes": list(role.container.get("volumes") or []) + [assets.mount(image_id)]}
        return replace(role, container=container), image_id

    def prune_assets(self, role: RoleSpec, keep: list[t.Any]) -> None:
        """Keep the asset copies of the new version and the one that served before it (one release)."""
        assets = role.assets
        if assets is None:
            return
        images = [key for key in (_assets.image_of_mount(assets, container) for container in keep if container is not None)
                  if key]
        try:
            _assets.prune(assets, images)
        except OSError:
            pass  # a cleanup: the next release tries again

    def serving_container(self, role: RoleSpec, running_before: list[t.Any]) -> t.Any | None:
        """The container that serves the role now: the route's target for web roles (beside a canary, the one
        that served before it), else the newest running."""
        canary = self.canaries.get(role.name)
        stable = [container for container in running_before if canary is not None and container.name in canary.stable]
        if stable:
            return stable[0]
        if role.route is not None and self.driver is not None:
            try:
                targets = {target.url for target in self.driver.current_targets(role.route.name) or []}
            except ProxyError:
                targets = set()
            for container in running_before:
                if container_target(container.name, role.app_port or 0).url in targets:
                    return container
        return running_before[0] if running_before else None

    def boot(self, role: RoleSpec, containers: list[t.Any], restore: str | None) -> _container.Boot:
        request = self.request
        try:
            if restore:
                return self.boot_restore(role, containers, restore)
            spec = _container.build_spec({**role.container, "service": request.service, "role": role.name,
                                          "destination": request.destination, "version": request.version,
                                          "image": request.reference})
            if role.env_file and not request.check_mode:
                ensure_file(role.env_file, _container.env_file_content(spec), 0o600, False)
            image_id = _image.local_id(self.client, request.reference)
            return _container.boot(self.client, spec, image_id, containers, request.check_mode,
                                   lambda spec_hash: _naming.boot_name(request.service, role.name, request.version,
                                                                       spec_hash, request.destination))
        except _container.SpecError as exc:
            raise StepFailed("boot", role.name, f"{role.name}: {exc}") from None
        except Exception as exc:
            raise StepFailed("boot", role.name, f"Booting {request.reference} for role {role.name} failed: "
                                                f"{_docker.explain(exc)}") from None

    def boot_restore(self, role: RoleSpec, containers: list[t.Any], name: str) -> _container.Boot:
        found = [container for container in containers if container.name == name]
        if not found:
            raise StepFailed("boot", role.name, f"Cannot put {name} back for role {role.name}: it is gone "
                                                "(retained: " + ", ".join(item.name for item in containers) + ")")
        started = time.monotonic()
        result = _container.Boot(name, found[0])
        if not _container.is_running(found[0]):
            result.actions.append(f"started {name}")
            if not self.request.check_mode:
                found[0].start()
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def health(self, role: RoleSpec, new: t.Any | None, booted: _container.Boot) -> float:
        if self.request.check_mode or new is None:
            return 0.0
        check = role.check if booted.changed else replace(role.check, readiness_delay=0)
        probe = _health.ContainerProbe(new, check, _docker.container_address)
        result = _health.wait_until(probe, check.interval, check.effective_deadline())
        if result.healthy:
            return result.elapsed
        found = _health.outcome(result, probe.url)
        logs = _docker.container_logs_tail(new, LOG_LINES)
        raise StepFailed("health", role.name, _health.failure_message(booted.name, found, logs,
                                                                      check.effective_deadline()), found, logs)

    def switch_route(self, role: RoleSpec, name: str) -> t.Any:
        if role.route is None or self.driver is None:
            raise StepFailed("switch", role.name, f"role {role.name} has no route or this host no proxy driver")
        route = replace(role.route, targets=(container_target(name, role.app_port or 0),))
        try:
            route = with_certificate(self.driver, route, role.certificate, self.request.check_mode)
            switched = switch(self.driver, route, self.request.check_mode, self.request.timings, role.health_path)
            self.driver.set_canary(route.name, None, self.request.check_mode)
            if route.tls is not None and route.tls.certificate:
                self.driver.remove_certificates(route.name, route.tls.certificate, self.request.check_mode)
            return switched
        except (ProxyError, OSError) as exc:
            raise StepFailed("switch", role.name, str(exc)) from None

    def canary_split(self, role: RoleSpec, name: str, serving: t.Any | None) -> Canary:
        """``canary_percent`` of new clients to ``name``, the rest to what served before the canary, sticky."""
        recorded = self.canaries.get(role.name)
        stable = list(recorded.stable) if recorded else [serving.name] if serving is not None and serving.name != name else []
        if not stable:
            raise StepFailed("switch", role.name, f"Nothing serves route {role.route.name if role.route else role.name} "
                                                  "yet: deploy a version first (playbooks/deploy.yml), then start a "
                                                  "canary beside it")
        return Canary(self.request.version, self.request.canary_percent, name, tuple(stable))

    def switch_canary(self, role: RoleSpec, split: Canary) -> t.Any:
        """Point the role's route at ``split`` (weighted, sticky) and record it."""
        request = self.request
        if role.route is None or self.driver is None:
            raise StepFailed("switch", role.name, f"role {role.name} has no route: a canary needs a web role")
        stable_weight, canary_weight = _canary.weights(split.percent)
        targets = tuple(container_target(item, role.app_port or 0, stable_weight) for item in split.stable)
        route = replace(role.route, targets=targets + (container_target(split.container, role.app_port or 0,
                                                                        canary_weight),), sticky=True)
        try:
            route = with_certificate(self.driver, route, role.certificate, request.check_mode)
            switched = switch(self.driver, route, request.check_mode, request.timings, role.health_path, drain_now=False)
            self.driver.set_canary(route.name, split, request.check_mode)
            return switched
        except (ProxyError, OSError) as exc:
            raise StepFailed("switch", role.name, str(exc)) from None

    def restore_canary(self, role: RoleSpec, split: Canary, booted: str) -> None:
        """Serve ``split`` again (a revert of a canary's new split or promotion): its containers started and checked,
        the route and record as they were, and ``booted`` (this run's container) stopped when not part of it."""
        containers = _container.role_containers(self.client, self.request.service, role.name, self.request.destination)
        for name in (*split.stable, split.container):
            started = self.boot_restore(role, containers, name)
            if started.actions:
                self.health(role, started.container, started)
        self.switch_canary(role, split)
        if booted not in (*split.stable, split.container) and not self.request.check_mode:
            for container in _container.running(containers):
                if container.name == booted:
                    _container.stop(container, role.stop_timeout)

    def stop_named(self, role: RoleSpec, names: list[str]) -> list[str]:
        """Stop the role's running containers named ``names`` (gracefully); -> the ones stopped."""
        found = [container for container in _container.running(_container.role_containers(
            self.client, self.request.service, role.name, self.request.destination)) if container.name in names]
        if not self.request.check_mode:
            _container.stop_all(found, role.stop_timeout)
        return [container.name for container in found]

    def remove_container(self, role: RoleSpec, name: str) -> list[str]:
        """Remove a stopped container of the role (an aborted canary's)."""
        for container in _container.role_containers(self.client, self.request.service, role.name, self.request.destination):
            if container.name == name and not _container.is_running(container):
                if not self.request.check_mode:
                    container.remove(v=False, force=True)
                return [name]
        return []

    def retire(self, role: RoleSpec, booted: _container.Boot, new: t.Any | None,
               serving: t.Any | None) -> tuple[list[str], list[str], float]:
        """Stop every other running container of the role (at once), then remove the stopped ones beyond
        ``retain``; the one that served before stays for a rollback."""
        started = time.monotonic()
        request = self.request
        others = [container for container in _container.running(
            _container.role_containers(self.client, request.service, role.name, request.destination))
            if container.name != booted.name]
        if not request.check_mode:
            _container.stop_all(others, role.stop_timeout)
        containers = _container.role_containers(self.client, request.service, role.name, request.destination)
        if request.check_mode:
            return [item.name for item in others], [], 0.0
        _kept, removable = _container.retained_split(containers, request.retain, new.id if new is not None else None)
        removable = [item for item in removable if serving is None or item.id != serving.id]
        for container in removable:
            container.remove(v=False, force=True)
        return [item.name for item in others], [item.name for item in removable], round(time.monotonic() - started, 3)

    def prune(self) -> list[str]:
        """Images of the repository no container on the host uses and no other run has just pulled."""
        if self.request.restore:
            return []
        try:
            return _image.prune(self.client, self.request.image, (), self.request.check_mode, self.request.pins).removed
        except Exception:  # pylint: disable=broad-except
            return []  # a cleanup: the next release or prune.yml catches up

    # failure -----------------------------------------------------------------------------------

    def stop_failed(self, role: RoleSpec, booted: _container.Boot, new: t.Any | None,
                    running_before: list[t.Any]) -> None:
        """Stop the container this run started for the role (kept for inspection), unless it served before."""
        if self.request.check_mode or new is None or not booted.changed:
            return
        if any(container.id == new.id for container in running_before):
            return
        try:
            new.reload()
            if _container.is_running(new):
                _container.stop(new, 5)
        except Exception:  # pylint: disable=broad-except
            pass  # the failure being reported matters more than this cleanup

    def failure_text(self, failure: StepFailed, name: str, serving: list[str]) -> str:
        what = "failed its health check" if failure.step == "health" else "could not be switched in"
        stays = ", ".join(serving) or "the previous state (nothing else was running)"
        return f"{name} {what}, so traffic stays on {stays}. {failure}"

    def revert(self) -> None:
        """Serve again what the roles of this host that already switched served before this run (a canary's split
        when this run changed or promoted one)."""
        for outcome in reversed(self.done):
            if not outcome.changed or not (outcome.previous_container or outcome.previous_canary):
                continue
            role = next(item for item in self.request.roles if item.name == outcome.role)
            split = outcome.previous_canary
            before = f"the canary split {split.percent}% {split.container}" if split else outcome.previous_container
            try:
                if split is not None:
                    self.restore_canary(role, split, outcome.container)
                else:
                    self.release_role(role, outcome.previous_container)
                self.reverted.append(f"{outcome.role}: {outcome.container} -> {before}")
            except StepFailed as exc:
                self.reverted.append(f"{outcome.role}: could not put {before} back: {exc}")


def audit_line(when: float, performer: str, version: str, result: str, roles: t.Mapping[str, t.Mapping[str, t.Any]],
               message: str) -> str:
    """One line of the host's deploy log (_audit escapes every value, so none can start a line)."""
    changes = " ".join(f"{_audit.escape(role)}={_audit.escape(','.join(report.get('previous') or []) or 'none')}"
                       f"->{_audit.escape(report.get('version') or '-')}" for role, report in roles.items())
    head = _audit.line(when, [("performer", performer), ("version", version), ("result", result)])
    return " ".join([head] + ([changes] if changes else []) + [f"message={_audit.quoted(message)}"])


def host_lock(path: str, wait: float) -> FileLock:
    """Two releases of one service never overlap on a host, say when an interrupted run's release still runs
    as the next deploy starts."""
    return FileLock(path, wait, "another release of this service")
