#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: accessory_info
short_description: Describe a berth accessory's container, its mounts, and an image's environment
version_added: 0.1.0
description:
  - Returns the container C(<service>-<accessory>[-<destination>]) (status, health, image) with its
    mounts (where each volume or host directory lives on the host), or C(exists=false). Read-only.
  - With O(image), also the environment and the C(VOLUME) paths the image declares (e.g. C(PG_MAJOR) of
    the postgres image), when the image is on the host, and which of those paths O(volumes) and O(tmpfs)
    leave to anonymous volumes.
  - Used by M(berth.deploy.postgres) (role) to refuse an upgrade to another major version of Postgres
    before it stops the running database, and by M(berth.deploy.accessory) (role) to refuse an image
    whose C(VOLUME) would keep data in an anonymous volume (lost when the container is replaced).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.info_module
options:
  accessory:
    description: The accessory's name (C(db), C(redis), ...).
    type: str
    required: true
  image:
    description: An image reference (C(repository:tag)) whose declared environment and volumes to return.
    type: str
  volumes:
    description:
      - The mounts the accessory will get, C(SOURCE:/container/path[:ro|rw]), to compare with the
        C(VOLUME) paths of O(image).
    type: list
    elements: str
    default: []
  tmpfs:
    description: The paths the accessory gets a tmpfs on (they are not anonymous volumes either).
    type: list
    elements: str
    default: []
  log_lines:
    description: Also return the container's last log lines (standard output and error together); 0 for none.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Where does the database keep its data, and which Postgres does the new image hold?
  berth.deploy.accessory_info:
    service: myapp
    accessory: db
    image: postgres:17
  register: db_info

- name: Which VOLUME paths of the image would no volume or directory cover?
  berth.deploy.accessory_info:
    service: myapp
    accessory: search
    image: opensearchproject/opensearch:2
    volumes: [search-data:/usr/share/opensearch/data]
  register: search_info
"""

RETURN = r"""
logs:
  description: The container's last O(log_lines) log lines (C(playbooks/accessory.yml) C(accessory_action=logs)).
  returned: always
  type: list
  elements: str
exists:
  description: Whether the accessory's container exists.
  returned: always
  type: bool
container:
  description: The container (name, id, image, status, health), empty when it does not exist.
  returned: always
  type: dict
  sample: {name: myapp-db, id: 3f2a1c9d0b1e, image: postgres:17, status: running, health: healthy}
mounts:
  description: The container's mounts, C(destination) (path in the container) to C(source) (path on the host).
  returned: always
  type: dict
  sample: {/var/lib/postgresql/data: /var/lib/docker/volumes/myapp-db-data/_data}
image_env:
  description: The environment O(image) declares (empty when O(image) is unset or not on the host).
  returned: always
  type: dict
  sample: {PG_MAJOR: "17", PGDATA: /var/lib/postgresql/data}
image_volumes:
  description: The C(VOLUME) paths O(image) declares (empty when O(image) is unset or not on the host).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/postgresql/data]
unmounted_volumes:
  description:
    - The paths of RV(image_volumes) that no entry of O(volumes) or O(tmpfs) mounts exactly. Docker
      keeps what the container writes there in an anonymous volume, which a replacing container does
      not get back.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/search]
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _container, _docker, _logs, _naming
from ansible_collections.berth.deploy.plugins.module_utils._accessory import unmounted_image_volumes


def image_config(client: t.Any, reference: str | None) -> dict[str, t.Any]:
    """The image's Config (Env, Volumes, ...), empty when there is no such image on the host."""
    image = _docker.get_image(client, reference) if reference else None
    return (image.attrs.get("Config") or {}) if image is not None else {}


def image_env(config: dict[str, t.Any]) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in config.get("Env") or [])
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            accessory=dict(type="str", required=True),
            image=dict(type="str"),
            volumes=dict(type="list", elements="str", default=[]),
            tmpfs=dict(type="list", elements="str", default=[]),
            log_lines=dict(type="int", default=0),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = _docker.connect(module)
    name = _naming.role_prefix(params["service"], params["accessory"], params["destination"])
    try:
        container = _docker.get_container(client, name)
        config = image_config(client, params["image"])
        logs = _logs.read(container, params["log_lines"]) if container is not None and params["log_lines"] > 0 else []
    except Exception as exc:
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    mounts = {mount.get("Destination"): mount.get("Source")
              for mount in (container.attrs.get("Mounts") or [] if container is not None else [])}
    image_volumes = sorted(config.get("Volumes") or {})
    module.exit_json(changed=False, exists=container is not None, logs=logs,
                     container=_container.summary(container) if container is not None else {},
                     mounts=mounts, image_env=image_env(config), image_volumes=image_volumes,
                     unmounted_volumes=unmounted_image_volumes(image_volumes, params["volumes"], params["tmpfs"]))


if __name__ == "__main__":
    main()
