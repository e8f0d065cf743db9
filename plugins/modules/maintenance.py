#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance
short_description: Put a proxy route into maintenance mode (503 with a page, health path kept) or take it out
version_added: 0.1.0
description:
  - V(enabled) makes the proxy answer every request of the route with status 503 and the maintenance
    page (O(page_template) with O(page_message), HTML-escaped), except requests for O(health_path),
    which still reach the route's current targets.
  - V(disabled) sends all requests to the current targets again and deletes the page.
  - "Driver V(traefik): Traefik cannot serve a page itself. The route's router points at a service
    without servers (Traefik answers 503) and an C(errors) middleware fetches the body of that 503 from
    O(page_url), a small page server (C(busybox httpd) run by the C(pages) entry point of the
    C(berth.deploy.proxy) role) that serves C(<config_dir>/pages/<name>.html). A C(headers) middleware
    drops the client's conditional and range headers (a 304 or part of the page would be served
    instead) and sets C(Cache-Control: no-store). The change is confirmed through Traefik's API, like
    a switch of M(berth.deploy.proxy_route)."
  - The mode is recorded in C(<config_dir>/maintenance/<name>.json), so M(berth.deploy.proxy_route)
    (every deploy) keeps the route in maintenance mode until it is disabled.
  - The targets are the ones the proxy serves now; a route that was never deployed can be put into
    maintenance mode (every request gets the page) and disabling it then removes the route.
  - Changing the message of a route in maintenance mode only rewrites the page.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
  - berth.deploy.attributes.full
  - berth.deploy.route_tls
  - berth.deploy.route_handling
