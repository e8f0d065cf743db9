#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: canary_info
short_description: The canaries running on a host's routes
version_added: 0.2.0
description:
  - A canary (C(playbooks/canary.yml), M(berth.deploy.release) with O(berth.deploy.release#module:canary=start))
    runs a new version beside the serving one on a web role's route and sends a share of new clients to it.
    This reads what is recorded for each of O(routes) on the host's proxy; routes without a canary are left out.
  - C(playbooks/canary.yml) reads the canary's version here to promote or abort it; C(playbooks/status.yml)
    shows the split.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
options:
  routes:
    description: Route names (C(berth_plan.roles.<role>.route)).
    type: list
    elements: str
    required: true
  config_dir:
    description: The proxy's configuration directory on the host.
    type: path
    default: /etc/berth/proxy
  driver:
    description: Proxy driver.
    type: str
    choices: [traefik]
    default: traefik
"""

EXAMPLES = r"""
- name: Read the canary of myapp's web route
  berth.deploy.canary_info:
    routes: [myapp-web]
  register: found

- name: Show it
  ansible.builtin.debug:
    msg: "{{ found.canaries['myapp-web'].version }} takes {{ found.canaries['myapp-web'].percent }}% of new clients"
  when: "'myapp-web' in found.canaries"
"""

RETURN = r"""
canaries:
  description: Route -> its canary.
  returned: success
  type: dict
  sample:
    myapp-web: {version: v43, percent: 10, container: myapp-web-v43-3fa2b1c4, stable: [myapp-web-v42-9e1d0a77]}
  contains:
    version:
      description: The canary's version.
      type: str
    percent:
      description: The share of new clients sent to it (a cookie keeps each client on its side).
      type: int
    container:
      description: The canary's container.
      type: str
    stable:
      description: The containers that served before the canary and serve the other clients.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils._proxy import ProxyError, make_driver


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            routes=dict(type="list", elements="str", required=True),
            config_dir=dict(type="path", default="/etc/berth/proxy"),
            driver=dict(type="str", default="traefik", choices=["traefik"]),
        ),
        supports_check_mode=True,
    )
    driver = make_driver(module.params["driver"], config_dir=module.params["config_dir"])
    canaries = {}
    try:
        for name in module.params["routes"]:
            canary = driver.canary(name)
            if canary is not None:
                canaries[name] = canary.to_json()
    except ProxyError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, canaries=canaries)


if __name__ == "__main__":
    main()
