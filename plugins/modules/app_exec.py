#!/usr/bin/python
# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: app_exec
short_description: Run a one-off command (bin/rails db:migrate) in a new container of a role's version, or in the running one
version_added: 0.1.0
description:
  - "O(mode=new): creates a one-off container from C(<image_repository>:<version>) with the role's
    environment (clear and secret), volumes, network and run options, runs O(command), waits for it,
    returns its exit code and the last O(lines) lines of its output, and removes it. Published ports
    are left out (it serves nothing) and it does not restart."
  - The one-off container is named C(<service>-<role>[-<destination>]-exec-<UTC time>-<random>) and
    labelled C(berth.service), C(berth.destination), C(berth.version) and C(berth.exec-role) but not
    C(berth.role), so deploys, rollbacks and retention never take it for a version of the role.
  - "O(mode=running): runs O(command) with C(docker exec) in the role's running container (the
    newest, when a deploy is under way)."
  - O(version) defaults to the version the role's running container runs. The image must be on the
    host (M(berth.deploy.image) pulls it; C(playbooks/app_exec.yml) does so when a version is given).
  - A non-zero exit code fails the task with the exit code and the last lines of output. So does a
    command still running after O(timeout) seconds; in O(mode=new) it is killed first, in O(mode=running)
    Docker offers no way to stop it and it keeps running in the container.
  - O(command) is not run by a shell. A string is split into arguments like a shell would (quotes
    work); for pipes, redirections or variables use C(sh -c '...').
  - Secret values never appear in the module's arguments or results (Ansible masks them in the
    command's output too).
author:
  - berth.deploy maintainers (@berth-deploy)
extends_documentation_fragment:
  - berth.deploy.service
  - berth.deploy.service.role
  - berth.deploy.docker
  - berth.deploy.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would run (container, image, version, command) with C(changed=true) and runs nothing.
  diff_mode:
    support: none
