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
    on this very controller, no longer runs (an interrupted C(ansible-playbook)).
  - An action plugin; each step is one shell command on the host (C(mkdir), C(mv), C(rm) of the lock
    directory, atomic), so taking or releasing the lock costs one round trip and no module run.
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
  hold:
    description:
      - Take the lock by hand (C(playbooks/lock.yml -e lock_action=acquire)) - no run owns it and it has no lease, so it
        holds until released with V(released) and O(force) (C(-e lock_action=release)); deploys refuse meanwhile,
        naming the holder and O(reason).
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
