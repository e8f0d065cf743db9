#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: lock
short_description: The deploy lock - one deploy at a time per service and destination
version_added: 0.1.0
description:
  - V(acquired) takes the lock atomically, recording who, when, which version and a message, the
    controller and process of the run and its lease, and returns a token; when someone else holds
    it, fails at once naming the holder, or waits up to O(wait) seconds.
  - A lock whose lease (O(lease) seconds, the holder's own when it recorded one) has run out is taken
    over, with a warning naming the old holder. So is a lock whose run is gone - the holder's process,
    on this very controller, no longer runs (an interrupted C(ansible-playbook)); the action plugin
    of this module sees that on the controller and names that holder in O(take_over).
  - A holder file that cannot be read fails with a clear error; O(force) releases such a lock.
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
  lease:
    description: Seconds after which a lock counts as stale and is taken over (C(berth_lock_lease)).
    type: int
    default: 900
  controller:
    description: The controller's host name, recorded for people (set by the action plugin).
    type: str
    default: ""
  controller_id:
    description: Identifies the controller (machine, boot and process namespace; set by the action plugin).
    type: str
    default: ""
  pid:
    description: The C(ansible-playbook) process that holds the lock (set by the action plugin).
    type: int
    default: 0
  pid_started:
    description: When that process started, so a reused process id is not taken for it (set by the action plugin).
    type: str
    default: ""
  take_over:
    description:
      - A holder (its C(controller_id), C(pid) and C(since)) to replace even within its lease, because its run is gone.
      - The action plugin sets it after checking the process on the controller; set it yourself only when you know.
    type: dict
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
  sample: {performer: alice@laptop, since: "2026-11-22T05:44:14Z", version: v42, reason: hotfix, pid: 4711,
           controller: laptop, lease: 900}
taken_over:
  description: The holder whose lock was taken over (lease run out, or its run gone); empty otherwise.
  returned: O(state=acquired)
  type: dict
token:
  description: The token that releases the lock (O(state=acquired)).
  returned: success, O(state=acquired)
  type: str
waited:
  description: Seconds spent waiting for the lock.
  returned: O(state=acquired)
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _lock


def released(module: AnsibleModule, path: str) -> None:
    params = module.params
    try:
        current = _lock.read_holder(path)
    except _lock.CorruptHolder as exc:
        if not params["force"]:
            module.fail_json(msg=f"Not releasing: {exc}")
        current = {"performer": "unknown (unreadable holder.json)"}
    if current is None:
        module.exit_json(changed=False, holder={})
    if not params["force"] and current.get("token") != params["token"]:
        module.fail_json(msg=f"Not releasing: {_lock.describe(current)} holds the lock "
                             f"(release it with force, e.g. playbooks/lock.yml -e lock_action=release)",
                         holder=_lock.public(current))
    if not module.check_mode:
        _lock.release(path)
    module.exit_json(changed=True, holder={})


def acquired(module: AnsibleModule, path: str) -> None:
    params = module.params
    holder = _lock.new_holder(params["performer"], params["version"], params["reason"], params["lease"],
                              params["controller"], params["controller_id"], params["pid"], params["pid_started"])
    try:
        if module.check_mode:
            current = _lock.read_holder(path)
            if current is not None and not _lock.would_take_over(current, params["lease"], params["take_over"]):
                raise _lock.LockHeld(params["name"], current)
            module.exit_json(changed=True, holder=_lock.public(holder), token="", waited=0.0,
                             taken_over=_lock.public(current))
        waited, taken_over = _lock.acquire(path, params["name"], holder, params["wait"], params["take_over"])
    except _lock.LockHeld as exc:
        module.fail_json(msg=f"{exc}. Wait for it, retry with berth_lock_wait, or see playbooks/lock.yml.",
                         holder=_lock.public(exc.holder), held=True)
    except _lock.CorruptHolder as exc:
        module.fail_json(msg=f"The deploy lock {params['name']} cannot be read: {exc}")
    if taken_over is not None:
        module.warn(f"Took over the deploy lock {params['name']} from {_lock.describe(taken_over)}: "
                    + ("its run is gone (that process no longer runs on this controller)"
                       if _lock.is_named(taken_over, params["take_over"]) else "its lease ran out"))
    module.exit_json(changed=True, holder=_lock.public(holder), token=holder["token"], waited=waited,
                     taken_over=_lock.public(taken_over))


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
            lease=dict(type="int", default=900),
            controller=dict(type="str", default=""),
            controller_id=dict(type="str", default=""),
            pid=dict(type="int", default=0),
            pid_started=dict(type="str", default=""),
            take_over=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    path = _lock.lock_path(module.params["directory"], module.params["name"])
    if module.params["state"] == "released":
        released(module, path)
    acquired(module, path)


if __name__ == "__main__":
    main()
