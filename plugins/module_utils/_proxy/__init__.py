# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxy drivers: a route (host names, path prefix, weighted targets) applied on one host's proxy.

A driver implements:
- ``path(name)``, ``page_path(name)``: where the route's configuration and maintenance page live;
- ``current_targets(name) -> list[Target] | None``: what the running proxy serves now;
- ``desired_config(route)``: the driver's representation of the route (for diff and idempotence);
- ``apply(route, check_mode) -> bool``: make the proxy's configuration hold the route;
- ``remove(name, check_mode) -> bool``;
- ``restore(name, config)``: put back a configuration read with ``current_config``;
- ``confirm(route, timeout) -> float``: wait until the running proxy serves the route, return seconds;
- ``inflight(target) -> int | None``: requests in flight to a target, None when the proxy cannot tell;
- ``maintenance(name) -> Maintenance | None``: the route's recorded maintenance mode (None: off);
- ``current_page(name) -> str | None``: the route's maintenance page;
- ``set_maintenance(name, maintenance, page, check_mode) -> bool``: record it (and its page) or clear it.

Maintenance mode is recorded beside the proxy's configuration, so every later ``apply`` of the
route (a deploy) keeps answering 503 with the page until maintenance is turned off. ``apply``,
``desired_config`` and ``confirm`` take the maintenance mode to render; callers read it with
``maintenance(name)``.
"""
from __future__ import annotations

import dataclasses
import time
import typing as t
from dataclasses import dataclass, field

INFLIGHT_POLL = 0.1


class ProxyError(Exception):
    """The proxy refused or did not confirm a change; the message says what it reported."""


@dataclass(frozen=True)
class Target:
    url: str
    weight: int = 1


@dataclass(frozen=True)
class Route:
    name: str
    targets: tuple[Target, ...]
    hosts: tuple[str, ...] = ()
    path_prefix: str = "/"
    response_timeout: int = 30
    pass_host_header: bool = True
    entrypoints: tuple[str, ...] = field(default=("web",))


@dataclass(frozen=True)
class Maintenance:
    """Maintenance mode of a route: every request gets 503 and the page, except ``health_path``."""
    page_url: str  # the server of the maintenance pages, reachable from the proxy
    health_path: str = ""  # keeps reaching the route's targets ("": none)


class Driver(t.Protocol):
    def path(self, name: str) -> str: ...

    def page_path(self, name: str) -> str: ...

    def current_targets(self, name: str) -> list[Target] | None: ...

    def current_config(self, name: str) -> str | None: ...

    def desired_config(self, route: Route, maintenance: Maintenance | None = None) -> str: ...

    def apply(self, route: Route, check_mode: bool, maintenance: Maintenance | None = None) -> bool: ...

    def remove(self, name: str, check_mode: bool) -> bool: ...

    def restore(self, name: str, config: str | None) -> None: ...

    def confirm(self, route: Route, timeout: float, maintenance: Maintenance | None = None) -> float: ...

    def inflight(self, target: Target) -> int | None: ...

    def maintenance(self, name: str) -> Maintenance | None: ...

    def current_page(self, name: str) -> str | None: ...

    def set_maintenance(self, name: str, maintenance: Maintenance | None, page: str, check_mode: bool) -> bool: ...


def make_driver(kind: str, **settings: t.Any) -> Driver:
    if kind == "traefik":
        from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import TraefikFileDriver
        return TraefikFileDriver(**settings)
    raise ProxyError(f"unknown proxy driver {kind!r} (available: traefik)")


def container_target(container: str, port: int, weight: int = 1) -> Target:
    """The target of a container reached by name on the deploy network."""
    return Target(f"http://{container}:{port}", weight)


@dataclass
class Switch:
    """What switching a route did; ``before_config`` is the route's configuration before (\"\": none)."""
    changed: bool
    route: Route
    previous: list[Target]
    removed: list[Target]
    maintenance: Maintenance | None
    before_config: str
    after_config: str
    confirm_seconds: float = 0.0
    drain_seconds: float = 0.0


@dataclass(frozen=True)
class SwitchTimings:
    confirm_timeout: float = 10
    drain_timeout: float = 30
    drain_settle: float = 1


def switch(driver: Driver, route: Route, check_mode: bool, timings: SwitchTimings,
           health_path: str | None = None, drain_now: bool = True) -> Switch:
    """Point ``route`` at its targets and wait until the proxy confirms it; put the old configuration back
    when it does not. Maintenance mode, when on, stays on (``health_path`` keeps reaching the targets).
    With ``drain_now``, also wait until the targets that left have no requests in flight."""
    before = driver.current_config(route.name) or ""
    try:
        previous = driver.current_targets(route.name) or []
    except ProxyError:
        previous = []  # a proxy that is down serves nothing; the confirm step reports it
    maintenance = driver.maintenance(route.name)
    if maintenance is not None and health_path is not None:
        maintenance = dataclasses.replace(maintenance, health_path=health_path)
    wanted = {target.url for target in route.targets}
    result = Switch(changed=driver.apply(route, check_mode, maintenance), route=route, previous=previous,
                    removed=[target for target in previous if target.url not in wanted], maintenance=maintenance,
                    before_config=before, after_config=driver.desired_config(route, maintenance))
    if check_mode:
        return result
    try:
        result.confirm_seconds = driver.confirm(route, timings.confirm_timeout, maintenance)
    except ProxyError as exc:
        if result.changed:
            driver.restore(route.name, before or None)
        raise ProxyError(f"{exc}. The previous route configuration was put back.") from None
    if drain_now:
        result.drain_seconds = drain(driver, result.removed, timings)
    return result


def drain(driver: Driver, removed: list[Target], timings: SwitchTimings) -> float:
    """Wait until removed targets have no requests in flight (or ``drain_settle`` when the proxy cannot tell)."""
    if not removed:
        return 0.0
    started = time.monotonic()
    counts = [driver.inflight(target) for target in removed]
    if any(count is None for count in counts):
        time.sleep(timings.drain_settle)
        return round(time.monotonic() - started, 3)
    while any(driver.inflight(target) for target in removed) and time.monotonic() - started < timings.drain_timeout:
        time.sleep(INFLIGHT_POLL)
    return round(time.monotonic() - started, 3)