options:
  name:
    description: Route name (as in M(berth.deploy.proxy_route)), e.g. C(myapp-web).
    type: str
    required: true
  state:
    description: V(enabled) turns maintenance mode on, V(disabled) turns it off.
    type: str
    choices: [enabled, disabled]
    required: true
  page_message:
    description: The message shown on the page (HTML-escaped; line breaks are kept).
    type: str
    default: ""
  page_template:
    description:
      - HTML of the page; every C(%MESSAGE%) in it is replaced by O(page_message). Defaults to a plain
        page titled "Down for maintenance".
      - Served with status 503 and C(Content-Type) from the C(.html) name; it must not load anything
        from the app (the app is not reachable), so inline styles and images.
    type: str
  page_url:
    description: The page server, reachable from the proxy, e.g. C(http://berth-proxy-pages:8080). Required when O(state=enabled).
    type: str
  health_path:
    description: Requests for this path (within the route's host names and path prefix) still reach the targets.
    type: str
    default: ""
  hosts:
    description: Host names the route answers for (as given to M(berth.deploy.proxy_route)).
    type: list
    elements: str
    default: []
  path_prefix:
    description: Path prefix the route answers for.
    type: str
    default: /
  response_timeout:
    description: Seconds to wait for a target's response headers.
    type: int
    default: 30
  pass_host_header:
    description: Forward the client's Host header to the targets.
    type: bool
    default: true
  entrypoints:
    description: Proxy entrypoints the route listens on.
    type: list
    elements: str
    default: [web]
  driver:
    description: Proxy driver.
    type: str
    choices: [traefik]
    default: traefik
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
notes:
  - The route options (O(hosts), O(path_prefix), O(response_timeout), O(pass_host_header),
    O(entrypoints)) must be the ones the route was deployed with; C(playbooks/maintenance.yml) takes
    them from the berth configuration.
seealso:
  - module: berth.deploy.proxy_route
"""

EXAMPLES = r"""
- name: Maintenance mode on for myapp's web role
  berth.deploy.maintenance:
    name: myapp-web
    state: enabled
    hosts: [app.example.com]
    health_path: /up
    page_message: Upgrading the database, back at 14:00 UTC.
    page_url: http://berth-proxy-pages:8080

- name: Maintenance mode off
  berth.deploy.maintenance:
    name: myapp-web
    state: disabled
    hosts: [app.example.com]
"""

RETURN = r"""
maintenance:
  description: Whether the route is in maintenance mode after the run.
  returned: success
  type: bool
targets:
  description: Target URLs of the route (they serve the health path in maintenance mode).
  returned: success
  type: list
  elements: str
page:
  description: Path of the page on the host.
  returned: success
  type: str
  sample: /etc/berth/proxy/pages/myapp-web.html
confirm_seconds:
  description: Seconds until the proxy confirmed the route.
  returned: when the proxy was asked to confirm a route (not in check mode, not when the route was removed)
  type: float
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils._maintenance import render_page
from ansible_collections.berth.deploy.plugins.module_utils._proxy import (HANDLING_OPTIONS, TLS_OPTIONS, Maintenance, ProxyError,
                                                                          Route, handling_of, make_driver, tls_of, with_certificate)


def file_diff(path: str, before: str, after: str) -> dict[str, str]:
    return dict(before_header=path, after_header=path, before=before, after=after)


class Switch:
    """One route's maintenance mode, switched with the previous configuration kept for a put-back."""

    def __init__(self, module: AnsibleModule):
        params = module.params
        self.check_mode = module.check_mode
        self.name = params["name"]
        self.timeout = params["confirm_timeout"]
        self.driver = make_driver(params["driver"], config_dir=params["config_dir"], api_url=params["api_url"])
        self.before_config = self.driver.current_config(self.name)
        self.before_page = self.driver.current_page(self.name)
        self.before_maintenance = self.driver.maintenance(self.name)
        targets = self.driver.current_targets(self.name)
        if targets is None and self.before_config is not None and self.before_maintenance is None:
            raise ProxyError(f"The proxy does not serve route {self.name} although {self.driver.path(self.name)} "
                             "exists: fix the route (see the proxy's log) or deploy again first")
        route = Route(name=self.name, targets=tuple(targets or ()), hosts=tuple(params["hosts"]),
                      path_prefix=params["path_prefix"], response_timeout=params["response_timeout"],
                      pass_host_header=params["pass_host_header"], entrypoints=tuple(params["entrypoints"]),
                      tls=tls_of(params["tls"], params["health_path"]), **handling_of(params["handling"]),
                      sticky=self.driver.canary(self.name) is not None)  # a canary's split keeps its cookie
        self.route = with_certificate(self.driver, route, None, self.check_mode)  # the one the deploy installed

    def enable(self, maintenance: Maintenance, page: str) -> dict[str, t.Any]:
        """Page and state first (the route refers to the page), then the route, then Traefik's confirmation."""
        changed = self.driver.set_maintenance(self.name, maintenance, page, self.check_mode)
        changed = self.driver.apply(self.route, self.check_mode, maintenance) or changed
        result = self.result(changed, maintenance, page)
        if not self.check_mode:
            result["confirm_seconds"] = self.confirm(maintenance)
        return result

    def disable(self) -> dict[str, t.Any]:
        """The route back on its targets, confirmed, before the page goes; a route without targets goes too."""
        if self.before_maintenance is None:
            return self.result(False, None, "")
        if not self.route.targets:
            return self.result(self.driver.remove(self.name, self.check_mode), None, "")
        changed = self.driver.apply(self.route, self.check_mode, None)
        confirmed = None if self.check_mode else self.confirm(None)
        changed = self.driver.set_maintenance(self.name, None, "", self.check_mode) or changed
        result = self.result(changed, None, "")
        if confirmed is not None:
            result["confirm_seconds"] = confirmed
        return result

    def confirm(self, maintenance: Maintenance | None) -> float:
        try:
            return self.driver.confirm(self.route, self.timeout, maintenance)
        except ProxyError as exc:
            self.driver.restore(self.name, self.before_config)
            self.driver.set_maintenance(self.name, self.before_maintenance, self.before_page or "", check_mode=False)
            raise ProxyError(f"{exc}. The previous route configuration and maintenance mode were put back.") from None

    def result(self, changed: bool, maintenance: Maintenance | None, page: str) -> dict[str, t.Any]:
        served = self.route.targets or maintenance is not None
        after_config = self.driver.desired_config(self.route, maintenance) if served else ""
        if self.before_maintenance is None and maintenance is None:
            after_config = self.before_config or ""  # disabling a route not in maintenance leaves it alone
        page_path = self.driver.page_path(self.name)
        return dict(
            changed=changed, maintenance=maintenance is not None, targets=[target.url for target in self.route.targets],
            page=page_path,
            diff=[file_diff(self.driver.path(self.name), self.before_config or "", after_config),
                  file_diff(page_path, self.before_page or "", page)])


def run(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    switch = Switch(module)
    if params["state"] == "disabled":
        return switch.disable()
    page = render_page(params["page_message"], params["page_template"] or "")
    return switch.enable(Maintenance(page_url=params["page_url"], health_path=params["health_path"]), page)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", required=True, choices=["enabled", "disabled"]),
            page_message=dict(type="str", default=""),
            page_template=dict(type="str"),
            page_url=dict(type="str"),
            health_path=dict(type="str", default=""),
            hosts=dict(type="list", elements="str", default=[]),
            path_prefix=dict(type="str", default="/"),
            response_timeout=dict(type="int", default=30),
            pass_host_header=dict(type="bool", default=True, no_log=False),
            entrypoints=dict(type="list", elements="str", default=["web"]),
            tls=dict(type="dict", options=TLS_OPTIONS),
            handling=dict(type="dict", options=HANDLING_OPTIONS),
            driver=dict(type="str", default="traefik", choices=["traefik"]),
            config_dir=dict(type="path", default="/etc/berth/proxy"),
            api_url=dict(type="str", default="http://127.0.0.1:8080"),
            confirm_timeout=dict(type="float", default=10),
        ),
        required_if=[("state", "enabled", ["page_url"])],
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
