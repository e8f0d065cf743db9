#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: Ensure the deploy network exists (or is gone)
version_added: 0.1.0
description:
  - Creates the user-defined bridge network that the proxy, app containers and accessories share,
    so they reach each other by container name.
  - An existing network with another driver is reported, never silently replaced.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.full
options:
  name:
    description: Network name.
    type: str
    required: true
  driver:
    description: Network driver.
    type: str
    default: bridge
  state:
    description: Whether the network should exist.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Deploy network
  berth.deploy.network:
    name: berth
"""

RETURN = r"""
network:
  description:
    - Name, id, driver and IPv4 gateway of the network (empty when absent). The gateway is the host's
      address on the network, the source of requests to the containers' ports published on 127.0.0.1.
  returned: success
  type: dict
  sample: {name: berth, id: 0c3d5e7f9a1b, driver: bridge, gateway: 172.18.0.1}
"""

import ipaddress
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _docker


def find(client: t.Any, name: str) -> t.Any | None:
    return next((network for network in client.networks.list(names=[name]) if network.name == name), None)


def gateway(network: t.Any) -> str:
    """The network's IPv4 gateway: the host's address on it, where traffic from the host's published ports comes from."""
    for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
        if "." in (config.get("Gateway") or ""):
            return str(config["Gateway"]).split("/", 1)[0]
        if "." in (config.get("Subnet") or ""):  # Docker's default: the subnet's first address
            return str(next(ipaddress.ip_network(config["Subnet"], strict=False).hosts()))
    return ""


def describe(network: t.Any | None) -> dict[str, str]:
    if network is None:
        return {}
    return {"name": network.name, "id": network.id[:12], "driver": network.attrs.get("Driver", ""),
            "gateway": gateway(network)}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            driver=dict(type="str", default="bridge"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = _docker.connect(module)
    try:
        network = find(client, params["name"])
        before = describe(network)
        changed = False
        if params["state"] == "present" and network is None:
            changed = True
            if not module.check_mode:
                network = client.networks.create(params["name"], driver=params["driver"])
                network.reload()  # the IPAM configuration (the gateway) is filled in by the engine
        elif params["state"] == "present" and before["driver"] != params["driver"]:
            module.fail_json(msg=f"Network {params['name']} exists with driver {before['driver']}, not "
                                 f"{params['driver']}; remove it (or pick another berth_network) first.")
        elif params["state"] == "absent" and network is not None:
            changed = True
            if not module.check_mode:
                network.remove()
            network = None
    except Exception as exc:
        module.fail_json(msg=f"Docker engine error for network {params['name']}: {_docker.explain(exc)}")
    after = describe(network) if not (module.check_mode and changed) else (
        {"name": params["name"], "driver": params["driver"]} if params["state"] == "present" else {})
    module.exit_json(changed=changed, network=after, diff=dict(before=before, after=after))


if __name__ == "__main__":
    main()
