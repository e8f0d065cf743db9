#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image_ship
short_description: Send an image from the controller to a host over SSH, only the layers it lacks
version_added: 0.2.0
description:
  - For deploys without a registry (no C(berth_registry)) - C(playbooks/build.yml) builds on the controller and this
    puts the image on each host, where the release finds it (nothing is pulled).
  - Runs on the controller (an action plugin) - C(docker save) of O(reference) from the controller's engine (once per
    image, shared by the hosts of the run), then asks the host (M(berth.deploy.image_info)) which layers it has, leaves
    those out of the archive (C(docker load) skips a layer the host has), copies the rest over the host's connection
    and loads it (M(berth.deploy.image)). A host that has the image already gets nothing.
author:
  - berth.deploy maintainers (@berth-deploy)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    description: Runs as an action plugin; the controller's engine saves, the host's loads.
    support: full
extends_documentation_fragment:
  - berth.deploy.attributes
options:
  reference:
    description: The image, C(repository:tag), on the controller's engine.
    type: str
    required: true
  docker_host:
    description: The engine that holds the image (the controller's, or the remote builder's).
    type: str
    default: unix:///var/run/docker.sock
  host_docker_host:
    description: The host's engine.
    type: str
    default: unix:///var/run/docker.sock
"""

EXAMPLES = r"""
- name: Put myapp v42 on every host
  berth.deploy.image_ship:
    reference: myapp:v42
"""

RETURN = r"""
reference:
  description: The image shipped.
  returned: always
  type: str
layers_sent:
  description: Layers sent (the ones the host lacked).
  returned: always
  type: int
layers_kept:
  description: Layers the host had, left out of the archive.
  returned: when shipped
  type: int
bytes_sent:
  description: Size of the archive sent.
  returned: always
  type: int
seconds:
  description: Time taken.
  returned: always
  type: float
"""
