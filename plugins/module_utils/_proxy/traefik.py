# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik 3 with the file provider.

Each route is one file ``<config_dir>/dynamic/<route>.yml`` holding its router, service and
servers transport. Files are replaced atomically (Traefik only reads .yml/.yaml/.toml, so the
temporary file is invisible to it). A switch counts as done only when Traefik's API, on its
loopback-only entrypoint, shows the router enabled and the service holding exactly the new
servers.

Maintenance mode (Traefik cannot serve a page itself): the route's router points at a service
without servers, for which Traefik answers 503, and an ``errors`` middleware replaces the body
of that 503 with ``/<route>.html`` from a small page server (status 503 kept). A second router,
``<route>_health``, keeps the health path on the app; its rule contains the main rule, so it is
longer and Traefik's default priority (the rule's length) picks it first. A ``headers``
middleware drops the client's conditional and range headers before they reach the page server
(a 304 or a partial page would replace the page) and marks the answer ``Cache-Control: no-store``.
The mode is recorded in ``<config_dir>/maintenance/<route>.json`` and the page in
``<config_dir>/pages/<route>.html`` (mounted into the page server), so a deploy that rewrites the
route keeps it. Names with ``_`` cannot clash with routes (``<service>-<role>[-<destination>]``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import re
import time
import typing as t
import http.client
from urllib.parse import urlsplit

from ansible_collections.berth.deploy.plugins.module_utils import _files, _yaml
from ansible_collections.berth.deploy.plugins.module_utils._proxy import (TLS, Canary, Maintenance, ProxyError, Route, Target,
                                                                          claims_of, clash_message, prefixes_of)

CONTAINER_CERTS_DIR = "/etc/traefik/certs"  # <config_dir>/certs, mounted by roles/proxy
NOOP_SERVICE = "noop@internal"  # a router that only redirects still names a service
PRIORITY_PER_HOST_KIND = 100_000  # above any rule's length
PRIORITY_PER_PREFIX_CHARACTER = 1_000_000  # above the host kinds
HEADER = "Managed by berth.deploy (berth.deploy.proxy_route): changes here are overwritten."
POLL_INTERVAL = 0.05
ROUTES_LOCK_WAIT = 30.0  # a route write takes milliseconds
# Request headers that would make the page server answer 304 or a part of the page.
CONDITIONAL_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range")
# Response headers of the page server that do not fit a 503.
PAGE_SERVER_HEADERS = ("ETag", "Last-Modified", "Accept-Ranges")


def rule_for(route: Route) -> str:
    parts = [_any_of([host_matcher(host) for host in route.hosts])] if route.hosts else []
    prefixes = [prefix for prefix in prefixes_of(route) if prefix != "/"]
    if prefixes and len(prefixes) == len(prefixes_of(route)):
        parts.append(_any_of([f"PathPrefix(`{prefix}`)" for prefix in prefixes]))
    return " && ".join(parts) or "PathPrefix(`/`)"


def host_matcher(host: str) -> str:
    """Host(`name`), or for a wildcard ``*.example.com`` (which Host() never matches) one label before it."""
    if host.startswith("*."):
        return f"HostRegexp(`(?i)^[^.]+{re.escape(host[1:])}$`)"
    return f"Host(`{host}`)"


def priority(route: Route, rule: str) -> int:
    """Traefik ranks routers by priority (by default the rule's length). Here a longer path prefix wins; with
    the same prefixes, named hosts win over a wildcard and a wildcard over any host; then the longer rule (a
    route's health-path routers above its main router)."""
    prefixes = [prefix for prefix in prefixes_of(route) if prefix != "/"]
    shortest = min(len(prefix) for prefix in prefixes) if prefixes and len(prefixes) == len(prefixes_of(route)) else 0
    hosts = 0 if not route.hosts else 1 if any(host.startswith("*.") for host in route.hosts) else 2
    return shortest * PRIORITY_PER_PREFIX_CHARACTER + hosts * PRIORITY_PER_HOST_KIND + len(rule)


def _any_of(matchers: list[str]) -> str:
    return matchers[0] if len(matchers) == 1 else f"({' || '.join(matchers)})"


def health_rule(route: Route, health_path: str) -> str:
    """The main rule narrowed to the health path (the query string is not part of a path match)."""
    return f"{rule_for(route)} && Path(`{health_path.split('?', 1)[0]}`)"


RULE_LINE = re.compile(r"^\s*rule:\s*(.+)$", re.MULTILINE)
HOST_MATCHER = re.compile(r"Host\(`([^`]*)`\)")
WILDCARD_MATCHER = re.compile(r"HostRegexp\(`\(\?i\)\^\[\^\.\]\+([^`]+)\$`\)")  # host_matcher's wildcard form
PREFIX_MATCHER = re.compile(r"PathPrefix\(`([^`]*)`\)")


def claims_in(text: str) -> set[tuple[str, str]]:
    """The claims of the routers in a dynamic configuration file (health-path routers narrow a claim: skipped)."""
    claims = set()
    for rule in map(_unquoted, RULE_LINE.findall(text)):
        if "Path(`" in rule:
            continue
        prefixes = PREFIX_MATCHER.findall(rule) or ["/"]
        hosts = HOST_MATCHER.findall(rule) + ["*" + re.sub(r"\\(.)", r"\1", suffix) for suffix in WILDCARD_MATCHER.findall(rule)]
        claims |= {(host.lower(), prefix) for host in hosts or [""] for prefix in prefixes}
    return claims


def _unquoted(value: str) -> str:
    """A YAML scalar as written in a route file: _yaml writes strings double-quoted, with JSON's escapes."""
    value = value.strip()
    if value.startswith('"'):
        try:
            return str(json.loads(value))
        except ValueError:
            return value
    return value[1:-1].replace("''", "'") if value.startswith("'") else value


def maintenance_names(name: str) -> dict[str, str]:
    """Traefik object names of a route's maintenance mode."""
    return {"health": f"{name}_health", "unavailable": f"{name}_unavailable", "page": f"{name}_page",
            "headers": f"{name}_page-headers"}


def tls_names(name: str) -> dict[str, str]:
    """Traefik object names of a route's HTTPS: the plain-HTTP router (redirecting or serving), the health
    path over plain HTTP, the redirect and the HSTS header."""
    return {"http": f"{name}_http", "http_health": f"{name}_http-health", "redirect": f"{name}_https-redirect",
            "hsts": f"{name}_hsts"}


def optional_routers(name: str) -> list[str]:
    """Routers a route has only in some modes (a confirmation checks that the ones it no longer has are gone)."""
    names, tls = maintenance_names(name), tls_names(name)
    return [names["health"], tls["http"], tls["http_health"]]


def certificate_files(stem: str) -> dict[str, str]:
    """Where the proxy's container reads a route's own certificate (``<config_dir>/certs`` on the host)."""
    return {"certFile": f"{CONTAINER_CERTS_DIR}/{stem}.crt", "keyFile": f"{CONTAINER_CERTS_DIR}/{stem}.key"}


def handling_names(name: str) -> dict[str, str]:
    """Traefik object names of how a route's requests reach the app."""
    return {"strip": f"{name}_strip-prefix", "buffering": f"{name}_buffering", "errors": f"{name}_error-pages"}


def _handling(route: Route) -> dict[str, t.Any]:
    """The middlewares every router that reaches the app goes through (prefix stripped, buffering)."""
    names, middlewares = handling_names(route.name), {}
    if route.strip_prefix:
        middlewares[names["strip"]] = {"stripPrefix": {"prefixes": [prefix for prefix in prefixes_of(route) if prefix != "/"]}}
    if route.buffering is not None:
        middlewares[names["buffering"]] = {"buffering": {"maxRequestBodyBytes": route.buffering.max_request_body,
                                                         "maxResponseBodyBytes": route.buffering.max_response_body}}
    if route.error_pages is not None:
        middlewares[names["errors"]] = {"errors": {"status": [str(code) for code in route.error_pages.codes],
                                                   "service": names["errors"], "query": f"/{route.name}/{{status}}.html"}}
    return middlewares


def dynamic_config(route: Route, maintenance: Maintenance | None = None) -> dict[str, t.Any]:
    main: dict[str, t.Any] = {"rule": rule_for(route), "entryPoints": list(route.entrypoints), "service": route.name}
    http: dict[str, t.Any] = {"routers": {route.name: main}, "middlewares": {}}
    services = {route.name: _app_service(route)} if route.targets else {}
    serving = [route.name]
    if route.tls is not None:
        serving += _add_tls(http, route, route.tls)
    handling = _handling(route)
    if route.error_pages is not None:
        services[handling_names(route.name)["errors"]] = {"loadBalancer": {
            "passHostHeader": False, "servers": [{"url": route.error_pages.url}]}}
    if handling:
        http["middlewares"].update(handling)
        for router in http["routers"].values():
            if router["service"] == route.name:
                router["middlewares"] = router.get("middlewares", []) + list(handling)
    if maintenance is not None:
        for name in serving:
            _add_maintenance(http, services, route, maintenance, name)
    for router in http["routers"].values():
        router["priority"] = priority(route, router["rule"])
    http["services"] = services
    if not http["middlewares"]:
        del http["middlewares"]
    if route.targets:
        http["serversTransports"] = {
            route.name: {"forwardingTimeouts": {"responseHeaderTimeout": f"{route.response_timeout}s"}},
        }
    config: dict[str, t.Any] = {"http": http}
    if route.tls is not None and route.tls.certificate:
        config["tls"] = {"certificates": [certificate_files(route.tls.certificate)]}
    return config


def _add_tls(http: dict[str, t.Any], route: Route, tls: TLS) -> list[str]:
    """The main router on websecure with its certificate; plain HTTP redirects (health path excepted) or
    serves too. -> the names of the extra routers that serve the app (maintenance mode covers them)."""
    names = tls_names(route.name)
    main = http["routers"][route.name]
    main["entryPoints"] = ["websecure"]
    main["tls"] = {"certResolver": tls.resolver} if tls.resolver else {}
    if tls.resolver and any(host.startswith("*.") for host in route.hosts):  # no name to infer from HostRegexp
        main["tls"]["domains"] = [{"main": host} for host in route.hosts]
    if tls.hsts is not None:
        main["middlewares"] = [names["hsts"]]
        http["middlewares"][names["hsts"]] = {"headers": {
            "stsSeconds": tls.hsts.max_age, "stsIncludeSubdomains": tls.hsts.include_subdomains,
            "stsPreload": tls.hsts.preload}}
    if not tls.redirect:
        http["routers"][names["http"]] = {"rule": main["rule"], "entryPoints": ["web"], "service": route.name}
        return [names["http"]]
    http["routers"][names["http"]] = {"rule": main["rule"], "entryPoints": ["web"], "service": NOOP_SERVICE,
                                      "middlewares": [names["redirect"]]}
    http["middlewares"][names["redirect"]] = {"redirectScheme": {"scheme": "https", "permanent": True,
                                                                 **({"port": str(tls.port)} if tls.port != 443 else {})}}
    if tls.health_path and route.targets:
        http["routers"][names["http_health"]] = {"rule": health_rule(route, tls.health_path), "entryPoints": ["web"],
                                                 "service": route.name}
    return []


def _app_service(route: Route) -> dict[str, t.Any]:
    balancer: dict[str, t.Any] = {
        "passHostHeader": route.pass_host_header,
        "serversTransport": route.name,
        "servers": [{"url": target.url, "weight": target.weight} for target in route.targets],
    }
    if route.sticky:
        balancer["sticky"] = {"cookie": {"name": sticky_cookie(route.name), "httpOnly": True,
                                         "secure": route.tls is not None and route.tls.redirect, "sameSite": "lax"}}
    return {"loadBalancer": balancer}


def sticky_cookie(name: str) -> str:
    """The cookie that keeps a client on one side of a canary (the value names the server it reached)."""
    return f"berth_{name.replace('-', '_')}"


def _add_maintenance(http: dict[str, t.Any], services: dict[str, t.Any], route: Route, maintenance: Maintenance,
                     router_name: str) -> None:
    """Send the router to a 503 with the page; keep the health path on the app's service."""
    names = maintenance_names(route.name)
    router = http["routers"][router_name]
    router["service"] = names["unavailable"]
    errors = handling_names(route.name)["errors"]  # the maintenance page, not the 503 error page
    router["middlewares"] = [name for name in router.get("middlewares", []) if name != errors] + [names["headers"], names["page"]]
    health_name = names["health"] if router_name == route.name else f"{router_name}-health"
    if route.targets and maintenance.health_path:
        health = {"rule": health_rule(route, maintenance.health_path), "entryPoints": router["entryPoints"],
                  "service": route.name, **({"middlewares": list(_handling(route))} if _handling(route) else {})}
        if "tls" in router:
            health["tls"] = router["tls"]
        http["routers"][health_name] = health
    http["middlewares"].update({
        names["headers"]: {"headers": {
            "customRequestHeaders": {header: "" for header in CONDITIONAL_HEADERS},
            "customResponseHeaders": {"Cache-Control": "no-store", **{header: "" for header in PAGE_SERVER_HEADERS}},
        }},
        names["page"]: {"errors": {"status": ["503"], "service": names["page"], "query": f"/{route.name}.html"}},
    })
    services[names["unavailable"]] = {"loadBalancer": {"servers": []}}  # no servers: Traefik answers 503
    services[names["page"]] = {"loadBalancer": {"passHostHeader": False, "servers": [{"url": maintenance.page_url}]}}


def _local(name: t.Any) -> str:
    """``name@provider`` -> ``name`` (the API qualifies references, the file does not); ``x@internal`` stays."""
    text = str(name or "")
    return text if text.endswith("@internal") else text.split("@", 1)[0]


def _servers(servers: list[dict[str, t.Any]]) -> list[tuple[t.Any, t.Any]]:
    return sorted((server.get("url"), server.get("weight", 1)) for server in servers)


State = t.TypeVar("State")


def _read_state(path: str, build: t.Callable[[t.Any], State], what: str, fix: str) -> State | None:
    """A state berth recorded beside the proxy's configuration as JSON (None: none recorded)."""
    text = _files.read_text(path)
    if text is None:
        return None
    try:
        return build(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise ProxyError(f"{path} is not {what} written by berth.deploy ({exc}); {fix}") from None


class TraefikFileDriver:
    def __init__(self, config_dir: str, api_url: str = "http://127.0.0.1:8080", api_timeout: float = 2.0):
        self.config_dir = config_dir
        self.dynamic_dir = os.path.join(config_dir, "dynamic")
        self.api_url = api_url.rstrip("/")
        self.api_timeout = api_timeout

    def path(self, name: str) -> str:
        return os.path.join(self.dynamic_dir, f"{name}.yml")

    def canary_path(self, name: str) -> str:
        return os.path.join(self.config_dir, "canary", f"{name}.json")

    def canary(self, name: str) -> Canary | None:
        return _read_state(self.canary_path(name), Canary.from_json, "a canary state", "abort the canary "
                           "(playbooks/canary.yml -e canary_action=abort) or remove the file")

    def set_canary(self, name: str, canary: Canary | None, check_mode: bool) -> bool:
        if canary is None:
            return _files.remove_file(self.canary_path(name), check_mode)
        return _files.ensure_file(self.canary_path(name), json.dumps(canary.to_json(), sort_keys=True) + "\n", 0o644,
                                  check_mode)

    def maintenance_path(self, name: str) -> str:
        return os.path.join(self.config_dir, "maintenance", f"{name}.json")

    def page_path(self, name: str) -> str:
        return os.path.join(self.config_dir, "pages", f"{name}.html")

    def certificate_path(self, stem: str, suffix: str) -> str:
        return os.path.join(self.config_dir, "certs", f"{stem}.{suffix}")

    def install_certificate(self, name: str, certificate: str, private_key: str, check_mode: bool) -> tuple[str, bool]:
        """Write a route's own certificate and key (0600) under a stem that changes with the certificate, so the
        route's file changes too and Traefik loads the new one. -> (stem, changed)."""
        stem = f"{name}-{hashlib.sha256(certificate.encode()).hexdigest()[:12]}"
        if not check_mode:
            os.makedirs(os.path.dirname(self.certificate_path(stem, "crt")), mode=0o700, exist_ok=True)
        changed = _files.ensure_file(self.certificate_path(stem, "key"), private_key.strip() + "\n", 0o600, check_mode)
        changed = _files.ensure_file(self.certificate_path(stem, "crt"), certificate.strip() + "\n", 0o600,
                                     check_mode) or changed
        return stem, changed

    def installed_certificates(self, name: str) -> list[str]:
        """Stems of the route's certificates on the host: the one its route file names first, then newest first."""
        paths = glob.glob(os.path.join(glob.escape(os.path.join(self.config_dir, "certs")), f"{glob.escape(name)}-*.crt"))
        own = re.compile(re.escape(name) + r"-[0-9a-f]{12}")  # not another route's (name-staging-...)
        stems = [os.path.basename(path)[:-4] for path in sorted(paths, key=os.path.getmtime, reverse=True)
                 if own.fullmatch(os.path.basename(path)[:-4])]
        serving = re.search(re.escape(CONTAINER_CERTS_DIR) + "/(" + own.pattern + r")\.crt", self.current_config(name) or "")
        if serving and serving.group(1) in stems:  # the one the route serves, not one a failed switch left behind
            stems.remove(serving.group(1))
            stems.insert(0, serving.group(1))
        return stems

    def remove_certificates(self, name: str, keep: str, check_mode: bool) -> bool:
        """Remove the route's certificates other than ``keep`` (once the proxy serves ``keep``)."""
        changed = False
        for stem in self.installed_certificates(name):
            if stem != keep:
                for suffix in ("crt", "key"):
                    changed = _files.remove_file(self.certificate_path(stem, suffix), check_mode) or changed
        return changed

    def route_files(self) -> list[str]:
        """The route files on this proxy (services', hand-written ones), without the proxy's own (``berth_*``)."""
        return [os.path.basename(path) for path in sorted(glob.glob(os.path.join(glob.escape(self.dynamic_dir), "*.y*ml")))
                if not os.path.basename(path).startswith("berth_")]

    def claimed_elsewhere(self, route: Route) -> dict[str, list[str]]:
        """Other routes on this proxy (another service's, a hand-written file) that take requests ``route``
        would take: file -> the host/prefix pairs both claim."""
        wanted = claims_of(route)
        found: dict[str, list[str]] = {}
        for name in self.route_files():
            if name.rsplit(".", 1)[0] == route.name:
                continue
            shared = wanted & claims_in(_files.read_text(os.path.join(self.dynamic_dir, name)) or "")
            if shared:
                found[name] = sorted(f"{host or '*'}{prefix}" for host, prefix in shared)
        return found

    def current_config(self, name: str) -> str | None:
        return _files.read_text(self.path(name))

    def desired_config(self, route: Route, maintenance: Maintenance | None = None) -> str:
        return _yaml.dump(dynamic_config(route, maintenance), header=HEADER)

    def apply(self, route: Route, check_mode: bool, maintenance: Maintenance | None = None) -> bool:
        """Write the route's file unless another route now claims some of its requests: two services' releases
        check and write under one lock, so neither writes over a claim the other made since it checked."""
        lock = contextlib.nullcontext() if check_mode else _files.FileLock(
            os.path.join(self.config_dir, "routes.lock"), ROUTES_LOCK_WAIT, "another release writing a route")
        with lock:
            elsewhere = self.claimed_elsewhere(route)
            if elsewhere:
                raise ProxyError(clash_message(route, elsewhere))
            pages = dict(route.error_pages.pages) if route.error_pages is not None else {}
            changed = self.set_error_pages(route.name, pages, check_mode) if pages else False
            return _files.ensure_file(self.path(route.name), self.desired_config(route, maintenance), 0o644,
                                      check_mode) or changed

    def error_pages_dir(self, name: str) -> str:
        return os.path.join(self.config_dir, "pages", name)

    def set_error_pages(self, name: str, pages: t.Mapping[int, str], check_mode: bool) -> bool:
        """Make ``<config_dir>/pages/<route>/`` hold exactly ``pages`` (status -> HTML), readable by the page server."""
        directory = self.error_pages_dir(name)
        changed = False
        for code, html in sorted(pages.items()):
            changed = _files.ensure_file(os.path.join(directory, f"{code}.html"), html, 0o644, check_mode) or changed
        for path in glob.glob(os.path.join(glob.escape(directory), "*.html")):
            if os.path.basename(path) not in {f"{code}.html" for code in pages}:
                changed = _files.remove_file(path, check_mode) or changed
        return changed

    def maintenance(self, name: str) -> Maintenance | None:
        return _read_state(self.maintenance_path(name), lambda data: Maintenance(**data), "a maintenance state",
                           "turn maintenance mode off (playbooks/maintenance.yml -e maintenance=off) or on again")

    def current_page(self, name: str) -> str | None:
        return _files.read_text(self.page_path(name))

    def set_maintenance(self, name: str, maintenance: Maintenance | None, page: str, check_mode: bool) -> bool:
        """Record maintenance mode and its page (the page first: it must exist once the route uses it)."""
        if maintenance is None:
            state_removed = _files.remove_file(self.maintenance_path(name), check_mode)
            return _files.remove_file(self.page_path(name), check_mode) or state_removed
        page_changed = _files.ensure_file(self.page_path(name), page, 0o644, check_mode)
        state = json.dumps(dataclasses.asdict(maintenance), sort_keys=True) + "\n"
        return _files.ensure_file(self.maintenance_path(name), state, 0o644, check_mode) or page_changed

    def restore(self, name: str, config: str | None) -> None:
        """Put back a configuration read earlier with current_config (None: there was none)."""
        if config is None:
            _files.remove_file(self.path(name), check_mode=False)
        else:
            _files.write_atomic(self.path(name), config, 0o644)

    def remove(self, name: str, check_mode: bool) -> bool:
        """Remove the route, and its maintenance mode, certificates and canary with it (a new route with this name
        starts afresh)."""
        removed = _files.remove_file(self.path(name), check_mode)
        removed = self.remove_certificates(name, "", check_mode) or removed
        removed = self.set_canary(name, None, check_mode) or removed
        removed = self.set_error_pages(name, {}, check_mode) or removed
        return self.set_maintenance(name, None, "", check_mode) or removed

    def current_targets(self, name: str) -> list[Target] | None:
        service = self._get(f"/api/http/services/{name}@file")
        if service is None:
            return None
        servers = (service.get("loadBalancer") or {}).get("servers") or []
        return [Target(server["url"], server.get("weight", 1)) for server in servers if server.get("url")]

    def inflight(self, target: Target) -> int | None:
        return None  # Traefik 3 exposes no per-server in-flight gauge

    def confirm(self, route: Route, timeout: float, maintenance: Maintenance | None = None) -> float:
        """Wait until Traefik serves ``route`` as rendered: routers enabled, rules, services, servers."""
        started = time.monotonic()
        http = dynamic_config(route, maintenance)["http"]
        gone = [name for name in optional_routers(route.name) if name not in http["routers"]]
        while True:
            try:
                problem = self._mismatch(http, gone)
            except ProxyError as exc:  # the proxy may be restarting: keep asking until the deadline
                problem = str(exc)
            if problem is None:
                return round(time.monotonic() - started, 3)
            if time.monotonic() - started > timeout:
                raise ProxyError(f"Traefik did not confirm route {route.name} within {timeout}s: {problem}")
            time.sleep(POLL_INTERVAL)

    def _mismatch(self, http: dict[str, t.Any], gone: list[str]) -> str | None:
        """What Traefik serves differently from ``http`` (a rendered file), or None."""
        for name, wanted in http["routers"].items():
            problem = self._router_mismatch(name, wanted)
            if problem:
                return problem
        for name in gone:
            if self._get(f"/api/http/routers/{name}@file") is not None:
                return f"router {name}@file is still loaded"
        for name, wanted in http["services"].items():
            service = self._get(f"/api/http/services/{name}@file")
            if service is None:
                return f"service {name}@file not loaded"
            actual = _servers((service.get("loadBalancer") or {}).get("servers") or [])
            expected = _servers(wanted["loadBalancer"]["servers"])
            if actual != expected:
                return f"service {name} has servers {actual}, expected {expected}"
        return None

    def _router_mismatch(self, name: str, wanted: dict[str, t.Any]) -> str | None:
        router = self._get(f"/api/http/routers/{name}@file")
        if router is None:
            return f"router {name}@file not loaded"
        if router.get("status") != "enabled":
            return f"router {name} is {router.get('status')}: {'; '.join(router.get('error') or [])}"
        if router.get("rule") != wanted["rule"]:
            return f"router {name} still has rule {router.get('rule')!r}"
        if _local(router.get("service")) != wanted["service"]:
            return f"router {name} still uses service {router.get('service')!r}"
        if "tls" in wanted and (router.get("tls") or {}).get("certResolver", "") != wanted["tls"].get("certResolver", ""):
            return f"router {name} has TLS {router.get('tls')!r}, expected {wanted['tls']!r}"
        middlewares = [_local(middleware) for middleware in router.get("middlewares") or []]
        if middlewares != wanted.get("middlewares", []):
            return f"router {name} has middlewares {middlewares}, expected {wanted.get('middlewares', [])}"
        return None

    def _get(self, path: str) -> dict[str, t.Any] | None:
        """GET a path of Traefik's API (plain HTTP on loopback: no proxy, no TLS); None for 404."""
        parts = urlsplit(self.api_url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.api_timeout)
        try:
            connection.request("GET", (parts.path.rstrip("/") or "") + path, headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ProxyError(f"Traefik API at {self.api_url} is unreachable ({exc}); is the proxy running "
                             "(berth.deploy.proxy role / playbooks/setup.yml)?") from None
        finally:
            connection.close()
        if response.status == 404:
            return None
        if response.status == 403:
            raise ProxyError(f"Traefik API {self.api_url}{path} answered 403: it answers only the deploy network's "
                             "gateway (berth_api.yml); run playbooks/setup.yml after the network changed")
        if response.status != 200:
            raise ProxyError(f"Traefik API {self.api_url}{path} answered {response.status}")
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError as exc:
            raise ProxyError(f"Traefik API {self.api_url}{path} answered something that is not JSON ({exc})") from None
