#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: lock_info
short_description: Who holds the deploy lock
version_added: 0.1.0
description:
  - Reports the holder of a deploy lock taken by M(berth.deploy.lock) (who, since when, which
    version, why), without its release token. Read-only.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
options:
  name:
    description: Lock name, C(<service>[-<destination>]).
    type: str
    required: true
  directory:
    description: Where locks live on the host.
    type: path
    default: /var/lib/berth/locks
"""

EXAMPLES = r"""
- name: Who is deploying myapp?
  berth.deploy.lock_info:
    name: myapp-deploy
  register: lock
"""

RETURN = r"""
holder:
  description: Who holds the lock (empty when free).
  returned: always
  type: dict
  sample: {performer: alice@laptop, since: "2026-11-22T05:44:14Z", version: v42, reason: hotfix}
description:
  description: The lock's state in one sentence (free, or who holds it since when, deploying what).
  returned: always
  type: str
corrupt:
  description: Why the holder file could not be read (the lock is held; release it with force).
  returned: when the holder file is unreadable
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _lock


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            directory=dict(type="path", default="/var/lib/berth/locks"),
        ),
        supports_check_mode=True,
    )
    path = _lock.lock_path(module.params["directory"], module.params["name"])
    name = module.params["name"]
    try:
        holder = _lock.read_holder(path)
    except _lock.CorruptHolder as exc:
        module.exit_json(changed=False, holder={"performer": "unknown (unreadable holder.json)"}, corrupt=str(exc),
                         description=f"The deploy lock {name} is held, but {exc}")
    description = f"The deploy lock {name} is held by {_lock.describe(holder)}" if holder else \
        f"The deploy lock {name} is free"
    module.exit_json(changed=False, holder=_lock.public(holder), description=description)


if __name__ == "__main__":
    main()
