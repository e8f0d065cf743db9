#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: container
short_description: Run one app container of a berth role, stop it gracefully, keep the newest versions
version_added: 0.1.0
description:
  - Boots one container of a role's version, named C(<service>-<role>[-<destination>]-<version>-<hash>)
    after its specification's hash, with the labels C(berth.service), C(berth.role),
    C(berth.destination) and C(berth.version); or a container with an explicit O(name) (the proxy, say).
  - Idempotent through a hash of the container's specification kept in the C(berth.spec-hash) label.
    Secret values are not hashed (labels hold nothing secret); they are compared with the container's
    environment instead.
  - A role's container is found by what it is, not by its name. Re-running a version whose
    specification changed boots a new container of its own beside the serving one, so the proxy can
    switch without downtime and no route follows a name onto it. O(state=stopped), V(absent) and
    V(active) act on the containers of O(version) (the newest running one for V(active)).
  - V(active) makes an already running container the role's only running version; every other
    running container of the same O(service)/O(role)/O(destination) is stopped gracefully (SIGTERM,
    then SIGKILL after O(stop_timeout)).
  - O(retain) removes stopped containers of the role beyond the newest O(retain).
  - An accessory (O(service) and O(accessory), a database or a cache) is one container named
    C(<service>-<accessory>[-<destination>]) with the labels C(berth.accessory) and C(berth.accessory-of);
    use O(replace=stop_first) for it, so two containers never share its data.
  - Secrets go to O(env_file) (mode 0600) and into the container's environment, never into labels or
    the module's output.
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.docker
  - berth.deploy.attributes
  - berth.deploy.attributes.full
