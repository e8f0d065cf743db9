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
- ``set_maintenance(name, maintenance, page, check_mode) -> bool``: record it (and its page) or clear it;
- ``install_certificate(name, certificate, key, check_mode) -> (stem, changed)``, ``installed_certificates(name)``,
  ``remove_certificates(name, keep, check_mode)``: a route's own certificates (TLS.certificate names the stem);
- ``route_files() -> [file]``: every route on the proxy (its own files left out);
- ``claimed_elsewhere(route) -> {file: [host/prefix]}``: other routes on the proxy that take the same requests;
- ``canary(name) -> Canary | None``, ``set_canary(name, canary, check_mode) -> bool``: the route's recorded canary.

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


RESOLVER = "berth"  # the proxy's ACME certificate resolver (roles/proxy), named by routes with TLS "acme"
TLS_MODES = ("off", "acme", "certificate")
# The plan's berth_plan.roles.<role>.proxy.tls, as a module option (release, maintenance, proxy_route).
TLS_OPTIONS: dict[str, t.Any] = dict(
    mode=dict(type="str", default="off", choices=list(TLS_MODES)),
    redirect=dict(type="bool", default=True),
    port=dict(type="int", default=443),
    hsts=dict(type="dict", options=dict(max_age=dict(type="int", default=31536000),
                                        include_subdomains=dict(type="bool", default=False),
                                        preload=dict(type="bool", default=False))))


# The plan's berth_plan.roles.<role>.proxy.handling, as a module option: how requests reach the app.
HANDLING_OPTIONS: dict[str, t.Any] = dict(
    path_prefixes=dict(type="list", elements="str", default=[]),
    strip_path_prefix=dict(type="bool", default=False),
    buffering=dict(type="dict", options=dict(max_request_body=dict(type="int", default=0),
                                             max_response_body=dict(type="int", default=0))),
    error_pages=dict(type="dict", options=dict(codes=dict(type="list", elements="int", required=True),
                                               url=dict(type="str", required=True),
                                               dir=dict(type="str"),
                                               pages=dict(type="dict", default={}))))


@dataclass(frozen=True)
class ErrorPages:
    """Answers with one of ``codes`` get the body of ``<url>/<route>/<code>.html`` (the page server); ``pages``
    (status, HTML) are written where the page server reads them as the route is applied."""
    codes: tuple[int, ...]
    url: str
    pages: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Buffering:
    """The whole request and response pass through the proxy before they go on; bodies beyond a limit
    (bytes, 0: none) get 413 (request) or 500 (response)."""
    max_request_body: int = 0
    max_response_body: int = 0


@dataclass(frozen=True)
class Hsts:
    max_age: int = 31536000
    include_subdomains: bool = False
    preload: bool = False


@dataclass(frozen=True)
class TLS:
    """HTTPS of a route: a certificate from the ACME ``resolver``, or the route's own ``certificate``
    (the stem of its files beside the proxy's configuration); plain HTTP redirects to HTTPS unless
    ``redirect`` is off (then both serve), except ``health_path``, which a load balancer may probe over HTTP."""
    resolver: str = ""
    certificate: str = ""
    redirect: bool = True
    hsts: Hsts | None = None
    health_path: str = ""
    port: int = 443  # the host's HTTPS port, where the redirect points


@dataclass(frozen=True)
class Route:
    name: str
    targets: tuple[Target, ...]
    hosts: tuple[str, ...] = ()
    path_prefix: str = "/"
    response_timeout: int = 30
    pass_host_header: bool = True
    entrypoints: tuple[str, ...] = field(default=("web",))
    tls: TLS | None = None
    path_prefixes: tuple[str, ...] = ()  # further prefixes beside path_prefix
    strip_prefix: bool = False  # the app sees the path without the prefix
    buffering: Buffering | None = None
    error_pages: ErrorPages | None = None
    sticky: bool = False  # a cookie keeps each client on the target it first reached (a canary's split)


def prefixes_of(route: Route) -> tuple[str, ...]:
    return tuple(dict.fromkeys((route.path_prefix or "/",) + route.path_prefixes))


