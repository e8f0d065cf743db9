#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_config
short_description: Merge berth's keys into Docker's daemon.json, keeping the server's own
version_added: 0.2.0
description:
  - Reads the server's C(daemon.json) and applies O(config) to it. Keys the file has that O(config)
    does not name stay as they are (a mirror, an insecure registry, C(data-root)). A mapping in
    O(config) (C(log-opts)) is merged key by key; any other value (a list such as
    C(insecure-registries)) replaces the file's; a null value removes the key.
  - Writes the file only when its content changes as JSON (formatting alone is left alone), keeping
    the order of the server's keys; with C(--diff) shows the change.
  - Refuses, before writing, to move C(data-root) away from a directory that holds containers
    (Docker would start on an empty directory after its restart), naming the old and the new value.
  - Fails, without writing, when the file is not a JSON object.
  - Needs no Docker (the host role runs it before Docker is installed).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.attributes
  - berth.deploy.attributes.full
options:
  config:
    description: The keys berth manages (log rotation, C(live-restore), C(berth_host_docker_daemon_extra)).
    type: dict
    required: true
  path:
    description: Where Docker reads its configuration.
    type: path
    default: /etc/docker/daemon.json
"""

EXAMPLES = r"""
- name: Write /etc/docker/daemon.json
  berth.deploy.daemon_config:
    config:
      log-driver: json-file
      log-opts: {max-size: 10m, max-file: "3"}
      live-restore: true
  notify: Restart the Docker daemon
"""

RETURN = r"""
config:
  description: The configuration after the run (what the file holds, or would hold in check mode).
  returned: success
  type: dict
  sample: {log-driver: json-file, live-restore: true, insecure-registries: [registry.internal:5000]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _daemon, _files


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="dict", required=True),
            path=dict(type="path", default="/etc/docker/daemon.json"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        text = _files.read_text(path)
        before = _daemon.parse(text, path)
        after = _daemon.merge(before, module.params["config"])
        changed = after != before
        if changed:
            _daemon.refuse_data_root_move(before, after)
    except (_daemon.DaemonConfigError, OSError) as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=changed, config=after)
    if changed:
        new_text = _daemon.render(after)
        result["diff"] = dict(before=text or "", after=new_text, before_header=path, after_header=path)
        if not module.check_mode:
            _files.write_atomic(path, new_text, 0o644)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
