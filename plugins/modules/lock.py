#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: lock
short_description: The deploy lock - one deploy at a time per service and destination
version_added: 0.1.0
description:
  - V(acquired) takes the lock atomically, recording who, when, which version and a message, and
    returns a token; when someone else holds it, fails at once naming the holder, or waits up to
    O(wait) seconds.
  - V(released) frees the lock held under O(token) (or any holder with O(force)).
  - M(berth.deploy.lock_info) reports the holder without changing anything.
  - The deploy and rollback playbooks take the lock on the primary host (the first host of the
    play) before touching any host and release it at the end, also when the deploy failed.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
attributes:
  check_mode:
    support: full
    details: In check mode a free lock is reported as would-be acquired and a held one still fails.
  diff_mode:
    support: none
options:
  name:
    description: Lock name, C(<service>[-<destination>]).
    type: str
    required: true
  state:
    description: What to do with the lock.
    type: str
    choices: [acquired, released]
    default: acquired
  directory:
    description: Where locks live on the host.
    type: path
    default: /var/lib/berth/locks
  performer:
    description: Who deploys (user@controller, or the AWX user).
    type: str
    default: ""
  version:
    description: The version being deployed.
    type: str
    default: ""
  reason:
    description: Why (shown to whoever finds the lock held).
    type: str
    default: ""
  wait:
    description: Seconds to wait for a held lock before failing.
    type: float
    default: 0
  token:
    description: With O(state=released), the token O(state=acquired) returned.
    type: str
  force:
    description: With O(state=released), release whoever holds the lock.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Take the deploy lock
  berth.deploy.lock:
    name: myapp
    performer: alice@laptop
    version: v42
    reason: hotfix for checkout
  register: deploy_lock

- name: Release it
  berth.deploy.lock:
    name: myapp
    state: released
    token: "{{ deploy_lock.token }}"
"""

RETURN = r"""
holder:
  description: Who holds the lock after the run (empty when free).
  returned: always
  type: dict
  sample: {performer: alice@laptop, since: "2026-11-22T05:44:14Z", version: v42, reason: hotfix}
token:
  description: The token that releases the lock (O(state=acquired)).
  returned: success, O(state=acquired)
  type: str
waited:
  description: Seconds spent waiting for the lock.
  returned: O(state=acquired)
  type: float
"""

import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _lock


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="acquired", choices=["acquired", "released"]),
            directory=dict(type="path", default="/var/lib/berth/locks"),
            performer=dict(type="str", default=""),
            version=dict(type="str", default=""),
            reason=dict(type="str", default=""),
            wait=dict(type="float", default=0),
            token=dict(type="str", no_log=True),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = _lock.lock_path(params["directory"], params["name"])
    current = _lock.read_holder(path)
    if params["state"] == "released":
        if current is None:
            module.exit_json(changed=False, holder={})
        if not params["force"] and current.get("token") != params["token"]:
            module.fail_json(msg=f"Not releasing: {_lock.describe(current)} holds the lock "
                                 f"(release it with force, e.g. playbooks/lock.yml -e lock_action=release)",
                             holder=_lock.public(current))
        if not module.check_mode:
            _lock.release(path)
        module.exit_json(changed=True, holder={})
    token = uuid.uuid4().hex
    holder = {"performer": params["performer"], "version": params["version"], "reason": params["reason"],
              "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "token": token}
    try:
        if module.check_mode:
            if current is not None:
                raise _lock.LockHeld(params["name"], current)
            module.exit_json(changed=True, holder=_lock.public(holder), token="", waited=0.0)
        waited = _lock.acquire(path, params["name"], holder, params["wait"])
    except _lock.LockHeld as exc:
        module.fail_json(msg=f"{exc}. Wait for it, retry with berth_lock_wait, or see playbooks/lock.yml.",
                         holder=_lock.public(exc.holder))
    module.exit_json(changed=True, holder=_lock.public(holder), token=token, waited=waited)


if __name__ == "__main__":
    main()