def claims_of(route: Route) -> set[tuple[str, str]]:
    """(host name, path prefix) pairs whose requests the route takes ("": any host)."""
    return {(host.lower(), prefix) for host in route.hosts or ("",) for prefix in prefixes_of(route)}


def clash_message(route: Route, elsewhere: t.Mapping[str, list[str]]) -> str:
    """Why ``route`` cannot be written: ``elsewhere`` (Driver.claimed_elsewhere) takes some of its requests."""
    found = "; ".join(f"{name} routes {', '.join(claims)}" for name, claims in elsewhere.items())
    return (f"Route {route.name} would take requests another route on this proxy already takes ({found}). "
            "Give the services different hosts or path prefixes")


def handling_of(settings: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """Route fields from a HANDLING_OPTIONS value."""
    settings = settings or {}
    buffering, pages = settings.get("buffering"), settings.get("error_pages")
    return {"path_prefixes": tuple(settings.get("path_prefixes") or ()),
            "strip_prefix": bool(settings.get("strip_path_prefix")),
            "buffering": Buffering(**buffering) if buffering else None,
            "error_pages": ErrorPages(tuple(pages["codes"]), pages["url"], tuple(sorted(
                (int(code), html) for code, html in (pages.get("pages") or {}).items()))) if pages else None}


def tls_of(settings: t.Mapping[str, t.Any] | None, health_path: str = "", certificate: str = "") -> TLS | None:
    """The TLS of a route from its TLS_OPTIONS value (None: plain HTTP); ``certificate``: the stem of the
    route's own certificate files (mode "certificate")."""
    if not settings or settings.get("mode", "off") == "off":
        return None
    hsts = settings.get("hsts")
    return TLS(resolver=RESOLVER if settings["mode"] == "acme" else "", certificate=certificate,
               redirect=settings.get("redirect", True), hsts=Hsts(**hsts) if hsts else None, health_path=health_path,
               port=settings.get("port") or 443)


@dataclass(frozen=True)
class Canary:
    """A new version beside the serving one on a route: ``percent`` of new clients reach ``container``, the
    others ``stable`` (the containers that served before), each client kept on its side by a cookie."""
    version: str
    percent: int
    container: str
    stable: tuple[str, ...]

    def to_json(self) -> dict[str, t.Any]:
        return {"version": self.version, "percent": self.percent, "container": self.container, "stable": list(self.stable)}

    @classmethod
    def from_json(cls, data: t.Mapping[str, t.Any]) -> "Canary":
        return cls(str(data["version"]), int(data["percent"]), str(data["container"]), tuple(data["stable"]))


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

    def install_certificate(self, name: str, certificate: str, private_key: str, check_mode: bool) -> tuple[str, bool]: ...

    def installed_certificates(self, name: str) -> list[str]: ...

    def remove_certificates(self, name: str, keep: str, check_mode: bool) -> bool: ...

    def route_files(self) -> list[str]: ...

    def claimed_elsewhere(self, route: Route) -> dict[str, list[str]]: ...

    def canary(self, name: str) -> Canary | None: ...

    def set_canary(self, name: str, canary: Canary | None, check_mode: bool) -> bool: ...


def with_certificate(driver: Driver, route: Route, own: tuple[str, str] | None, check_mode: bool) -> Route:
    """A route with its own certificate: ``own`` (certificate, private_key) installed beside the proxy's
    configuration first (a new stem when it changed), or without it the one installed before (a rollback,
    maintenance mode). Other routes come back as they are."""
    if route.tls is None or route.tls.resolver:
        return route
    if own is not None:
        stem, _changed = driver.install_certificate(route.name, own[0], own[1], check_mode)
    else:
        stems = driver.installed_certificates(route.name)
        if not stems:
            raise ProxyError(f"route {route.name} has ssl with its own certificate, but none was given "
                             "(berth_roles.<role>.proxy.ssl.certificate and private_key) or installed before")
        stem = stems[0]
    return dataclasses.replace(route, tls=dataclasses.replace(route.tls, certificate=stem))


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