options:
  command:
    description: The command, a string (split like a shell would, without running one) or a list of arguments.
    type: raw
    required: true
  mode:
    description: V(new) runs in a new one-off container; V(running) in the role's running container.
    type: str
    choices: [new, running]
    default: new
  version:
    description: With O(mode=new), the version (image tag) to run; defaults to the version running now.
    type: str
  image_repository:
    description: With O(mode=new), the image repository without tag (C(berth_image)). Required when O(mode=new).
    type: str
  env:
    description: With O(mode=new), clear environment variables (as for the role's containers).
    type: dict
    default: {}
  secret_env:
    description:
      - With O(mode=new), secret environment variables; they go into the container only.
      - With O(mode=running), they do not change the running container's environment; as in O(mode=new),
        their values are masked in the command's output and the module's results.
    type: dict
    default: {}
  volumes:
    description: With O(mode=new), volumes as C(SOURCE:/container/path[:ro|rw]).
    type: list
    elements: str
    default: []
  network:
    description: With O(mode=new), the network to attach the one-off container to.
    type: str
  options:
    description: With O(mode=new), the role's run options (see M(berth.deploy.container)); C(publish) is ignored.
    type: dict
    default: {}
  log_driver:
    description: With O(mode=new), the logging driver. The output is read with C(docker logs) (Docker 20.10+ can
      read it back from any driver through its local cache).
    type: str
    default: json-file
  log_options:
    description: With O(mode=new), logging driver options.
    type: dict
    default: {max-size: 10m}
  log_secret_options:
    description:
      - Log driver options that hold secrets (a log-shipping token, a URL with a password), merged over
        O(log_options); their values are masked in the module's arguments and results.
    type: dict
    default: {}
  timeout:
    description: Seconds the command may run.
    type: int
    default: 3600
  lines:
    description: How many of the last lines of output to return.
    type: int
    default: 100
  keep_failed:
    description: With O(mode=new), keep the stopped one-off container when the command failed or timed out
      (for C(docker logs) and C(docker inspect)); C(playbooks/prune.yml) removes it later.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Migrate the database with the image of the running version
  berth.deploy.app_exec:
    service: myapp
    role: web
    image_repository: registry.example.com/acme/myapp
    command: bin/rails db:migrate
    env: {RAILS_ENV: production}
    secret_env: {SECRET_KEY_BASE: "{{ vault_secret_key_base }}", DATABASE_URL: "{{ vault_database_url }}"}
    network: berth
  register: migrate

- name: Ask the running web container something
  berth.deploy.app_exec:
    service: myapp
    role: web
    mode: running
    command: [bin/rails, runner, "puts User.count"]
"""

RETURN = r"""
rc:
  description: Exit code of the command (null when it timed out).
  returned: when the command ran
  type: int
  sample: 0
stdout:
  description: The last O(lines) lines of the command's standard output.
  returned: when the command ran
  type: str
stdout_lines:
  description: RV(stdout) as a list of lines.
  returned: when the command ran
  type: list
  elements: str
stderr:
  description: The last O(lines) lines of the command's standard error.
  returned: when the command ran
  type: str
stderr_lines:
  description: RV(stderr) as a list of lines.
  returned: when the command ran
  type: list
  elements: str
output_lines:
  description: The last O(lines) lines of standard output and standard error together, as Docker interleaved them.
  returned: when the command ran
  type: list
  elements: str
seconds:
  description: How long the command ran.
  returned: when the command ran
  type: float
container:
  description: The container the command ran (or would run) in.
  returned: always
  type: str
  sample: myapp-web-exec-20260122054401-3fa2
version:
  description: The version the command ran (or would run) with.
  returned: always
  type: str
  sample: v42
image:
  description: The image of the one-off container (O(mode=new)).
  returned: O(mode=new)
  type: str
command:
  description: The command as given.
  returned: always
  type: raw
kept:
  description: Whether the one-off container was kept (O(keep_failed) and the command failed).
  returned: O(mode=new), when the command ran
  type: bool
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.berth.deploy.plugins.module_utils import _args, _container, _docker, _exec, _naming

MESSAGE_LINES = 40


def plan_new(module: AnsibleModule, client: t.Any) -> tuple[dict[str, t.Any], t.Any]:
    params = module.params
    version = _exec.target_version(client, params["service"], params["role"], params["destination"],
                                   params["version"])
    image = f"{params['image_repository']}:{version}"
    found = _docker.get_image(client, image)
    if found is None and not module.check_mode:
        raise _exec.ExecError(f"Image {image} is not on this host; pull it first (berth.deploy.image; "
                              "playbooks/app_exec.yml pulls it when exec_version is given).")
    name = _naming.exec_container_name(params["service"], params["role"], _exec.stamp(), params["destination"])
    spec = _exec.one_off_spec(params, image, version, name)
    return {"container": name, "version": version, "image": image}, (spec, found.id if found is not None else None)


def plan_running(module: AnsibleModule, client: t.Any) -> tuple[dict[str, t.Any], t.Any]:
    params = module.params
    running = _exec.running_containers(client, params["service"], params["role"], params["destination"])
    if not running:
        raise _exec.ExecError(f"No running container of {_exec.describe_role(params['service'], params['role'], params['destination'])} "
                              "on this host to exec in; deploy first, or use mode=new.")
    target = running[0]
    return {"container": target.name, "version": _container.summary(target)["version"]}, target


def failure(module: AnsibleModule, what: dict[str, t.Any], result: _exec.ExecResult) -> str:
    params = module.params
    head = f"{_show_command(params['command'])} in {what['container']} ({what['version']})"
    if result.timed_out:
        fate = ("was killed" + (" and kept" if what.get("kept") else " and removed") if params["mode"] == "new"
                else "keeps running in the container (docker exec cannot stop it)")
        head += f" did not finish within {params['timeout']}s and {fate}."
    else:
        head += f" exited with {result.rc} after {result.seconds}s" + (
            "; the container was kept for inspection." if what.get("kept") else ".")
    tail = result.output[-MESSAGE_LINES:]
    return head + (f"\nLast {len(tail)} lines of its output:\n  " + "\n  ".join(tail) if tail else "\nIt printed nothing.")


def _show_command(command: t.Any) -> str:
    return "`" + (" ".join(command) if isinstance(command, list) else str(command)) + "`"


def run(module: AnsibleModule, client: t.Any) -> None:
    params = module.params
    what, target = plan_new(module, client) if params["mode"] == "new" else plan_running(module, client)
    what["command"] = params["command"]
    if module.check_mode:
        module.exit_json(changed=True, msg=f"would run {_show_command(params['command'])} in {what['container']}", **what)
    if params["mode"] == "new":
        spec, image_id = target
        result, kept = _exec.run_new(client, spec, image_id, params["timeout"], params["lines"],
                                     keep=lambda done: params["keep_failed"] and done.rc != 0)
        what["kept"] = kept
    else:
        result = _exec.run_in(client, target, params["command"], params["timeout"], params["lines"])
    if result.rc != 0:
        module.fail_json(msg=failure(module, what, result), changed=True, **what, **_exec.report(result))
    module.exit_json(changed=True, **what, **_exec.report(result))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            **_args.SERVICE_ARGS,
            **_args.ROLE_ARGS,
            command=dict(type="raw", required=True),
            mode=dict(type="str", default="new", choices=["new", "running"]),
            version=dict(type="str"),
            image_repository=dict(type="str"),
            env=dict(type="dict", default={}),
            secret_env=dict(type="dict", default={}, no_log=True),
            volumes=dict(type="list", elements="str", default=[]),
            network=dict(type="str"),
            options=dict(type="dict", default={}),
            log_driver=dict(type="str", default="json-file"),
            log_options=dict(type="dict", default={"max-size": "10m"}),
            log_secret_options=dict(type="dict", default={}, no_log=True),
            timeout=dict(type="int", default=3600),
            lines=dict(type="int", default=100),
            keep_failed=dict(type="bool", default=False),
            **_docker.DOCKER_CLIENT_ARGS,
        ),
        required_if=[("mode", "new", ("image_repository",))],
        supports_check_mode=True,
    )
    command = module.params["command"]
    if not (isinstance(command, str) and command.strip()) and not (
            isinstance(command, list) and command and all(isinstance(arg, str) for arg in command)):
        module.fail_json(msg=f"command: {command!r} is not a command (a string or a list of strings)")
    for name in ("timeout", "lines"):
        if module.params[name] < 1:
            module.fail_json(msg=f"{name}: {module.params[name]} must be at least 1")
    client = _docker.connect(module)
    try:
        run(module, client)
    except (_exec.ExecError, _container.SpecError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # engine errors: report them in the user's terms
        module.fail_json(msg=f"Docker engine error: {_docker.explain(exc)}")


if __name__ == "__main__":
    main()
