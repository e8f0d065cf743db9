#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: release
short_description: Release a version of a berth service on one host, all its roles in one call
version_added: 0.2.0
description:
  - For one host and every berth role on it (give web roles first), in one process with one Docker
    client; pull the image once, then per role
    B(boot) the new container beside the serving one,
    B(health)-check it,
    B(switch) the proxy route to it and confirm it through the proxy's API (roles with O(roles[].proxy)),
    B(drain) the old container,
    B(stop) the old containers gracefully and keep the newest O(retain);
    finally remove images of O(image) that no container on the host uses and no other run (another
    destination or service) has just pulled (see M(berth.deploy.image)); the pull pins the image until
    this run's containers exist.
  - Every spec booted gets a container of its own, named C(<service>-<role>[-<destination>]-<version>-<hash>)
    after its spec hash, so redeploying the serving version with a changed setting is a blue/green switch
    and a route never follows a name onto an unchecked container. A spec that already runs is left
    alone (C(changed=false)).
  - If a step fails, the new container is stopped and kept for inspection, the route stays on (or is put
    back to) the container that served, roles of this host that had switched already are put back,
    and the module fails naming the step, with the health responses and the container's last log lines.
  - With O(restore), the named containers (retained ones, see C(previous_container) in the result) are
    started, checked and switched to instead, and the current ones retire; a rollback without a pull.
  - The step modules M(berth.deploy.image), M(berth.deploy.container), M(berth.deploy.healthcheck) and
    M(berth.deploy.proxy_route) do the same steps one at a time, for your own playbooks.
author:
  - berth.deploy maintainers (@berth-deploy)
attributes:
  check_mode:
    support: full
    details: Asks the registry whether the image changed, and reports what would be booted, switched and stopped.
  diff_mode:
    support: full
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.docker
  - berth.deploy.attributes
