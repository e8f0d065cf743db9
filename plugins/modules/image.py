#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image
short_description: Pull an app image (or load it from an archive) and prune unused tags
version_added: 0.1.0
description:
  - V(present) pulls C(name:tag), with registry credentials when given, and reports C(changed)
    only when the local image id for that tag moved.
  - With O(archive_path) the image is loaded from a C(docker save) archive on the host instead
    (the registry-free path); C(changed) again means the tag now points at another image.
  - V(pruned) removes the tags of repository O(name) whose image no container (running or stopped)
    uses, so retained versions stay available for rollback and everything else goes. Images of the
    repository that lost their tag (it moved to a newer push) are removed by digest.
  - Runs share a host's images (destinations of a service, services of one repository). A pull or
    load pins the image on the host until a container of it is created (M(berth.deploy.container),
    M(berth.deploy.app_exec), M(berth.deploy.release)), at most an hour; V(pruned) keeps pinned
    images (returned as RV(pinned)), and while another run pulls the repository it prunes nothing
    and warns (a later prune catches up).
  - In check mode a pull asks the registry for the tag's digest and compares it with the local
    image, so the prediction is truthful without downloading layers.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.full
options:
  name:
    description: Repository, without tag (C(registry.example.com/acme/myapp)).
    type: str
    required: true
  tag:
    description: Tag to pull or load. Required when O(state=present).
    type: str
  state:
    description: V(present) pulls or loads the image; V(pruned) removes unused tags of O(name).
    type: str
    choices: [present, pruned]
    default: present
  pull:
    description:
      - V(always) asks the registry every time (a moved tag is noticed).
      - V(missing) pulls only when the tag is not on the host (rollback to a retained version works with the registry down).
    type: str
    choices: [always, missing]
    default: always
  archive_path:
    description: Path on the host of a C(docker save) archive holding C(name:tag); loaded instead of pulling.
    type: path
  registry:
    description: Registry server the credentials are for (informational; the server is part of O(name)).
    type: str
  username:
    description: Registry user name.
    type: str
  password:
    description: Registry password or token.
    type: str
  keep_tags:
    description: With O(state=pruned), tags (C(name:tag)) never to remove.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Pull the release
  berth.deploy.image:
    name: registry.example.com/acme/myapp
    tag: v42
    username: deploy
    password: "{{ vault_registry_password }}"

- name: Load the release from an archive copied to the host
  berth.deploy.image:
    name: acme/myapp
    tag: v42
    archive_path: /var/tmp/myapp-v42.tar

- name: Remove images no retained container uses
  berth.deploy.image:
    name: registry.example.com/acme/myapp
    state: pruned
"""

RETURN = r"""
image:
  description: The image reference handled.
  returned: O(state=present)
  type: str
  sample: registry.example.com/acme/myapp:v42
id:
  description: Local image id after the run.
  returned: O(state=present), not in check mode
  type: str
previous_id:
  description: Local image id of the tag before the run (null when it was missing).
  returned: O(state=present)
  type: str
seconds:
  description: Wall time of the pull or load.
  returned: O(state=present)
  type: float
removed:
  description: References (C(name:tag), or C(name@digest) for untagged images) removed by O(state=pruned).
  returned: O(state=pruned)
  type: list
  elements: str
pinned:
  description: Unused references kept because a run on the host pulled them and has not created its container yet.
  returned: O(state=pruned)
  type: list
  elements: str
"""

import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _docker, _image


def present(module: AnsibleModule, client: t.Any) -> dict[str, t.Any]:
    params = module.params
    reference = f"{params['name']}:{params['tag']}"
    auth = {"username": params["username"], "password": params["password"]} if params["username"] else None
    if not params["archive_path"]:
        pulled = _image.ensure(client, reference, params["pull"], auth, module.check_mode, _image.Pins())
        shown_after = pulled.after if pulled.after is not None else "(new)"
        return dict(changed=pulled.changed, image=reference, id=pulled.after if not module.check_mode else pulled.before,
                    previous_id=pulled.before, seconds=pulled.seconds,
                    diff=dict(before={"id": pulled.before}, after={"id": shown_after}))
    before = _image.local_id(client, reference)
    started = time.monotonic()
    in_archive = _image.archive_image_ids(params["archive_path"])
    if reference not in in_archive:
        module.fail_json(msg=f"{params['archive_path']} does not hold {reference} "
                             f"(it holds: {', '.join(sorted(in_archive)) or 'no tagged images'})")
    changed = in_archive[reference] != before
    if not module.check_mode:
        with _image.Pins().pulling(reference):
            if changed:
                _image.load(client, params["archive_path"])
    after = before if module.check_mode else _image.local_id(client, reference)
    return dict(changed=changed, image=reference, id=after, previous_id=before,
                seconds=round(time.monotonic() - started, 3),
                diff=dict(before={"id": before}, after={"id": after if not module.check_mode else "(new)" if changed else before}))


def pruned(module: AnsibleModule, client: t.Any) -> dict[str, t.Any]:
    result = _image.prune(client, module.params["name"], module.params["keep_tags"], module.check_mode, _image.Pins())
    if result.busy:
        module.warn(f"Nothing pruned: another run is pulling {module.params['name']} on this host; prune again later.")
    return dict(changed=bool(result.removed), removed=result.removed, pinned=result.pinned,
                diff=dict(before={"unused": result.removed + result.pinned}, after={"unused": result.pinned}))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            tag=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "pruned"]),
            pull=dict(type="str", default="always", choices=["always", "missing"]),
            archive_path=dict(type="path"),
            registry=dict(type="str"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            keep_tags=dict(type="list", elements="str", default=[]),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        required_if=[("state", "present", ("tag",))],
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    client = _docker.connect(module)
    try:
        result = present(module, client) if module.params["state"] == "present" else pruned(module, client)
    except _image.ArchiveError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:
        what = module.params["name"] + (f":{module.params['tag']}" if module.params["tag"] else "")
        module.fail_json(msg=f"Docker engine error for {what}: {_docker.explain(exc)}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
