#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: proxy_info
short_description: The proxy a host runs, the routes on it, and whether a setup may change it
version_added: 0.2.0
description:
  - One proxy serves every service on a host. Each service's setup (role C(berth.deploy.proxy)) runs it with
    that service's C(berth_proxy); this reads the settings the running proxy was started with (the label
    C(berth.proxy-settings), nothing secret), the routes on it, and compares them with O(settings).
  - RV(conflict) says why a setup must not replace the proxy - other services' routes are on it and it would
    change settings they rely on (an ACME resolver, ports, trusted addresses). The role refuses then, before any
    change, unless C(berth_proxy_force) is true.
  - Read-only.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
options:
  container_name:
    description: The proxy container (C(berth_proxy.container_name)).
    type: str
    default: berth-proxy
  config_dir:
    description: The proxy's configuration directory on the host (C(berth_proxy.config_dir)).
    type: path
    default: /etc/berth/proxy
  settings:
    description: The settings this setup would run the proxy with (C(berth_plan.proxy.shared)); without them
      RV(differences) and RV(conflict) stay empty.
    type: dict
  routes:
    description: This service's route names (C(berth_plan.proxy.routes)); every other route file counts as another's.
    type: list
    elements: str
    default: []
  driver:
    description: Proxy driver.
    type: str
    choices: [traefik]
    default: traefik
  log_lines:
    description: Also return the proxy container's last log lines (C(playbooks/proxy.yml) C(proxy_action=logs)); 0 for none.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Read the proxy on this host
  berth.deploy.proxy_info:
    settings: "{{ berth_plan.proxy.shared }}"
    routes: "{{ berth_plan.proxy.routes }}"
  register: proxy_found

- name: Refuse to change a proxy other services rely on
  ansible.builtin.fail:
    msg: "{{ proxy_found.conflict }}"
  when: proxy_found.conflict | length > 0
"""

RETURN = r"""
exists:
  description: Whether the proxy container exists.
  returned: always
  type: bool
settings:
  description: The settings it runs with; null when it has none recorded (started before berth.deploy 0.2) or does not exist.
  returned: always
  type: dict
other_routes:
  description: Route files on the proxy that are not this service's.
  returned: always
  type: list
  elements: str
  sample: [blog-web.yml]
differences:
  description: Each setting that differs between the running proxy and O(settings).
  returned: always
  type: list
  elements: str
  sample: ["berth_proxy.acme: {\"challenge\": \"http-01\", ...} on the host, none here"]
conflict:
  description: Why this setup must not replace the proxy; empty when it may.
  returned: always
  type: str
logs:
  description: The proxy's last O(log_lines) log lines.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _docker, _logs
from ansible_collections.berth.deploy.plugins.module_utils._proxy import make_driver
from ansible_collections.berth.deploy.plugins.module_utils._proxy.host import conflict, differences, settings_of


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            container_name=dict(type="str", default="berth-proxy"),
            config_dir=dict(type="path", default="/etc/berth/proxy"),
            settings=dict(type="dict"),
            routes=dict(type="list", elements="str", default=[]),
            driver=dict(type="str", default="traefik", choices=["traefik"]),
            log_lines=dict(type="int", default=0),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = _docker.connect(module)
    try:
        container = _docker.get_container(client, params["container_name"])
        logs = _logs.read(container, params["log_lines"]) if container is not None and params["log_lines"] > 0 else []
    except Exception as exc:
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    running = settings_of(container.attrs.get("Config", {}).get("Labels")) if container is not None else None
    own = {f"{name}.{suffix}" for name in params["routes"] for suffix in ("yml", "yaml")}
    try:
        others = [name for name in make_driver(params["driver"], config_dir=params["config_dir"]).route_files()
                  if name not in own]
    except OSError as exc:
        module.fail_json(msg=f"Reading the proxy's routes in {params['config_dir']} failed: {exc}")
    module.exit_json(changed=False, exists=container is not None, settings=running, other_routes=others, logs=logs,
                     differences=differences(running, params["settings"]) if running and params["settings"] else [],
                     conflict=conflict(running, params["settings"], others) if params["settings"] else "")


if __name__ == "__main__":
    main()
