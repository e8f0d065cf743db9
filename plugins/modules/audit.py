#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: audit
short_description: Append one line to the service's audit log on the host
version_added: 0.2.0
description:
  - Appends C(<UTC time> key=value ...) to O(path) (created C(0640), its directory C(0750)), the log
    C(/var/log/berth/<service>-deploys[-<destination>].log) that deploys and rollbacks write too
    (M(berth.deploy.release)).
  - Every value is escaped first - control characters such as a newline become C(\n), values with
    spaces or quotes are shell-quoted - so no value (a message, an exec command) can end the line or
    write a second one.
  - Each run appends a line, also when an identical one is there (two runs in one second).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the line that would be is returned.
  diff_mode:
    support: none
options:
  path:
    description: The audit log, C(berth_plan.audit_log).
    type: path
    required: true
  fields:
    description:
      - The fields of the line, in order; keys are lower-case words, values are written as text.
      - A null value leaves its field out.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the audit log line on this host
  berth.deploy.audit:
    path: "{{ berth_plan.audit_log }}"
    fields:
      performer: "{{ berth_plan.performer }}"
      action: exec
      command: "bin/rails db:migrate"
      message: "{{ berth_plan.message }}"
"""

RETURN = r"""
line:
  description: The line written (or, in check mode, that would be).
  returned: success
  type: str
  sample: "2026-12-04T19:20:00Z performer=alice@laptop action=exec command='bin/rails db:migrate' message=''"
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _audit


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), fields=dict(type="dict", required=True)),
        supports_check_mode=True,
    )
    try:
        line = _audit.line(time.time(), list(module.params["fields"].items()))
    except ValueError as exc:
        module.fail_json(msg=f"fields: {exc}")
    if not module.check_mode:
        _audit.append(module.params["path"], line)
    module.exit_json(changed=True, line=line)


if __name__ == "__main__":
    main()