options:
  name:
    description: Container name. Defaults to C(<service>-<role>[-<destination>]-<version>-<hash>) for a role's version.
    type: str
  service:
    description: The berth service (app) name; with O(role) it selects the role's containers.
    type: str
  role:
    description: The berth role (C(web), C(job), ...).
    type: str
  destination:
    description: Optional destination (C(staging), C(production), ...).
    type: str
    default: ""
  accessory:
    description:
      - The accessory's name (C(db), C(redis), ...); with O(service) it names the container
        C(<service>-<accessory>[-<destination>]) and labels it as an accessory of O(service).
      - Mutually exclusive with O(role).
    type: str
  replace:
    description:
      - How a container whose specification changed is replaced.
      - V(beside) boots the new container beside the serving one (renamed C(<name>-replaced-<id>) when
        O(name) is fixed), so the proxy can switch without downtime.
      - V(stop_first) stops the old container gracefully and removes it before the new one starts
        (accessories, since two databases must never run on one data directory; the proxy, since
        two containers cannot publish the same host ports). Volumes are kept. Copies set aside by an
        earlier run that died mid-replacement (C(<name>-replaced-<id>)) are removed too.
    type: str
    choices: [beside, stop_first]
    default: beside
  keep_replaced:
    description:
      - With O(replace=stop_first), the old container (or, without one, the newest copy an earlier run set
        aside) is stopped and kept as C(<name>-replaced-<id>) instead of removed, and named in RV(replaced) -
        remove it once the new container works, or put it back with O(state=restored).
    type: bool
    default: false
  restart:
    description:
      - With O(state=started), restart the container (graceful stop, then start) even when its
        specification is unchanged, e.g. after a configuration file it mounts changed.
      - A container that is created or started by this run is not restarted again.
    type: bool
    default: false
  version:
    description: The version being run (the image tag); written to the C(berth.version) label.
    type: str
  image:
    description: Image reference (C(repository:tag)); must already be on the host (see M(berth.deploy.image)).
      Required when O(state=started).
    type: str
  state:
    description:
      - V(started) creates the container if needed (or recreates it when its specification changed) and starts it.
      - V(stopped) stops it gracefully and keeps it (for inspection or instant rollback).
      - V(absent) stops and removes it.
      - V(active) requires it to run and stops every other container of the role.
      - V(restored) puts back the newest copy O(keep_replaced) set aside, C(<name>-replaced-<id>); it removes the
        container now named O(name) (the replacement that failed), renames the copy to O(name) and starts
        it. Nothing changes when there is no such copy.
    type: str
    choices: [started, stopped, absent, active, restored]
    default: started
  command:
    description: Command (string or list) overriding the image's CMD.
    type: raw
  env:
    description: Clear (non-secret) environment variables.
    type: dict
    default: {}
  secret_env:
    description: Secret environment variables; written only to O(env_file) and the container.
    type: dict
    default: {}
  env_file:
    description:
      - Path of an env file (mode 0600) holding the whole environment (clear and secret), for one-off
        containers (C(docker run --env-file)). Not written when unset.
    type: path
  volumes:
    description: Volumes as C(SOURCE:/container/path[:ro|rw]) (a host path or a named volume).
    type: list
    elements: str
    default: []
  network:
    description: Network to attach the container to at creation.
    type: str
  options:
    description:
      - Run options, as in C(berth_roles.<role>.options)
        (memory, memory_reservation, memory_swap, shm_size, cpus, cpu_shares, pids_limit, user, workdir,
        hostname, stop_signal, init, read_only, cap_add, cap_drop, security_opt, extra_hosts, tmpfs,
        sysctls, labels, ulimits, publish, healthcheck).
      - Entries of the C(publish) option are C([address:][host_port:]container_port[/tcp|udp]).
      - C(healthcheck) is Docker's HEALTHCHECK as C({cmd, interval, timeout, retries, start_period})
        (seconds; a string C(cmd) runs in C(/bin/sh), a list runs as is).
    type: dict
    default: {}
  log_driver:
    description: Logging driver.
    type: str
    default: json-file
  log_options:
    description: Logging driver options. The default rotates json-file logs at 10 MB.
    type: dict
    default: {max-size: 10m}
  log_secret_options:
    description:
      - Log driver options that hold secrets (a log-shipping token, a URL with a password), merged over
        O(log_options); their values are masked in the module's arguments and results.
    type: dict
    default: {}
  restart_policy:
    description: Docker restart policy.
    type: str
    choices: ["no", always, unless-stopped, on-failure]
    default: unless-stopped
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when stopping.
    type: int
    default: 30
  retain:
    description: Keep the newest O(retain) containers of the role (running ones always stay); remove the rest.
    type: int
  proxy_settings:
    description:
      - For the proxy container (role C(berth.deploy.proxy)) only - the settings every service on the host relies on
        (C(berth_plan.proxy.shared), nothing secret), kept in the label C(berth.proxy-settings) so that
        M(berth.deploy.proxy_info) can tell when another service's setup would change them.
    type: dict
"""

EXAMPLES = r"""
- name: Boot the new version beside the old one
  berth.deploy.container:
    service: myapp
    role: web
    version: v42
    image: registry.example.com/acme/myapp:v42
    env: {RAILS_ENV: production}
    secret_env: {SECRET_KEY_BASE: "{{ vault_secret_key_base }}"}
    env_file: /etc/berth/myapp/env/myapp-web.env
    network: berth
    options: {memory: 1g, cpus: 1}

- name: Run Postgres as an accessory of myapp (stop the old container before a new one starts)
  berth.deploy.container:
    service: myapp
    accessory: db
    image: postgres:17
    secret_env: {POSTGRES_PASSWORD: "{{ vault_db_password }}"}
    volumes: ["myapp-db-data:/var/lib/postgresql/data"]
    network: berth
    options:
      healthcheck: {cmd: "pg_isready -U postgres", interval: 2}
    replace: stop_first
    restart_policy: unless-stopped

- name: Make v42 the only running version, keep 5 for rollback
  berth.deploy.container:
    service: myapp
    role: web
    version: v42
    state: active
    stop_timeout: 30
    retain: 5
"""

RETURN = r"""
container:
  description: The container after the run (absent when O(state=absent)).
  returned: success
  type: dict
  sample: {name: myapp-web-v42, id: 3f2a1c9d0b1e, version: v42, status: running, address: 172.18.0.5}
