#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: app_containers
short_description: Prune or remove every container of a berth service on a host, across all roles
version_added: 0.1.0
description:
  - Works on every container labelled C(berth.service=<service>) and C(berth.destination=<destination>),
    that is all roles (also roles no longer in the configuration), all versions, and one-off containers
    left by M(berth.deploy.app_exec).
  - V(pruned) keeps, per role, the newest O(retain) containers and every running one (as a deploy
    does) and removes the other stopped ones, plus stopped one-off containers. A second run changes nothing.
  - V(absent) stops every container of the service gracefully (SIGTERM, then SIGKILL after
    O(stop_timeout)) and removes it. V(stopped) only stops them. Proxy routes, env files and images are not touched here
    (M(berth.deploy.proxy_route), M(berth.deploy.image); C(playbooks/remove.yml) does all of it).
  - M(berth.deploy.container) handles one role's containers during a deploy; this module is for
    maintenance (C(playbooks/prune.yml), C(playbooks/remove.yml)).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.full
options:
  state:
    description:
      - V(pruned) removes stopped containers beyond O(retain) per role; V(absent) removes them all.
      - V(stopped) stops every running one gracefully (all at once) and keeps them (C(playbooks/app.yml)
        C(app_action=stop); C(app_action=start) serves them again through a release).
    type: str
    choices: [pruned, absent, stopped]
    required: true
  retain:
    description: With O(state=pruned), containers (versions) kept per role, running ones included.
    type: int
    default: 5
  stop_timeout:
    description: With O(state=absent), seconds between SIGTERM and SIGKILL when stopping a running container.
    type: int
    default: 30
"""

EXAMPLES = r"""
- name: Remove stopped versions beyond the newest 3 of every role of myapp
  berth.deploy.app_containers:
    service: myapp
    state: pruned
    retain: 3

- name: Stop and remove every container of myapp (staging)
  berth.deploy.app_containers:
    service: myapp
    destination: staging
    state: absent
"""

RETURN = r"""
removed:
  description: Names of the containers removed (would be removed, in check mode).
  returned: success
  type: list
  elements: str
  sample: [myapp-web-v38, myapp-web-exec-20260122054401-3fa2]
stopped:
  description: Names of the running containers stopped (O(state=absent), O(state=stopped)).
  returned: success
  type: list
  elements: str
kept:
  description: Names of the containers left on the host.
  returned: success
  type: list
  elements: str
roles:
  description: Roles the service's containers on this host belonged to before the run.
  returned: success
  type: list
  elements: str
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _container, _docker, _service


def run(module: AnsibleModule, client: t.Any) -> dict[str, t.Any]:
    params = module.params
    found = _service.service_containers(client, params["service"], params["destination"])
    if params["state"] == "stopped":
        return stop_all(module, found)
    if params["state"] == "pruned":
        kept, removable = _service.prune_split(found, params["retain"])
    else:
        kept, removable = [], found
    stopped = [container for container in removable if _container.is_running(container)]
    if not module.check_mode:
        for container in stopped:
            _container.stop(container, params["stop_timeout"])
        for container in removable:
            container.remove(v=False, force=True)
    names = [container.name for container in found]
    removed = [container.name for container in removable]
    return dict(changed=bool(removable), removed=removed, stopped=[container.name for container in stopped],
                kept=[container.name for container in kept], roles=_service.roles_of(found),
                diff=dict(before={"containers": names},
                          after={"containers": [name for name in names if name not in removed]}))


def stop_all(module: AnsibleModule, found: list[t.Any]) -> dict[str, t.Any]:
    """Stop every running container of the service gracefully, at once; they stay for a start (playbooks/app.yml)."""
    running = [container for container in found if _container.is_running(container)]
    if not module.check_mode:
        _container.stop_all(running, module.params["stop_timeout"])
    names = [container.name for container in running]
    return dict(changed=bool(running), removed=[], stopped=names, kept=[container.name for container in found],
                roles=_service.roles_of(found), diff=dict(before={"running": names}, after={"running": []}))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            state=dict(type="str", required=True, choices=["pruned", "absent", "stopped"]),
            retain=dict(type="int", default=5),
            stop_timeout=dict(type="int", default=30),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=True,
    )
    if module.params["retain"] < 1:
        module.fail_json(msg=f"retain: {module.params['retain']} is not a count of containers (at least 1)")
    client = _docker.connect(module)
    try:
        result = run(module, client)
    except Exception as exc:
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
