#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: app_logs_info
short_description: Read the last log lines of a berth role's running containers, optionally since a time or matching a pattern
version_added: 0.1.0
description:
  - Returns, for each running container of O(service)/O(role)/O(destination) (or the container of
    O(version), running or stopped), its last O(lines) log lines (standard output and error together).
  - With O(grep), every line since O(since) is read and the last O(lines) lines matching it are
    returned (not the matches among the last O(lines)).
  - Read-only. C(playbooks/logs.yml) prints the result per host.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.service.role
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
options:
  version:
    description: Read the container of this version (running or stopped, e.g. one that failed its health check)
      instead of the running ones.
    type: str
  lines:
    description: How many of the last (matching) lines to return per container.
    type: int
    default: 100
  since:
    description:
      - Only lines logged since then, in Docker's C(--since) syntax. A duration before now (V(10m),
        V(1h30m), V(45s)), a time (V(2026-01-22T05:00:00Z); UTC unless it has an offset), a date
        (V(2026-01-22)) or a Unix timestamp.
    type: str
  grep:
    description: Only lines matching this regular expression (Python syntax), searched anywhere in the line.
    type: str
  timestamps:
    description: Prefix every line with Docker's RFC 3339 timestamp (O(grep) then searches the rest of the line).
    type: bool
    default: false
  after:
    description:
      - Follow mode (C(playbooks/logs.yml -e logs_follow=true)) - only the lines logged after this Docker timestamp
        (a container's RV(containers[].cursor) of the previous call), at most O(lines); empty for the last O(lines).
        Each container returns its new RV(containers[].cursor).
    type: str
  wait:
    description: Follow mode - seconds to wait before reading, for new lines to arrive (0-60).
    type: float
    default: 0
  after_by_container:
    description: Follow mode - container name -> its own cursor, over O(after) (the previous call's RV(containers[].cursor)).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: The last 50 error lines of the last hour of myapp's web containers
  berth.deploy.app_logs_info:
    service: myapp
    role: web
    lines: 50
    since: 1h
    grep: "ERROR|FATAL"
  register: web_logs

- name: Why did v43 fail its health check?
  berth.deploy.app_logs_info:
    service: myapp
    role: web
    version: v43
"""

RETURN = r"""
containers:
  description: One entry per container read, newest first (empty when none runs).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
      sample: myapp-web-v42
    version:
      description: The version it runs.
      type: str
      sample: v42
    status:
      description: Docker status (running, exited, ...).
      type: str
    lines:
      description: The log lines, oldest first.
      type: list
      elements: str
    cursor:
      description: With O(after), the timestamp of its last line read (pass it back, in O(after_by_container)).
      type: str
retained:
  description: Versions of every container of the role on the host (newest first), for the message when none runs.
  returned: always
  type: list
  elements: str
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _container, _docker, _logs


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            **_args.ROLE_ARGS,
            version=dict(type="str"),
            lines=dict(type="int", default=100),
            since=dict(type="str"),
            grep=dict(type="str"),
            timestamps=dict(type="bool", default=False),
            after=dict(type="str"),
            after_by_container=dict(type="dict", default={}),
            wait=dict(type="float", default=0),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["lines"] < 1:
        module.fail_json(msg=f"lines: {params['lines']} must be at least 1")
    try:
        since = _logs.since_epoch(params["since"], time.time()) if params["since"] else None
    except _logs.SinceError as exc:
        module.fail_json(msg=f"since: {exc}")
    try:
        pattern = re.compile(params["grep"]) if params["grep"] else None
    except re.error as exc:
        module.fail_json(msg=f"grep: {params['grep']!r} is not a regular expression: {exc}")
    client = _docker.connect(module)
    try:
        found = _container.role_containers(client, params["service"], params["role"], params["destination"])
        chosen = [item for item in found if (_container.summary(item)["version"] == params["version"]
                                             if params["version"] else _container.is_running(item))]
        containers = []
        if params["after"] is not None and 0 < params["wait"] <= 60:
            time.sleep(params["wait"])
        cursors = params["after_by_container"] or {}
        for container in chosen:
            summary = _container.summary(container)
            entry = {"name": summary["name"], "version": summary["version"], "status": summary["status"]}
            if params["after"] is not None:
                entry["lines"], entry["cursor"] = _logs.read_after(container, cursors.get(summary["name"], params["after"]),
                                                                   params["lines"], pattern, params["timestamps"])
            else:
                entry["lines"] = _logs.read(container, params["lines"], since, pattern, params["timestamps"])
            containers.append(entry)
    except Exception as exc:
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    module.exit_json(changed=False, containers=containers,
                     retained=[_container.summary(item)["version"] for item in found])


if __name__ == "__main__":
    main()
