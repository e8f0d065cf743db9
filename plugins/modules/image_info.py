#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_info
short_description: Whether a host has an image, and the layer chains of the images it has
version_added: 0.2.0
description:
  - Returns the id of O(reference) on the host (empty when it is missing) and the layers (diff ids, base first) of
    every image there. M(berth.deploy.image_ship) reads them to send a host only the layers it lacks.
  - Read-only.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
options:
  reference:
    description: The image, C(repository:tag).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Does this host have myapp v42?
  berth.deploy.image_info:
    reference: registry.example.com/acme/myapp:v42
  register: found
"""

RETURN = r"""
id:
  description: The image id of O(reference) on the host; empty when it is not there.
  returned: always
  type: str
chains:
  description: The diff ids of each image's layers on the host, base first.
  returned: always
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _build, _docker


def main() -> None:
    module = AnsibleModule(argument_spec=dict(reference=dict(type="str", required=True), **_docker.DOCKER_CLIENT_ARGS),
                           supports_check_mode=True)
    client = _docker.connect(module)
    try:
        chains, references = _build.image_chains(client)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    module.exit_json(changed=False, id=references.get(module.params["reference"], ""), chains=chains)


if __name__ == "__main__":
    main()