others:
  description: The other containers of the role before this run, newest first.
  returned: when O(service) and O(role) are set
  type: list
  elements: dict
stopped:
  description: Names of containers stopped (O(state=stopped), O(state=active)).
  returned: success
  type: list
  elements: str
removed:
  description: Names of containers removed (O(state=absent), replaced or beyond O(retain)).
  returned: success
  type: list
  elements: str
replaced:
  description: The old container set aside by O(keep_replaced) (stopped), to remove or put back.
  returned: when O(keep_replaced) set a container aside
  type: str
  sample: berth-proxy-replaced-3f2a1c9d
actions:
  description: What was done, in order (e.g. C(created myapp-web-v42), C(started myapp-web-v42)).
  returned: success
  type: list
  elements: str
seconds:
  description: Wall time of the run.
  returned: success
  type: float
"""

import re
import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _container, _docker, _files, _image, _naming


def set_aside_name(name: str, container_id: str) -> str:
    """What a serving container is renamed to while its replacement boots beside it."""
    return f"{name}-replaced-{container_id[:8]}"


class ContainerRunner:
    def __init__(self, module: AnsibleModule, client: t.Any):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.actions: list[str] = []
        self.stopped: list[str] = []
        self.removed: list[str] = []
        self.changed = False
        self.replaced = ""
        self.diff: dict[str, t.Any] = {"before": {}, "after": {}}

    def record(self, action: str) -> None:
        self.actions.append(action)
        self.changed = True

    def role_version(self) -> bool:
        """Whether this run is about one version of a role (containers found by labels and spec, not by name)."""
        params = self.params
        return bool(params["service"] and params["role"] and params["version"] and not params["name"])

    def version_containers(self) -> list[t.Any]:
        """The role's containers of O(version), running ones first, newest first."""
        found = [item for item in self.role_containers() or []
                 if _naming.version_of(item.attrs.get("Config", {}).get("Labels")) == self.params["version"]]
        return sorted(found, key=_container.is_running, reverse=True)

    def run(self) -> dict[str, t.Any]:
        started = time.monotonic()
        state = self.params["state"]
        if self.role_version():
            versions = self.version_containers()
            current = versions[0] if versions else None
            name = current.name if current is not None else _container.container_name(self.params)
        else:
            name = _container.container_name(self.params)
            current = _docker.get_container(self.client, name)
        others_before = self.role_containers(exclude=name)
        self.diff["before"] = self.describe(current)
        if state == "started" and self.role_version():
            current = self.boot_version()
            name = current.name if current is not None else name
        elif state == "started":
            current = self.ensure_started(name, current)
        elif state == "stopped" and self.role_version():
            for item in _container.running(self.version_containers()):
                self.stop(item)
        elif state == "stopped" and current is not None and _container.is_running(current):
            self.stop(current)
        elif state == "absent" and self.role_version():
            for item in self.version_containers():
                self.remove(item, stop_first=True)
            current = None
        elif state == "absent" and current is not None:
            self.remove(current, stop_first=True)
            current = None
        elif state == "active":
            self.make_active(name, current)
        elif state == "restored":
            current = self.restore(name, current)
        if self.params["retain"]:
            self.prune(self.params["retain"], current)
        if current is not None and not self.check_mode:
            current.reload()
        self.diff["after"] = self.describe(current) if not (self.check_mode and self.changed) else {
            "name": name, "state": state}
        result = dict(changed=self.changed, actions=self.actions, stopped=self.stopped, removed=self.removed,
                      container=self.describe(current) if current is not None else {}, diff=self.diff,
                      seconds=round(time.monotonic() - started, 3))
        if self.replaced:
            result["replaced"] = self.replaced
        if others_before is not None:
            result["others"] = [_container.summary(item) for item in others_before]
        return result

    def describe(self, container: t.Any) -> dict[str, t.Any]:
        if container is None:
            return {}
        description = _container.summary(container)
        description["address"] = _docker.container_address(container, self.params["network"])
        description["spec_hash"] = (container.attrs.get("Config", {}).get("Labels") or {}).get("berth.spec-hash")
        return description

    def role_containers(self, exclude: str | None = None) -> list[t.Any] | None:
        if not (self.params["service"] and self.params["role"]):
            return None
        found = _container.role_containers(self.client, self.params["service"], self.params["role"],
                                           self.params["destination"])
        return [item for item in found if item.name != exclude]

    def boot_version(self) -> t.Any:
        """Boot O(version) of the role as a container of its own (the release's boot step)."""
        params = self.params
        if not params["image"]:
            self.module.fail_json(msg="image is required when state=started")
        spec = _container.build_spec(params)
        image = _docker.get_image(self.client, spec.image)
        if image is None and not self.check_mode:
            self.module.fail_json(msg=f"Image {spec.image} is not on this host; pull it first (berth.deploy.image).")
        self.write_env_file(spec)
        booted = _container.boot(self.client, spec, image.id if image is not None else None, self.role_containers() or [],
                                 self.check_mode, lambda spec_hash: _naming.boot_name(
                                     params["service"], params["role"], params["version"], spec_hash,
                                     params["destination"]))
        for action in booted.actions:
            self.record(action)
        if params["restart"] and not booted.changed and booted.container is not None:
            self.record(f"restarted {booted.name}")
            if not self.check_mode:
                _container.stop(booted.container, params["stop_timeout"])
                booted.container.start()
        return booted.container

    def ensure_started(self, name: str, current: t.Any) -> t.Any:
        if not self.params["image"]:
            self.module.fail_json(msg="image is required when state=started")
        spec = _container.build_spec(self.params)
        image = _docker.get_image(self.client, spec.image)
        if image is None and not self.check_mode:
            self.module.fail_json(msg=f"Image {spec.image} is not on this host; pull it first (berth.deploy.image).")
        spec_hash = spec.spec_hash(image.id if image is not None else None)
        self.write_env_file(spec)
        if current is not None and _container.matches(current, spec, spec_hash):
            if not _container.is_running(current):
                self.record(f"started {name}")
                if not self.check_mode:
                    current.start()
            elif self.params["restart"]:
                self.record(f"restarted {name}")
                if not self.check_mode:
                    _container.stop(current, self.params["stop_timeout"])
                    current.start()
            return current
        if self.params["replace"] == "stop_first":
            self.make_way(name, current)
        elif current is not None:
            self.set_aside(current)
        self.record(f"created {name}")
        self.record(f"started {name}")
        if self.check_mode:
            return None
        created = self.client.containers.create(spec.image, **_container.create_kwargs(spec, spec_hash))
        _image.created_from(spec.image)
        created.start()
        return created

    def set_aside(self, current: t.Any) -> None:
        """An outdated container under the wanted name: rename it if it serves, else remove it."""
        if _container.is_running(current):
            replaced = set_aside_name(current.name, current.id)
            self.record(f"renamed {current.name} to {replaced}")
            if not self.check_mode:
                current.rename(replaced)
        else:
            self.remove(current, stop_first=False)

    def set_aside_copies(self, name: str) -> list[t.Any]:
        """``<name>-replaced-<id>`` containers (kept by keep_replaced, or left by a run that died), newest first."""
        pattern = re.compile(rf"/?{re.escape(set_aside_name(name, ''))}[0-9a-f]+")
        found = self.client.containers.list(all=True, filters={"name": set_aside_name(name, "")})
        copies = [item for item in found if pattern.fullmatch(item.name)]
        return sorted(copies, key=lambda item: item.attrs.get("Created") or "", reverse=True)

    def make_way(self, name: str, current: t.Any) -> None:
        """replace=stop_first: stop and remove the old container and set-aside copies (they may hold its ports);
        with keep_replaced the old one (else the newest copy) stays, stopped, as the way back."""
        old = ([current] if current is not None else []) + self.set_aside_copies(name)
        kept = old[0] if old and self.params["keep_replaced"] else None
        for item in old[1:] if kept is not None else old:
            self.remove(item, stop_first=True)
        if kept is None:
            return
        if _container.is_running(kept):
            self.stop(kept)
        self.replaced = set_aside_name(name, kept.id)
        if kept.name != self.replaced:
            self.record(f"renamed {kept.name} to {self.replaced}")
            if not self.check_mode:
                kept.rename(self.replaced)

    def restore(self, name: str, current: t.Any) -> t.Any:
        """state=restored: the newest set-aside copy serves under ``name`` again, instead of ``current``."""
        copies = self.set_aside_copies(name)
        if not copies:
            return current
        if current is not None:
            self.remove(current, stop_first=True)
        back = copies[0]
        self.record(f"renamed {back.name} to {name}")
        self.record(f"started {name}")
        if not self.check_mode:
            back.rename(name)
            back.start()
        for extra in copies[1:]:
            self.remove(extra, stop_first=True)
        return back

    def write_env_file(self, spec: _container.ContainerSpec) -> None:
        path = self.params["env_file"]
        if path and _files.ensure_file(path, _container.env_file_content(spec), 0o600, self.check_mode):
            self.record(f"wrote {path}")

    def stop(self, container: t.Any) -> None:
        self.record(f"stopped {container.name}")
        self.stopped.append(container.name)
        if not self.check_mode:
            _container.stop(container, self.params["stop_timeout"])

    def remove(self, container: t.Any, stop_first: bool) -> None:
        if stop_first and _container.is_running(container):
            self.stop(container)
        self.record(f"removed {container.name}")
        self.removed.append(container.name)
        if not self.check_mode:
            container.remove(v=False, force=True)

    def make_active(self, name: str, active: t.Any) -> None:
        if active is None or not _container.is_running(active):
            if not self.check_mode:
                self.module.fail_json(msg=f"{name} is not running, so it cannot become the active version; "
                                          "start it first (state=started).")
        active_id = active.id if active is not None else None
        for other in self.role_containers() or []:
            if other.id != active_id and _container.is_running(other):
                self.stop(other)

    def prune(self, keep: int, active: t.Any) -> None:
        containers = self.role_containers() or []  # freshly inspected: stops made above are seen
        _kept, removable = _container.retained_split(containers, keep, active.id if active is not None else None)
        for container in removable:
            self.remove(container, stop_first=False)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            service=dict(type="str"),
            role=dict(type="str"),
            accessory=dict(type="str"),
            replace=dict(type="str", default="beside", choices=["beside", "stop_first"]),
            restart=dict(type="bool", default=False),
            destination=dict(type="str", default=""),
            version=dict(type="str"),
            image=dict(type="str"),
            state=dict(type="str", default="started", choices=["started", "stopped", "absent", "active", "restored"]),
            keep_replaced=dict(type="bool", default=False),
            command=dict(type="raw"),
            env=dict(type="dict", default={}),
            secret_env=dict(type="dict", default={}, no_log=True),
            env_file=dict(type="path"),
            volumes=dict(type="list", elements="str", default=[]),
            network=dict(type="str"),
            options=dict(type="dict", default={}),
            log_driver=dict(type="str", default="json-file"),
            log_options=dict(type="dict", default={"max-size": "10m"}),
            log_secret_options=dict(type="dict", default={}, no_log=True),
            restart_policy=dict(type="str", default="unless-stopped",
                                choices=["no", "always", "unless-stopped", "on-failure"]),
            stop_timeout=dict(type="int", default=30),
            retain=dict(type="int"),
            proxy_settings=dict(type="dict"),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        mutually_exclusive=[("role", "accessory")],
        supports_check_mode=True,
    )
    if (module.params["state"] == "active" or module.params["retain"]) and not (
            module.params["service"] and module.params["role"]):
        module.fail_json(msg="state=active and retain need service and role (they select the role's containers)")
    client = _docker.connect(module)
    try:
        result = ContainerRunner(module, client).run()
    except _container.SpecError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # engine errors: report them in the user's terms
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
