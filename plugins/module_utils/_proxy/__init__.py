# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxy drivers: a route (host names, path prefix, weighted targets) applied on one host's proxy.

A driver implements:
- ``current_targets(name) -> list[Target] | None``: what the running proxy serves now;
- ``desired_config(route)``: the driver's representation of the route (for diff and idempotence);
- ``apply(route, check_mode) -> bool``: make the proxy's configuration hold the route;
- ``remove(name, check_mode) -> bool``;
- ``restore(name, config)``: put back a configuration read with ``current_config``;
- ``confirm(route, timeout) -> float``: wait until the running proxy serves the route, return seconds;
- ``inflight(target) -> int | None``: requests in flight to a target, None when the proxy cannot tell.
"""
from __future__ import annotations

import typing as t
from dataclasses import dataclass, field


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


class Driver(t.Protocol):
    def current_targets(self, name: str) -> list[Target] | None: ...

    def current_config(self, name: str) -> str | None: ...

    def desired_config(self, route: Route) -> str: ...

    def apply(self, route: Route, check_mode: bool) -> bool: ...

    def remove(self, name: str, check_mode: bool) -> bool: ...

    def restore(self, name: str, config: str | None) -> None: ...

    def confirm(self, route: Route, timeout: float) -> float: ...

    def inflight(self, target: Target) -> int | None: ...


def make_driver(kind: str, **settings: t.Any) -> Driver:
    if kind == "traefik":
        from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import TraefikFileDriver
        return TraefikFileDriver(**settings)
    raise ProxyError(f"unknown proxy driver {kind!r} (available: traefik)")
