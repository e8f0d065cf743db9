# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traefik 3 with the file provider.

Each route is one file ``<config_dir>/dynamic/<route>.yml`` holding its router, service and
servers transport. Files are replaced atomically (Traefik only reads .yml/.yaml/.toml, so the
temporary file is invisible to it). A switch counts as done only when Traefik's API, on its
loopback-only entrypoint, shows the router enabled and the service holding exactly the new
servers.
"""
from __future__ import annotations

import json
import os
import time
import typing as t
import urllib.error

from ansible.module_utils.urls import open_url

from ansible_collections.berth.deploy.plugins.module_utils import _files, _yaml
from ansible_collections.berth.deploy.plugins.module_utils._proxy import ProxyError, Route, Target

HEADER = "Managed by berth.deploy (berth.deploy.proxy_route): changes here are overwritten."
POLL_INTERVAL = 0.05


def rule_for(route: Route) -> str:
    parts = []
    if route.hosts:
        parts.append(" || ".join(f"Host(`{host}`)" for host in route.hosts))
        if len(route.hosts) > 1:
            parts[0] = f"({parts[0]})"
    if route.path_prefix and route.path_prefix != "/":
        parts.append(f"PathPrefix(`{route.path_prefix}`)")
    return " && ".join(parts) or "PathPrefix(`/`)"


def dynamic_config(route: Route) -> dict[str, t.Any]:
    return {
        "http": {
            "routers": {
                route.name: {
                    "rule": rule_for(route),
                    "entryPoints": list(route.entrypoints),
                    "service": route.name,
                },
            },
            "services": {
                route.name: {
                    "loadBalancer": {
                        "passHostHeader": route.pass_host_header,
                        "serversTransport": route.name,
                        "servers": [{"url": target.url, "weight": target.weight} for target in route.targets],
                    },
                },
            },
            "serversTransports": {
                route.name: {"forwardingTimeouts": {"responseHeaderTimeout": f"{route.response_timeout}s"}},
            },
        },
    }


class TraefikFileDriver:
    def __init__(self, config_dir: str, api_url: str = "http://127.0.0.1:8080", api_timeout: float = 2.0):
        self.dynamic_dir = os.path.join(config_dir, "dynamic")
        self.api_url = api_url.rstrip("/")
        self.api_timeout = api_timeout

    def path(self, name: str) -> str:
        return os.path.join(self.dynamic_dir, f"{name}.yml")

    def current_config(self, name: str) -> str | None:
        return _files.read_text(self.path(name))

    def desired_config(self, route: Route) -> str:
        return _yaml.dump(dynamic_config(route), header=HEADER)

    def apply(self, route: Route, check_mode: bool) -> bool:
        return _files.ensure_file(self.path(route.name), self.desired_config(route), 0o644, check_mode)

    def restore(self, name: str, config: str | None) -> None:
        """Put back a configuration read earlier with current_config (None: there was none)."""
        if config is None:
            _files.remove_file(self.path(name), check_mode=False)
        else:
            _files.write_atomic(self.path(name), config, 0o644)

    def remove(self, name: str, check_mode: bool) -> bool:
        return _files.remove_file(self.path(name), check_mode)

    def current_targets(self, name: str) -> list[Target] | None:
        service = self._get(f"/api/http/services/{name}@file")
        if service is None:
            return None
        servers = (service.get("loadBalancer") or {}).get("servers") or []
        return [Target(server["url"], server.get("weight", 1)) for server in servers if server.get("url")]

    def inflight(self, target: Target) -> int | None:
        return None  # Traefik 3 exposes no per-server in-flight gauge

    def confirm(self, route: Route, timeout: float) -> float:
        """Wait until Traefik serves ``route`` (router enabled, exactly its servers)."""
        started = time.monotonic()
        expected = sorted((target.url, target.weight) for target in route.targets)
        while True:
            try:
                problem = self._mismatch(route, expected)
            except ProxyError as exc:  # the proxy may be restarting: keep asking until the deadline
                problem = str(exc)
            if problem is None:
                return round(time.monotonic() - started, 3)
            if time.monotonic() - started > timeout:
                raise ProxyError(f"Traefik did not confirm route {route.name} within {timeout}s: {problem}")
            time.sleep(POLL_INTERVAL)

    def _mismatch(self, route: Route, expected: list[tuple[str, int]]) -> str | None:
        router = self._get(f"/api/http/routers/{route.name}@file")
        if router is None:
            return f"router {route.name}@file not loaded"
        if router.get("status") != "enabled":
            return f"router {route.name} is {router.get('status')}: {'; '.join(router.get('error') or [])}"
        if router.get("rule") != rule_for(route):
            return f"router {route.name} still has rule {router.get('rule')!r}"
        service = self._get(f"/api/http/services/{route.name}@file")
        if service is None:
            return f"service {route.name}@file not loaded"
        servers = (service.get("loadBalancer") or {}).get("servers") or []
        actual = sorted((server.get("url"), server.get("weight", 1)) for server in servers)
        if actual != expected:
            return f"service {route.name} has servers {actual}, expected {expected}"
        return None

    def _get(self, path: str) -> dict[str, t.Any] | None:
        try:
            with open_url(self.api_url + path, timeout=self.api_timeout, use_proxy=False) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise ProxyError(f"Traefik API {self.api_url}{path} answered {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise ProxyError(f"Traefik API at {self.api_url} is unreachable ({exc}); is the proxy running "
                             "(berth.deploy.proxy role / playbooks/setup.yml)?") from None
