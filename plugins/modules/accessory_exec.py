#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: accessory_exec
short_description: Run a command in a berth accessory's running container
version_added: 0.2.0
description:
  - C(docker exec) of O(command) in the container of O(accessory) (C(<service>-<accessory>[-<destination>])), like
    C(kamal accessory exec). Fails, with the command's last output lines, when it exits non-zero or is still running
    after O(timeout) seconds (Docker cannot stop an exec'd process; it keeps running).
  - C(playbooks/accessory.yml) C(accessory_action=exec) runs it; it always reports C(changed) (a command may change
    anything) and does nothing in check mode.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.docker
  - berth.deploy.attributes
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
options:
  accessory:
    description: The accessory's name (C(db), C(redis), ...).
    type: str
    required: true
  command:
    description: A string (split into arguments like a shell would; no shell runs) or a list of strings.
    type: raw
    required: true
  timeout:
    description: Seconds the command may run.
    type: int
    default: 3600
  lines:
    description: How many of the last lines of its output to return.
    type: int
    default: 100
"""

EXAMPLES = r"""
- name: Which databases does Postgres hold?
  berth.deploy.accessory_exec:
    service: myapp
    accessory: db
    command: psql -U postgres -c '\l'
"""

RETURN = r"""
container:
  description: The accessory's container.
  returned: always
  type: str
rc:
  description: The exit code; null when the command still ran at O(timeout).
  returned: always
  type: int
stdout_lines:
  description: The last O(lines) lines of its standard output.
  returned: always
  type: list
  elements: str
stderr_lines:
  description: The last O(lines) lines of its standard error.
  returned: always
  type: list
  elements: str
output_lines:
  description: Both, interleaved as printed.
  returned: always
  type: list
  elements: str
seconds:
  description: Time taken.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _container, _docker, _exec, _naming


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            accessory=dict(type="str", required=True),
            command=dict(type="raw", required=True),
            timeout=dict(type="int", default=3600),
            lines=dict(type="int", default=100),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=False,
    )
    params = module.params
    name = _naming.role_prefix(params["service"], params["accessory"], params["destination"])
    client = _docker.connect(module)
    try:
        container = _docker.get_container(client, name)
        if container is None or not _container.is_running(container):
            module.fail_json(msg=f"{name} is not running: boot it first (playbooks/accessory.yml "
                                 f"-e accessory_action=boot -e accessory={params['accessory']})", container=name)
        result = _exec.run_in(client, container, params["command"], params["timeout"], params["lines"])
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}", container=name)
    if result.rc != 0:
        fate = f"exited with {result.rc}" if result.rc is not None else \
            f"still runs after {params['timeout']}s (docker exec cannot stop it)"
        tail = result.output[-20:]
        module.fail_json(msg=f"The command in {name} {fate}." + ("\n  " + "\n  ".join(tail) if tail else ""),
                         changed=True, container=name, **_exec.report(result))
    module.exit_json(changed=True, container=name, **_exec.report(result))


if __name__ == "__main__":
    main()
