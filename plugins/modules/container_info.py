#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: container_info
short_description: List the containers (versions) of a berth role on a host
version_added: 0.1.0
description:
  - Returns every container of O(service)/O(role)/O(destination), newest first, with its version,
    status and health, and which version is running. Read-only.
  - Used by the status and rollback playbooks (a rollback target must be a retained version).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.service.role
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
"""

EXAMPLES = r"""
- name: Which versions of myapp's web role does this host keep?
  berth.deploy.container_info:
    service: myapp
    role: web
  register: web_versions
"""

RETURN = r"""
containers:
  description: The role's containers, newest first.
  returned: always
  type: list
  elements: dict
  sample: [{name: myapp-web-v42, version: v42, status: running, health: null, image: "r/myapp:v42"}]
running:
  description: Versions of the running containers.
  returned: always
  type: list
  elements: str
retained:
  description: Versions of all containers (running or stopped) still on the host.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _container, _docker


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            **_args.ROLE_ARGS,
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=True,
    )
    client = _docker.connect(module)
    try:
        found = _container.role_containers(client, module.params["service"], module.params["role"],
                                           module.params["destination"])
    except Exception as exc:
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    containers = [_container.summary(container) for container in found]
    module.exit_json(
        changed=False,
        containers=containers,
        running=[item["version"] for item in containers if item["status"] == "running"],
        retained=[item["version"] for item in containers],
    )


if __name__ == "__main__":
    main()
