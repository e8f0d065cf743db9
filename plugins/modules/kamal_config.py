#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: kamal_config
short_description: Read a Kamal 2 configuration as berth variables and inventory hosts
version_added: 0.2.0
description:
  - Runs on the controller (an action plugin); touches no host. C(playbooks/kamal_import.yml) runs it for every
    playbook given C(-e berth_kamal_config=config/deploy.yml); see docs/kamal.md for every key.
  - Reads O(path) as Kamal does - ERB in the forms configurations use (C(ENV["X"]), C(ENV.fetch("X", "default"))),
    the destination's file deep-merged over it, and the secrets files (C(.kamal/secrets-common), then
    C(.kamal/secrets) or C(.kamal/secrets.<destination>)). It never runs code - a secret that comes from a command
    (C($(kamal secrets fetch ...))) takes its value from the environment variable of its name or from
    C(berth_kamal_secrets); C($(cat FILE)) reads the file.
  - Checks the file's shape as Kamal does (unknown keys, types, required keys, roles without hosts) and fails listing
    every problem with the file, the key and why. Keys berth cannot honour give one warning each.
  - Without O(host) it returns the hosts to give variables to - the file's hosts when O(inventory_hosts) is empty
    (no inventory given), else the inventory's. With O(host) it returns C(add_host) for that host - its groups (the
    file's roles) and connection variables when it comes from the file, and its C(berth_*) variables, which hold
    secrets (run that task with C(no_log)).
author:
  - berth.deploy maintainers (@berth-deploy)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    description: Runs as an action plugin on the controller; nothing runs on the target.
    support: full
extends_documentation_fragment:
  - berth.deploy.attributes
options:
  path:
    description: The Kamal configuration (C(berth_kamal_config)), e.g. C(config/deploy.yml); relative paths start in
      the current directory. The app's root (for C(.kamal/), hooks, files) is the parent of its C(config) directory.
    type: str
    required: true
  destination:
    description: Kamal's destination (C(-d staging) there, C(berth_destination) here) - C(config/deploy.<destination>.yml)
      is merged over the file and C(.kamal/secrets.<destination>) replaces C(.kamal/secrets).
    type: str
    default: ""
  inventory_hosts:
    description: The hosts of the inventory given (C(groups['all'])); empty when none was given.
    type: list
    elements: str
    default: []
  host:
    description: Return C(add_host) for this host.
    type: str
"""

EXAMPLES = r"""
- name: Read config/deploy.yml
  berth.deploy.kamal_config:
    path: config/deploy.yml
  register: kamal

- name: Give each host its berth variables
  berth.deploy.kamal_config:
    path: config/deploy.yml
    host: "{{ item }}"
  loop: "{{ kamal.hosts }}"
  no_log: true
"""

RETURN = r"""
hosts:
  description: The hosts to give variables to.
  returned: without host
  type: list
  elements: str
from_file:
  description: Whether the hosts come from the file (no inventory was given).
  returned: without host
  type: bool
service:
  description: The service (C(berth_service)).
  returned: without host
  type: str
roles:
  description: Role -> the file's hosts in it.
  returned: without host
  type: dict
secret_names:
  description: The secrets the configuration passes on (values never returned here).
  returned: without host
  type: list
  elements: str
add_host:
  description: The host, its groups and variables, for Ansible's inventory (as M(ansible.builtin.add_host) returns).
  returned: with host
  type: dict
problems:
  description: Every problem found, one line each (file, key, why).
  returned: on failure
  type: list
  elements: str
"""
