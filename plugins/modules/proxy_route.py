#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: proxy_route
short_description: Point a route of the host's reverse proxy at a set of targets, confirm, drain
version_added: 0.1.0
description:
  - Makes the proxy on this host send requests for O(hosts) (and O(path_prefix)) to O(targets).
  - "Driver V(traefik): Traefik 3 with the file provider. The route's dynamic configuration file is
    replaced atomically in C(<config_dir>/dynamic/), then the module polls Traefik's API (on its
    loopback-only entrypoint) until the router is enabled and its service holds exactly the new
    servers."
  - After a confirmed switch, targets that left the route are drained. Traefik cannot report
    in-flight requests per server, so the module waits O(drain_settle) seconds for requests routed
    just before the switch; the app's graceful SIGTERM handling then finishes what is still in flight.
  - A route in maintenance mode (M(berth.deploy.maintenance)) stays in it. The new targets are put
    behind it, the proxy keeps answering 503 with the maintenance page except for the health path,
    and the module warns. Removing the route (O(state=absent)) also ends its maintenance mode.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
  - berth.deploy.attributes.full
  - berth.deploy.route_tls
  - berth.deploy.route_handling
options:
  name:
    description: Route name (router and service), e.g. C(myapp-web).
    type: str
    required: true
  state:
    description: V(present) applies the route; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description: Proxy driver.
    type: str
    choices: [traefik]
    default: traefik
  hosts:
    description: Host names the route answers for.
    type: list
    elements: str
    default: []
  path_prefix:
    description: Path prefix the route answers for.
    type: str
    default: /
  targets:
    description: Backends. Each has O(targets[].url), or O(targets[].container) and O(targets[].port).
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: Backend URL, e.g. C(http://myapp-web-v42:3000).
        type: str
      container:
        description: Container name, reached by name on the proxy's network.
        type: str
      port:
        description: Container port.
        type: int
      weight:
        description: Relative share of requests.
        type: int
        default: 1
  response_timeout:
    description: Seconds to wait for a backend's response headers.
    type: int
    default: 30
  pass_host_header:
    description: Forward the client's Host header to the backend.
    type: bool
    default: true
  entrypoints:
    description: Proxy entrypoints the route listens on (with O(tls), C(websecure), and C(web) for the redirect).
    type: list
    elements: str
    default: [web]
  certificate:
    description: With O(tls.mode=certificate), the route's PEM certificate (chain); without it, the one installed before.
    type: str
  private_key:
    description: The private key of O(certificate) (PEM), written 0600 beside the proxy's configuration.
    type: str
  config_dir:
    description: The proxy's configuration directory on the host.
    type: path
    default: /etc/berth/proxy
  api_url:
    description: The proxy's API, reachable on loopback only.
    type: str
    default: http://127.0.0.1:8080
  confirm_timeout:
    description: Seconds to wait for the proxy to confirm the change.
    type: float
    default: 10
  drain_timeout:
    description: Seconds to wait for in-flight requests to removed targets (drivers that can count them).
    type: float
    default: 30
  drain_settle:
    description: Seconds to wait after a switch that removed targets when the driver cannot count in-flight requests.
    type: float
    default: 1
  health_path:
    description:
      - While the route is in maintenance mode, requests for this path (within the route's host names
        and path prefix) still reach the targets.
      - Defaults to the path recorded when maintenance mode was turned on.
    type: str
"""

EXAMPLES = r"""
- name: Switch myapp's web traffic to v42
  berth.deploy.proxy_route:
    name: myapp-web
    hosts: [app.example.com]
    targets:
      - container: myapp-web-v42
        port: 3000
"""

RETURN = r"""
targets:
  description: Target URLs of the route after the run.
  returned: success
  type: list
  elements: str
previous_targets:
  description: Target URLs the proxy served before the run (empty when the route was new).
  returned: success
  type: list
  elements: str
removed_targets:
  description: Target URLs that left the route.
  returned: success
  type: list
  elements: str
confirm_seconds:
  description: Seconds until the proxy confirmed the change.
  returned: when changed, not in check mode
  type: float
drain_seconds:
  description: Seconds spent draining removed targets.
  returned: when changed, not in check mode
  type: float
maintenance:
  description: Whether the route is in maintenance mode (answering 503 with the maintenance page).
  returned: success
  type: bool
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils._proxy import (HANDLING_OPTIONS, TLS_OPTIONS, ProxyError, Route,
                                                                          SwitchTimings, Target, container_target, handling_of,
                                                                          make_driver, switch,
                                                                          tls_of, with_certificate)


def target_of(entry: dict[str, t.Any]) -> Target:
    if entry.get("url"):
        return Target(entry["url"], entry.get("weight") or 1)
    if entry.get("container") and entry.get("port"):
        return container_target(entry["container"], entry["port"], entry.get("weight") or 1)
    raise ValueError(f"target {entry!r} needs url, or container and port")


def absent(module: AnsibleModule, driver: t.Any) -> dict[str, t.Any]:
    name = module.params["name"]
    before_text = driver.current_config(name) or ""
    try:
        previous = [target.url for target in driver.current_targets(name) or []]
    except ProxyError:
        previous = []
    changed = driver.remove(name, module.check_mode)
    return dict(changed=changed, targets=[], previous_targets=previous, removed_targets=previous, maintenance=False,
                diff=dict(before=before_text, after=""))


def run(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    driver = make_driver(params["driver"], config_dir=params["config_dir"], api_url=params["api_url"])
    if params["state"] == "absent":
        return absent(module, driver)
    try:
        targets = tuple(target_of(entry) for entry in params["targets"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if not targets:
        module.fail_json(msg="targets is empty: a route needs at least one target (use state=absent to remove it)")
    route = Route(name=params["name"], targets=targets, hosts=tuple(params["hosts"]), path_prefix=params["path_prefix"],
                  response_timeout=params["response_timeout"], pass_host_header=params["pass_host_header"],
                  entrypoints=tuple(params["entrypoints"]), tls=tls_of(params["tls"], params["health_path"] or ""),
                  **handling_of(params["handling"]))
    own = (params["certificate"], params["private_key"]) if params["certificate"] else None
    try:
        route = with_certificate(driver, route, own, module.check_mode)
    except ProxyError as exc:
        module.fail_json(msg=str(exc))
    timings = SwitchTimings(params["confirm_timeout"], params["drain_timeout"], params["drain_settle"])
    done = switch(driver, route, module.check_mode, timings, params["health_path"])
    if done.maintenance is not None:
        module.warn(f"Route {route.name} is in maintenance mode: the proxy answers 503 with the maintenance page "
                    "(the new targets serve only the health path) until maintenance mode is turned off.")
    result: dict[str, t.Any] = dict(
        changed=done.changed, targets=[target.url for target in targets],
        previous_targets=[target.url for target in done.previous], removed_targets=[target.url for target in done.removed],
        maintenance=done.maintenance is not None, diff=dict(before=done.before_config, after=done.after_config))
    if not module.check_mode:
        result.update(confirm_seconds=done.confirm_seconds, drain_seconds=done.drain_seconds)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            driver=dict(type="str", default="traefik", choices=["traefik"]),
            hosts=dict(type="list", elements="str", default=[]),
            path_prefix=dict(type="str", default="/"),
            targets=dict(type="list", elements="dict", default=[], options=dict(
                url=dict(type="str"), container=dict(type="str"), port=dict(type="int"),
                weight=dict(type="int", default=1))),
            response_timeout=dict(type="int", default=30),
            pass_host_header=dict(type="bool", default=True, no_log=False),
            entrypoints=dict(type="list", elements="str", default=["web"]),
            tls=dict(type="dict", options=TLS_OPTIONS),
            handling=dict(type="dict", options=HANDLING_OPTIONS),
            certificate=dict(type="str"),
            private_key=dict(type="str", no_log=True),
            config_dir=dict(type="path", default="/etc/berth/proxy"),
            api_url=dict(type="str", default="http://127.0.0.1:8080"),
            confirm_timeout=dict(type="float", default=10),
            drain_timeout=dict(type="float", default=30),
            drain_settle=dict(type="float", default=1),
            health_path=dict(type="str"),
        ),
        required_together=[("certificate", "private_key")],
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except ProxyError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"Cannot write the proxy configuration under {module.params['config_dir']}: {exc}")


if __name__ == "__main__":
    main()
