#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: build
short_description: Build the app image on the controller or a remote builder, and push it
version_added: 0.2.0
description:
  - Builds O(image):O(version) from O(context) with the Docker engine of O(docker_host) (the controller's by
    default; V(ssh://docker@builder) for a remote builder, which receives the context over SSH with the C(ssh)
    client), with the labels given plus C(service) (as Kamal labels its images). Give O(docker_timeout) room for
    the build's quiet steps.
  - With O(push), pushes it with the registry credentials given (they go only to that push).
  - C(playbooks/build.yml) runs it once, on the controller (delegated to localhost); without a registry the
    image then travels to the hosts with M(berth.deploy.image_ship).
  - The Docker SDK builds (the engine's builder); with O(secrets) the docker CLI builds with BuildKit instead, each
    secret a 0600 file for the build's lifetime, read in the Dockerfile with C(RUN --mount=type=secret,id=NAME) and
    in no layer of the image.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  context:
    description: The build context, a directory on the controller.
    type: path
    required: true
  image:
    description: Repository, without tag (C(berth_image)).
    type: str
    required: true
  version:
    description:
      - The tag (C(berth_version)). Empty - the git commit of O(context), as Kamal tags, with
        C(-uncommitted-<digest>) when its work tree has changes (they are in the image).
    type: str
    default: ""
  dockerfile:
    description: The Dockerfile, relative to O(context).
    type: str
    default: Dockerfile
  args:
    description: Build arguments.
    type: dict
    default: {}
  target:
    description: The stage to build.
    type: str
    default: ""
  labels:
    description: Labels of the image (C(service) is always added).
    type: dict
    default: {}
  service:
    description: The service, labelled C(service=<service>) on the image.
    type: str
    required: true
  platform:
    description: The platform to build for, e.g. V(linux/amd64) (Kamal's C(builder.arch)); the engine's own by default.
    type: str
    default: ""
  push:
    description: Push the image after the build.
    type: bool
    default: false
  secrets:
    description: Build secrets, name -> value (Kamal's C(builder.secrets)); never in the image or the module's output.
    type: dict
    default: {}
  username:
    description: Registry user for the push.
    type: str
  password:
    description: Registry password or token for the push.
    type: str
"""

EXAMPLES = r"""
- name: Build and push myapp at the current commit
  berth.deploy.build:
    context: "{{ playbook_dir }}/.."
    image: registry.example.com/acme/myapp
    version: "{{ berth_version }}"
    service: myapp
    push: true
    username: "{{ berth_registry.username }}"
    password: "{{ berth_registry.password }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
version:
  description: The tag built (the git commit when O(version) was empty).
  returned: always
  type: str
reference:
  description: The image built.
  returned: always
  type: str
  sample: registry.example.com/acme/myapp:3f2a1c9d...
image_id:
  description: Its image id (empty in check mode).
  returned: always
  type: str
pushed:
  description: Whether it was pushed.
  returned: always
  type: bool
seconds:
  description: Build and push time.
  returned: always
  type: float
log:
  description: The builder's last lines.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _build, _docker


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            context=dict(type="path", required=True),
            image=dict(type="str", required=True),
            version=dict(type="str", default=""),
            dockerfile=dict(type="str", default="Dockerfile"),
            args=dict(type="dict", default={}),
            target=dict(type="str", default=""),
            labels=dict(type="dict", default={}),
            service=dict(type="str", required=True),
            platform=dict(type="str", default=""),
            **_docker.DOCKER_CLIENT_ARGS,
            push=dict(type="bool", default=False),
            secrets=dict(type="dict", default={}, no_log=True),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    version = params["version"]
    if not version:
        try:
            version, warning = _build.git_version(params["context"])
        except _build.BuildError as exc:
            module.fail_json(msg=str(exc))
        if warning:
            module.warn(warning)
    reference = f"{params['image']}:{version}"
    if not os.path.isdir(params["context"]):
        module.fail_json(msg=f"context: {params['context']} is not a directory on the controller")
    if not os.path.isfile(os.path.join(params["context"], params["dockerfile"])):
        module.fail_json(msg=f"dockerfile: {params['dockerfile']} is not a file in {params['context']}")
    if module.check_mode:
        module.exit_json(changed=True, reference=reference, version=version, image_id="", pushed=False, seconds=0.0,
                         log=[])
    client = _docker.connect(module)
    labels = {**{str(key): str(value) for key, value in params["labels"].items()}, "service": params["service"]}
    try:
        before = _docker.get_image(client, reference)
        args = {str(key): str(value) for key, value in params["args"].items()}
        if params["secrets"]:
            built = _build.build_with_secrets(params["context"], reference, params["dockerfile"], args, params["target"],
                                              labels, params["platform"],
                                              {str(key): str(value) for key, value in params["secrets"].items()},
                                              params["docker_host"], params["docker_timeout"])
            built.image_id = client.images.get(reference).id
        else:
            built = _build.build(client, params["context"], reference, params["dockerfile"], args, params["target"],
                                 labels, params["platform"])
        if params["push"]:
            auth = {"username": params["username"], "password": params["password"]} if params["username"] else None
            _build.push(client, reference, auth)
            built.pushed = True
    except _build.BuildError as exc:
        module.fail_json(msg=f"Building {reference} failed: {exc}")
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=f"Building {reference} failed: {_docker.explain(exc)}")
    module.exit_json(changed=before is None or before.id != built.image_id or built.pushed, reference=reference,
                     version=version, image_id=built.image_id, pushed=built.pushed, seconds=built.seconds, log=built.log)


if __name__ == "__main__":
    main()
