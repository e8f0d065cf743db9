#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: config
short_description: Validate all berth_* variables and compute the host's deploy plan
version_added: 0.1.0
description:
  - Runs on the controller (an action plugin); touches no host.
  - Reads every C(berth_*) variable of the host, checks each one (unknown variables and keys,
    names, ports, durations, missing version, secrets present) and fails listing every problem,
    each naming the variable, the bad value and what is allowed. Secret values are never shown.
  - On success sets the fact C(berth_plan), the normalized configuration that the roles consume
    (defaults applied once; secret values left out, only their names).
  - The host's roles are the keys of C(berth_roles) that name an inventory group the host is in.
  - The plan also names the performer (the AWX user, or user@controller), the deploy lock and its
    primary host (the first host of the roles' groups in inventory order).
  - The files of C(berth_hooks) are checked on the controller. Relative paths start at the inventory
    directory, every file must exist, scripts must be executable, and none may sit where Ansible
    reads it as inventory (in a directory given with C(-i), outside a hidden directory such as
    C(.hooks/)). C(berth_plan.hooks) maps every hook name to its files as absolute paths.
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
  mode:
    description: V(deploy) requires C(berth_version); V(setup) does not.
    type: str
    choices: [setup, deploy]
    default: deploy
"""

EXAMPLES = r"""
- name: Validate the configuration before touching any host
  berth.deploy.config:
    mode: deploy
"""

RETURN = r"""
ansible_facts:
  description: Facts set.
  returned: success
  type: dict
  contains:
    berth_plan:
      description: The normalized configuration (service, version, image_ref, roles, proxy, hosts, hooks, ...).
      type: dict
      returned: success
problems:
  description: Every problem found, one line each.
  returned: on failure
  type: list
  elements: str
"""
