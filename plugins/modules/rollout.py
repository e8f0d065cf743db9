#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: rollout
short_description: The state of a rollout across hosts - who may start, what rolls back, the summary
version_added: 0.2.0
description:
  - Runs on the controller only (an action plugin; this file documents it). C(playbooks/rollout.yml),
    which C(deploy.yml) and C(rollback.yml) import, calls it; use it in your own rollout playbooks the same way.
  - It reads what each host of the play registered in this run (never facts, which a fact cache would
    carry into the next run); C(berth_gate) (the result of O(event=gate)), C(berth_release) (of
    M(berth.deploy.release)), C(berth_failure) (of O(event=failed)), C(berth_finish) (of O(event=finish)),
    and the hook role's C(hook_failures) and the migration's C(migrate_failure).
  - A host failed when its release failed or it was unreachable, when it recorded a failure, or when
    it started and left no release result.
author:
  - berth.deploy maintainers (@berth-deploy)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
extends_documentation_fragment:
  - berth.deploy.attributes
options:
  event:
    description:
      - V(gate) - which hosts of this batch start (run it once per batch, C(run_once)); not after a failure
        in an earlier batch, when the run was aborted (a pre_deploy hook or the migration failed), and
        only hosts with a berth role. A batch after the first starts C(berth_boot.wait) seconds late.
        Register it as C(berth_gate).
      - V(failed) - record this host's failure (in a C(rescue)), with O(reason). Register it as C(berth_failure).
      - V(finish) - did the run fail, what each host rolls back to (C(rollbacks), host -> role -> container),
        which hook runs now (C(hook)), the error text (C(error)); once (C(run_once)). Register it as C(berth_finish).
      - V(summary) - the first host shows one line per host and role (old -> new, per-step timings), failures
        first; every host fails with what went wrong on it (its failure, a failed rollback, hooks that
        failed after the release).
    type: str
    required: true
    choices: [gate, failed, finish, summary]
  reason:
    description: With O(event=failed), what failed.
    type: str
"""

EXAMPLES = r"""
- name: Decide which hosts of this batch start
  berth.deploy.rollout:
    event: gate
  register: berth_gate
  run_once: true

- name: Skip this host
  ansible.builtin.meta: end_host
  when: inventory_hostname not in berth_gate.starting
"""

RETURN = r"""
starting:
  description: With O(event=gate), the hosts of this batch that start.
  returned: O(event=gate)
  type: list
  elements: str
reason:
  description: With O(event=gate), why no host of this batch starts ("" when they may).
  returned: O(event=gate)
  type: str
run_failed:
  description: With O(event=finish), whether any host failed or the run was aborted.
  returned: O(event=finish)
  type: bool
rollbacks:
  description: With O(event=finish), host -> role -> container it serves again (pass it to M(berth.deploy.release) O(berth.deploy.release#module:restore)).
  returned: O(event=finish)
  type: dict
hook:
  description: With O(event=finish), V(post_deploy) or V(on_failure).
  returned: O(event=finish)
  type: str
error:
  description: With O(event=finish), what went wrong, one line per problem (BERTH_ERROR of on_failure).
  returned: O(event=finish)
  type: str
summary:
  description: With O(event=summary), on the first host, the lines (on other hosts empty).
  returned: O(event=summary)
  type: list
  elements: str
msg:
  description: With O(event=summary), the lines, or why this host fails.
  returned: O(event=summary)
  type: raw
"""