options:
  version:
    description: The version (image tag) to release.
    type: str
    required: true
  image:
    description: The image repository, without tag (C(berth_image)).
    type: str
    required: true
  pull:
    description: V(always) asks the registry (a moved tag is noticed); V(missing) uses a local copy when there is one.
    type: str
    choices: [always, missing]
    default: always
  username:
    description: Registry user for the pull (only for the registry of O(image)).
    type: str
  password:
    description: Registry password.
    type: str
  network:
    description: Docker network of the containers (the proxy reaches them by name there).
    type: str
    required: true
  log_driver:
    description: Docker log driver of the containers.
    type: str
    default: json-file
  log_options:
    description: Log driver options.
    type: dict
    default: {max-size: 10m}
  log_secret_options:
    description:
      - Log driver options that hold secrets (a log-shipping token, a URL with a password), merged over
        O(log_options); their values are masked in the module's arguments and results.
    type: dict
    default: {}
  roles:
    description:
      - The berth roles on this host, in order (web roles first), as C(berth_plan.roles) holds them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Role name.
        type: str
        required: true
      cmd:
        description: Command (a string or a list); the image's when unset.
        type: raw
      env:
        description: Clear environment variables.
        type: dict
        default: {}
      secret_names:
        description: Names of the secret variables the role needs (values in O(secret_env)).
        type: list
        elements: str
        default: []
      env_file:
        description: Where the role's environment is written (mode 0600) for one-off commands.
        type: path
      volumes:
        description: C(SOURCE:/path[:ro|rw]) mounts.
        type: list
        elements: str
        default: []
      options:
        description: Docker run options (see M(berth.deploy.container)).
        type: dict
        default: {}
      stop_timeout:
        description: Seconds an old container gets to finish after SIGTERM.
        type: int
        default: 30
      readiness_delay:
        description: Roles without proxy, seconds the new container must keep running to count as healthy.
        type: float
        default: 0
      container_prefix:
        description: Ignored (it is part of C(berth_plan.roles)); names come from O(service), the role and O(destination).
        type: str
      route:
        description: Name of the role's proxy route; required with O(roles[].proxy).
        type: str
      assets:
        description:
          - Asset bridging (C(berth_roles.<role>.asset_path), Kamal's C(asset_path)) - the image's O(roles[].assets.path)
            is copied to O(roles[].assets.dir) on the host and a volume of its files plus the serving version's is mounted
            over it, and the serving container's volume gets the new files, so neither version answers 404 for the other's
            fingerprinted assets. The files of the version before stay for one release.
        type: dict
        suboptions:
          path:
            description: The asset directory in the image, e.g. V(/rails/public/assets).
            type: str
            required: true
          dir:
            description: Where the role's asset copies live on the host.
            type: path
            required: true
          options:
            description: Mount options (V(ro), V(z), ...).
            type: str
            default: ""
      proxy:
        description: The role's route; a role without one serves no HTTP (a worker) and is checked by O(roles[].readiness_delay).
        type: dict
        suboptions:
          hosts:
            description: Host names the route answers.
            type: list
            elements: str
            default: []
          path_prefix:
            description: Path prefix the route answers.
            type: str
            default: /
          app_port:
            description: Port the app listens on in the container.
            type: int
            required: true
          response_timeout:
            description: Seconds the proxy waits for a response.
            type: int
            default: 30
          pass_host_header:
            description: Pass the client's Host header to the app.
            type: bool
            default: true
          handling:
            description: How requests reach the app (C(berth_plan.roles.<role>.proxy.handling)), as O(berth.deploy.proxy_route#module:handling).
            type: dict
            suboptions:
              path_prefixes:
                description: Further path prefixes the route takes.
                type: list
                elements: str
                default: []
              strip_path_prefix:
                description: The app sees the path without the matched prefix.
                type: bool
                default: false
              buffering:
                description: The proxy reads whole requests and responses first; omit for streaming.
                type: dict
                suboptions:
                  max_request_body:
                    description: Larger request bodies get 413 (bytes; 0 is no limit).
                    type: int
                    default: 0
                  max_response_body:
                    description: Larger response bodies get 500 (bytes; 0 is no limit).
                    type: int
                    default: 0
              error_pages:
                description:
                  - Answers with one of these statuses get the page C(<url>/<route>/<status>.html) as their body, status kept
                    (C(playbooks/setup.yml) runs the page server; C(pages) are written for it as the route is). Omit for none.
                type: dict
                suboptions:
                  codes:
                    description: The statuses that have a page, e.g. V([502, 503, 504]).
                    type: list
                    elements: int
                    required: true
                  url:
                    description: The page server, reachable from the proxy (C(berth_plan.proxy.pages_url)).
                    type: str
                    required: true
                  dir:
                    description: The controller directory the pages came from (for reference).
                    type: str
                  pages:
                    description: Status -> the page's HTML (C(berth_plan) reads them from the controller directory).
                    type: dict
                    default: {}
          tls:
            description: HTTPS of the route (C(berth_plan.roles.<role>.proxy.tls)), as O(berth.deploy.proxy_route#module:tls).
            type: dict
            suboptions:
              mode:
                description: V(off) (plain HTTP), V(acme) (the proxy's ACME resolver) or V(certificate) (O(tls_certificates)).
                type: str
                default: "off"
                choices: ["off", acme, certificate]
              redirect:
                description: Plain HTTP answers a permanent redirect to HTTPS (the health path excepted).
                type: bool
                default: true
              port:
                description: The host's HTTPS port (C(berth_proxy.https_port)), where the redirect points.
                type: int
                default: 443
              hsts:
                description: Send C(Strict-Transport-Security) over HTTPS; omit for none.
                type: dict
                suboptions:
                  max_age:
                    description: Seconds browsers remember to use HTTPS.
                    type: int
                    default: 31536000
                  include_subdomains:
                    description: Add C(includeSubDomains).
                    type: bool
                    default: false
                  preload:
                    description: Add C(preload).
                    type: bool
                    default: false
          healthcheck:
            description: How the new container is probed before the switch.
            type: dict
            default: {}
            suboptions:
              path:
                description: Path that answers 2xx when the app is ready.
                type: str
                default: /up
              port:
                description: Port probed; O(roles[].proxy.app_port) when unset.
                type: int
              interval:
                description: Seconds between tries.
                type: float
                default: 1
              timeout:
                description: Seconds one try may take.
                type: float
                default: 5
  secret_env:
    description: "Secret environment values per role, e.g. C({web: {SECRET_KEY_BASE: ...}}); never shown, never in labels."
    type: dict
    default: {}
  tls_certificates:
    description:
      - Own certificates per role whose route has C(tls.mode=certificate), role -> C(certificate) and C(private_key)
        (PEM; filter P(berth.deploy.route_certificates#filter)); written 0600 beside the proxy's configuration, never shown.
      - A role without one keeps the certificate installed before (a rollback).
    type: dict
    default: {}
  proxy:
    description: Where the host's proxy is.
    type: dict
    default: {}
    suboptions:
      driver:
        description: The proxy driver.
        type: str
        choices: [traefik]
        default: traefik
      config_dir:
        description: The proxy's configuration directory.
        type: path
        default: /etc/berth/proxy
      api_url:
        description: The proxy's API, on loopback.
        type: str
        default: http://127.0.0.1:8080
      confirm_timeout:
        description: Seconds the proxy gets to confirm a switch.
        type: float
        default: 10
      drain_settle:
        description: Seconds an old container keeps getting no new requests before it is stopped.
        type: float
        default: 1
  deploy_timeout:
    description: Seconds a new container gets to become healthy.
    type: float
    default: 30
  drain_timeout:
    description: Seconds to wait for in-flight requests to an old container (when the proxy can tell).
    type: float
    default: 30
  retain:
    description: How many containers of each role to keep (running ones and the one that served before always stay).
    type: int
    default: 5
  restore:
    description: Role -> container to serve again (a rollback); no pull, no new container.
    type: dict
    default: {}
  canary:
    description:
      - A canary release (docs/proxy.md). V(start) boots O(version) for the web roles beside the serving
        containers and sends O(canary_percent) of new clients to it, each client kept on its side by a cookie;
        nothing retires and the other roles are not touched. Again with the same version, it changes the share.
      - V(promote) releases the canary's version normally (its containers are reused; the old ones drain and
        retire; the other roles follow). V(abort) serves again what served before and removes the canary's containers.
      - Empty (a normal release) fails before anything changes while a canary runs on the host.
    type: str
    default: ""
    choices: ["", start, promote, abort]
  canary_percent:
    description: With O(canary=start), the share of new clients (1-99) sent to the canary.
    type: int
    default: 0
  audit_log:
    description: Append one line about this release to this file (mode 0640); none when unset.
    type: path
  performer:
    description: Who releases, for the audit line.
    type: str
    default: ""
  reason:
    description: Why (C(berth_message)), for the audit line.
    type: str
    default: ""
  host_lock:
    description:
      - A lock file on the host; a second release of the service waits until the first has ended (or died).
    type: path
  host_lock_wait:
    description: Seconds to wait for O(host_lock).
    type: float
    default: 120
"""

EXAMPLES = r"""
- name: Release v42 of every role of this host
  berth.deploy.release:
    service: myapp
    version: v42
    image: registry.example.com/acme/myapp
    network: berth
    roles:
      - name: web
        route: myapp-web
        proxy: {hosts: [app.example.com], app_port: 3000, healthcheck: {path: /up}}
        env: {RAILS_ENV: production}
        secret_names: [SECRET_KEY_BASE]
      - name: job
        cmd: bin/jobs
        readiness_delay: 5
    secret_env:
      web: {SECRET_KEY_BASE: "{{ vault_secret_key_base }}"}
      job: {SECRET_KEY_BASE: "{{ vault_secret_key_base }}"}
  register: released

- name: Roll this host back to what served before
  berth.deploy.release:
    service: myapp
    version: v42
    image: registry.example.com/acme/myapp
    network: berth
    roles: "{{ my_roles }}"
    restore:
      web: "{{ released.roles.web.previous_container }}"
"""

RETURN = r"""
roles:
  description: Per role, what the release did.
  returned: success
  type: dict
  sample:
    web:
      container: myapp-web-v42-3f2a1c9
      version: v42
      previous: [v41]
      previous_container: myapp-web-v41-0b1e7d2
      changed: true
      actions: [created myapp-web-v42-3f2a1c9, started myapp-web-v42-3f2a1c9, switched route myapp-web to myapp-web-v42-3f2a1c9, stopped myapp-web-v41-0b1e7d2]
      seconds: {pull: 0.21, boot: 0.48, health: 0.05, switch: 0.31, drain: 1.0, stop: 0.62}
      route_targets: [http://myapp-web-v42-3f2a1c9:3000]
      maintenance: false
pruned_images:
  description: Image references removed because no container uses them (none while another run pulls O(image) on the host).
  returned: success
  type: list
  elements: str
pulled:
  description: Whether the pull brought a new image.
  returned: success
  type: bool
failed_step:
  description: On failure, the step that failed (pull, boot, health, switch).
  returned: failure
  type: str
failed_role:
  description: On failure, the role whose step failed.
  returned: failure
  type: str
health:
  description: On a failed health check, the last probe (status, body excerpt, attempts, url).
  returned: failure
  type: dict
logs:
  description: On failure, the new container's last log lines.
  returned: failure
  type: list
  elements: str
reverted:
  description: On failure, roles of this host that had switched and were put back.
  returned: failure
  type: list
  elements: str
seconds:
  description: Wall time of the whole call.
  returned: always
  type: float
"""

import contextlib
import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _audit, _docker, _health, _naming, _release
from ansible_collections.berth.deploy.plugins.module_utils._assets import Assets
from ansible_collections.berth.deploy.plugins.module_utils._proxy import (HANDLING_OPTIONS, TLS_OPTIONS, Route, SwitchTimings,
                                                                          handling_of, make_driver, tls_of)

HEALTHCHECK_OPTIONS = dict(path=dict(type="str", default="/up"), port=dict(type="int"),
                           interval=dict(type="float", default=1), timeout=dict(type="float", default=5))
ROUTE_OPTIONS = dict(
    hosts=dict(type="list", elements="str", default=[]), path_prefix=dict(type="str", default="/"),
    app_port=dict(type="int", required=True), response_timeout=dict(type="int", default=30),
    pass_host_header=dict(type="bool", default=True, no_log=False),
    healthcheck=dict(type="dict", default={}, options=HEALTHCHECK_OPTIONS),
    tls=dict(type="dict", options=TLS_OPTIONS), handling=dict(type="dict", options=HANDLING_OPTIONS))
ROLE_OPTIONS = dict(
    name=dict(type="str", required=True), cmd=dict(type="raw"), env=dict(type="dict", default={}),
    secret_names=dict(type="list", elements="str", default=[], no_log=False), env_file=dict(type="path"),
    volumes=dict(type="list", elements="str", default=[]), options=dict(type="dict", default={}),
    stop_timeout=dict(type="int", default=30), readiness_delay=dict(type="float", default=0),
    container_prefix=dict(type="str"), route=dict(type="str"), proxy=dict(type="dict", options=ROUTE_OPTIONS),
    assets=dict(type="dict", options=dict(path=dict(type="str", required=True), dir=dict(type="path", required=True),
                                          options=dict(type="str", default=""))))
PROXY_OPTIONS = dict(
    driver=dict(type="str", default="traefik", choices=["traefik"]), config_dir=dict(type="path", default="/etc/berth/proxy"),
    api_url=dict(type="str", default="http://127.0.0.1:8080"), confirm_timeout=dict(type="float", default=10),
    drain_settle=dict(type="float", default=1))


def role_spec(params: dict[str, t.Any], role: dict[str, t.Any]) -> _release.RoleSpec:
    proxy = role["proxy"]
    container = dict(command=role["cmd"] or None, env=role["env"], secret_env=(params["secret_env"] or {}).get(role["name"]) or {},
                     volumes=role["volumes"], network=params["network"], options=role["options"],
                     log_driver=params["log_driver"], log_options=params["log_options"],
                     log_secret_options=params["log_secret_options"])
    if proxy is None:
        check = _health.ContainerCheck(mode="running", interval=1, timeout=5, deadline=params["deploy_timeout"],
                                       readiness_delay=role["readiness_delay"])
        return _release.RoleSpec(role["name"], container, check, role["stop_timeout"], role["env_file"])
    health = proxy["healthcheck"]
    check = _health.ContainerCheck(mode="http", port=health["port"] or proxy["app_port"], path=health["path"],
                                   network=params["network"], interval=health["interval"], timeout=health["timeout"],
                                   deadline=params["deploy_timeout"], readiness_delay=role["readiness_delay"])
    route = Route(name=role["route"] or _naming.route_name(params["service"], role["name"], params["destination"]),
                  targets=(), hosts=tuple(proxy["hosts"]), path_prefix=proxy["path_prefix"],
                  response_timeout=proxy["response_timeout"], pass_host_header=proxy["pass_host_header"],
                  tls=tls_of(proxy["tls"], health["path"]), **handling_of(proxy["handling"]))
    own = (params["tls_certificates"] or {}).get(role["name"])
    certificate = (own["certificate"], own["private_key"]) if own else None
    assets = Assets(role["assets"]["path"], role["assets"]["dir"], role["assets"]["options"]) if role["assets"] else None
    return _release.RoleSpec(role["name"], container, check, role["stop_timeout"], role["env_file"], route,
                             proxy["app_port"], health["path"], certificate, assets)


def request_of(module: AnsibleModule) -> _release.Request:
    params = module.params
    proxy = params["proxy"] or {}
    return _release.Request(
        service=params["service"], version=params["version"], image=params["image"],
        roles=[role_spec(params, role) for role in params["roles"]], destination=params["destination"],
        pull=params["pull"], auth={"username": params["username"], "password": params["password"]} if params["username"] else None,
        retain=params["retain"],
        timings=SwitchTimings(proxy.get("confirm_timeout", 10), params["drain_timeout"], proxy.get("drain_settle", 1)),
        restore=params["restore"] or {}, canary=params["canary"], canary_percent=params["canary_percent"],
        check_mode=module.check_mode)


def problems_of(params: dict[str, t.Any]) -> list[str]:
    problems = []
    if params["retain"] < 1:
        problems.append(f"retain: {params['retain']} is not a count of containers (at least 1)")
    names = [role["name"] for role in params["roles"]]
    for role in params["roles"]:
        missing = sorted(set(role["secret_names"]) - set((params["secret_env"] or {}).get(role["name"]) or {}))
        if missing:
            problems.append(f"roles.{role['name']}: secret_env has no value for {', '.join(missing)}")
    if params["canary"] == "start" and not 1 <= params["canary_percent"] <= 99:
        problems.append(f"canary_percent: {params['canary_percent']} is not a share of clients (1-99)")
    unknown = sorted(set(params["restore"] or {}) - set(names))
    if unknown:
        problems.append(f"restore: {', '.join(unknown)} is not a role of roles ({', '.join(names)})")
    return problems


def diff_of(result: dict[str, t.Any]) -> dict[str, t.Any]:
    roles = result.get("roles", {})
    return dict(before={role: {"running": report["previous"]} for role, report in roles.items()},
                after={role: {"running": [report["version"]], "container": report["container"]}
                       for role, report in roles.items()})


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            version=dict(type="str", required=True), image=dict(type="str", required=True),
            pull=dict(type="str", default="always", choices=["always", "missing"]),
            username=dict(type="str"), password=dict(type="str", no_log=True),
            network=dict(type="str", required=True),
            log_driver=dict(type="str", default="json-file"),
            log_options=dict(type="dict", default={"max-size": "10m"}),
            log_secret_options=dict(type="dict", default={}, no_log=True),
            roles=dict(type="list", elements="dict", required=True, options=ROLE_OPTIONS),
            secret_env=dict(type="dict", default={}, no_log=True),
            tls_certificates=dict(type="dict", default={}, no_log=True),
            proxy=dict(type="dict", default={}, options=PROXY_OPTIONS),
            deploy_timeout=dict(type="float", default=30), drain_timeout=dict(type="float", default=30),
            retain=dict(type="int", default=5), restore=dict(type="dict", default={}),
            canary=dict(type="str", default="", choices=["", "start", "promote", "abort"]),
            canary_percent=dict(type="int", default=0),
            audit_log=dict(type="path"), performer=dict(type="str", default=""), reason=dict(type="str", default=""),
            host_lock=dict(type="path"), host_lock_wait=dict(type="float", default=120),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    started = time.monotonic()
    params = module.params
    problems = problems_of(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    request = request_of(module)
    client = _docker.connect(module)
    proxy = params["proxy"] or {}
    driver = make_driver(proxy.get("driver", "traefik"), config_dir=proxy.get("config_dir", "/etc/berth/proxy"),
                         api_url=proxy.get("api_url", "http://127.0.0.1:8080")) \
        if any(role.route is not None for role in request.roles) else None
    release = _release.Release(client, request, driver)
    host_lock = _release.host_lock(params["host_lock"], params["host_lock_wait"]) if params["host_lock"] \
        else contextlib.nullcontext()
    try:
        with host_lock:
            result = release.run()
    except TimeoutError as exc:
        module.fail_json(msg=f"Not released: {exc}", failed_step="lock", seconds=round(time.monotonic() - started, 3))
    except _release.StepFailed as exc:
        failed = {role.role: role.report() for role in release.done}
        audit(module, "failed", failed)
        module.fail_json(msg=str(exc), failed_step=exc.step, failed_role=exc.role, health=exc.health, logs=exc.logs,
                         reverted=release.reverted, roles=failed, seconds=round(time.monotonic() - started, 3))
    outcome = "rolled-back" if params["restore"] else f"canary-{params['canary']}" if params["canary"] else "ok"
    audit(module, outcome, result["roles"])
    for warning in release.warnings:
        module.warn(warning)
    module.exit_json(diff=diff_of(result), seconds=round(time.monotonic() - started, 3), **result)


def audit(module: AnsibleModule, result: str, roles: dict[str, t.Any]) -> None:
    params = module.params
    if not params["audit_log"] or module.check_mode:
        return
    line = _release.audit_line(time.time(), params["performer"], params["version"], result, roles, params["reason"])
    _audit.append(params["audit_log"], line)


if __name__ == "__main__":
    main()
