#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: healthcheck
short_description: Wait until a container is healthy (HTTP 2xx, Docker HEALTHCHECK, or running)
version_added: 0.1.0
description:
  - V(http) sends C(GET) requests from the host to the container's address on O(network) until one
    answers 2xx; or to O(url) when given.
  - V(docker) waits until Docker's own HEALTHCHECK reports C(healthy).
  - V(running) waits O(readiness_delay) seconds and checks that the container still runs (for job
    roles such as Sidekiq or Solid Queue workers, which serve no HTTP).
  - Tries every O(interval) seconds, each try bounded by O(timeout), all of it by O(deadline).
    Stops early when the container exits.
  - On failure the module fails with the last status, a body excerpt and the container's last log lines.
author:
  - berth.deploy maintainers (@berth-deploy)
attributes:
  check_mode:
    support: full
    details: Probes are read-only, so they also run in check mode (a container that does not exist yet is reported, not failed).
  diff_mode:
    support: none
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
options:
  container:
    description: Container name. Required unless O(url) is given.
    type: str
  url:
    description: Probe this URL instead of a container's address (e.g. the proxy's C(http://127.0.0.1:8080/ping)).
    type: str
  mode:
    description: How to decide health.
    type: str
    choices: [http, docker, running]
    default: http
  path:
    description: HTTP path to probe.
    type: str
    default: /up
  port:
    description: Container port to probe. Required for O(mode=http) with O(container).
    type: int
  network:
    description: Network whose address of the container is probed (the first network when unset).
    type: str
  host_header:
    description: Host header to send (defaults to the address probed).
    type: str
  interval:
    description: Seconds between tries.
    type: float
    default: 1
  timeout:
    description: Seconds one try may take.
    type: float
    default: 5
  deadline:
    description: Seconds all tries may take.
    type: float
    default: 30
  readiness_delay:
    description: With O(mode=running), seconds the container must keep running.
    type: float
    default: 0
  log_lines:
    description: How many of the container's last log lines to report on failure.
    type: int
    default: 40
"""

EXAMPLES = r"""
- name: Wait for the new web container
  berth.deploy.healthcheck:
    container: myapp-web-v42
    network: berth
    port: 3000
    path: /up
    interval: 1
    timeout: 5
    deadline: 30

- name: Wait for a worker to stay up
  berth.deploy.healthcheck:
    container: myapp-job-v42
    mode: running
    readiness_delay: 7
"""

RETURN = r"""
healthy:
  description: Whether the container became healthy.
  returned: always
  type: bool
attempts:
  description: Number of probes made.
  returned: always
  type: int
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
status:
  description: Last HTTP status, Docker health status or container state.
  returned: always
  type: raw
  sample: 200
body:
  description: Excerpt of the last response body (or error).
  returned: always
  type: str
url:
  description: URL probed (O(mode=http)).
  returned: O(mode=http)
  type: str
logs:
  description: The container's last log lines.
  returned: on failure
  type: list
  elements: str
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _docker, _health


def url_probe(module: AnsibleModule) -> dict[str, t.Any]:
    params = module.params
    result = _health.wait_until(lambda: _health.http_probe(params["url"], params["timeout"], params["host_header"]),
                                params["interval"], params["deadline"])
    return dict(changed=False, **_health.outcome(result, params["url"]))


def container_check(params: dict[str, t.Any]) -> _health.ContainerCheck:
    return _health.ContainerCheck(**{key: params[key] for key in (
        "mode", "port", "path", "network", "host_header", "interval", "timeout", "deadline", "readiness_delay", "url")})


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            container=dict(type="str"),
            url=dict(type="str"),
            mode=dict(type="str", default="http", choices=["http", "docker", "running"]),
            path=dict(type="str", default="/up"),
            port=dict(type="int"),
            network=dict(type="str"),
            host_header=dict(type="str"),
            interval=dict(type="float", default=1),
            timeout=dict(type="float", default=5),
            deadline=dict(type="float", default=30),
            readiness_delay=dict(type="float", default=0),
            log_lines=dict(type="int", default=40),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        required_one_of=[("container", "url")],
        supports_check_mode=True,
    )
    params = module.params
    if params["container"] is None:
        outcome = url_probe(module)
        if not outcome["healthy"]:
            module.fail_json(msg=_health.failure_message(params["url"], outcome, [], params["deadline"]), **outcome)
        module.exit_json(**outcome)
    if params["mode"] == "http" and params["url"] is None and params["port"] is None:
        module.fail_json(msg="port is required to probe a container over HTTP")
    client = _docker.connect(module)
    container = _docker.get_container(client, params["container"])
    if container is None:
        if module.check_mode:
            module.exit_json(changed=False, healthy=False, attempts=0, elapsed=0.0, status=None,
                             body="container does not exist yet (check mode)")
        module.fail_json(msg=f"Container {params['container']} does not exist")
    check = container_check(params)
    probe = _health.ContainerProbe(container, check, _docker.container_address)
    result = _health.wait_until(probe, check.interval, check.effective_deadline())
    outcome = dict(changed=False, **_health.outcome(result, probe.url))
    if not result.healthy:
        logs = _docker.container_logs_tail(container, params["log_lines"])
        module.fail_json(msg=_health.failure_message(params["container"], outcome, logs, check.effective_deadline()),
                         logs=logs, **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
