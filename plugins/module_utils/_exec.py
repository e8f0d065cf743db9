# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-off commands: in a new container of a role's version, or in the role's running container."""
from __future__ import annotations

import secrets
import threading
import time
import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.deploy.plugins.module_utils import _container, _docker, _image, _naming
from ansible_collections.berth.deploy.plugins.module_utils._logs import LineTail

POLL_FIRST = 0.05
POLL_MAX = 0.5
# Options of the role's containers a one-off container does not take: it serves nothing.
SKIPPED_OPTIONS = ("publish",)


class ExecError(Exception):
    """The command cannot be run as asked; the message says why and what to do."""


@dataclass
class ExecResult:
    rc: int | None
    seconds: float
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)  # stdout and stderr in the order they came

    @property
    def timed_out(self) -> bool:
        return self.rc is None


def stamp(now: float | None = None) -> str:
    """A UTC time and four random hex digits: unique enough for one-off container names."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + "-" + secrets.token_hex(2)


def running_containers(client: t.Any, service: str, role: str, destination: str = "") -> list[t.Any]:
    """The running containers of one role, newest first."""
    return [item for item in _container.role_containers(client, service, role, destination)
            if _container.is_running(item)]


def describe_role(service: str, role: str, destination: str) -> str:
    return f"{service} {role}" + (f" ({destination})" if destination else "")


def target_version(client: t.Any, service: str, role: str, destination: str, version: str | None) -> str:
    """``version``, or the version the role's newest running container runs."""
    if version:
        return version
    running = running_containers(client, service, role, destination)
    if not running:
        retained = [_container.summary(item)["version"] for item in
                    _container.role_containers(client, service, role, destination)]
        raise ExecError(f"No running container of {describe_role(service, role, destination)} on this host, so there "
                        f"is no current version; give the version (retained here: "
                        f"{', '.join(str(item) for item in retained) or 'none'}) or deploy first.")
    return _container.summary(running[0])["version"] or ""


def one_off_spec(params: t.Mapping[str, t.Any], image: str, version: str, name: str) -> _container.ContainerSpec:
    """The spec of a one-off container: the role's environment, volumes, network and options, but no
    published ports, no restart policy and the one-off labels (not a version of the role)."""
    options = {key: value for key, value in (params.get("options") or {}).items() if key not in SKIPPED_OPTIONS}
    spec = _container.build_spec({
        "name": name, "image": image, "command": params["command"], "env": params.get("env"),
        "secret_env": params.get("secret_env"), "volumes": params.get("volumes"), "network": params.get("network"),
        "options": options, "log_driver": params.get("log_driver"), "log_options": params.get("log_options"),
        "log_secret_options": params.get("log_secret_options"),
        "restart_policy": "no",
    })
    spec.labels.update(_naming.exec_labels(params["service"], params["role"], version, params.get("destination") or ""))
    return spec


def run_new(client: t.Any, spec: _container.ContainerSpec, image_id: str | None, timeout: float, lines: int,
            keep: t.Callable[[ExecResult], bool]) -> tuple[ExecResult, bool]:
    """Create, start and wait for a one-off container; read its output; remove it unless ``keep(result)``.

    Returns the result and whether the container was kept. A command still running after
    ``timeout`` seconds is killed (rc None).
    """
    container = client.containers.create(spec.image, **_container.create_kwargs(spec, spec.spec_hash(image_id)))
    _image.created_from(spec.image)
    started = time.monotonic()
    result = ExecResult(rc=None, seconds=0.0)
    kept = False
    try:
        container.start()
        result.rc = _wait_exit(container, started + timeout)
        result.seconds = round(time.monotonic() - started, 3)
        result.stdout = _docker.container_logs_tail(container, lines, stdout=True, stderr=False)
        result.stderr = _docker.container_logs_tail(container, lines, stdout=False, stderr=True)
        result.output = _docker.container_logs_tail(container, lines)
        kept = keep(result)
    finally:
        if not kept:
            container.remove(v=False, force=True)
    return result, kept


def _wait_exit(container: t.Any, deadline: float) -> int | None:
    """The container's exit code, or None after killing it at ``deadline``."""
    pause = POLL_FIRST
    while True:
        container.reload()
        state = container.attrs.get("State") or {}
        if not state.get("Running"):
            return int(state.get("ExitCode", -1))
        if time.monotonic() >= deadline:
            container.kill()
            return None
        time.sleep(min(pause, max(deadline - time.monotonic(), 0.01)))
        pause = min(pause * 2, POLL_MAX)


class _Streams:
    """Bounded tails of an exec's stdout, stderr and both, fed from Docker's demultiplexed stream."""

    def __init__(self, lines: int):
        self.stdout = LineTail(lines)
        self.stderr = LineTail(lines)
        self.output = LineTail(lines)
        self.error: BaseException | None = None

    def consume(self, frames: t.Iterable[tuple[bytes | None, bytes | None]]) -> None:
        try:
            for out, err in frames:
                self.stdout.feed(out)
                self.stderr.feed(err)
                self.output.feed(out)
                self.output.feed(err)
        except BaseException as exc:  # reported by the caller's thread
            self.error = exc


def run_in(client: t.Any, container: t.Any, command: t.Any, timeout: float, lines: int) -> ExecResult:
    """``docker exec`` ``command`` in ``container``; rc None when it still runs after ``timeout`` seconds
    (Docker cannot stop an exec'd process: it keeps running in the container)."""
    exec_id = client.api.exec_create(container.id, command, stdout=True, stderr=True)["Id"]
    streams = _Streams(lines)
    started = time.monotonic()
    frames = client.api.exec_start(exec_id, stream=True, demux=True)
    reader = threading.Thread(target=streams.consume, args=(frames,), daemon=True)
    reader.start()
    reader.join(timeout)
    result = ExecResult(rc=None, seconds=round(time.monotonic() - started, 3))
    if not reader.is_alive():
        if streams.error is not None:
            raise streams.error
        result.rc = _exec_exit_code(client, exec_id)
    result.stdout, result.stderr, result.output = (streams.stdout.finish(), streams.stderr.finish(),
                                                   streams.output.finish())
    return result


def _exec_exit_code(client: t.Any, exec_id: str) -> int:
    deadline = time.monotonic() + 5
    while True:
        inspected = client.api.exec_inspect(exec_id)
        if not inspected.get("Running") or time.monotonic() > deadline:
            return int(inspected.get("ExitCode") if inspected.get("ExitCode") is not None else -1)
        time.sleep(POLL_FIRST)


def report(result: ExecResult) -> dict[str, t.Any]:
    """A module's return values for a finished command."""
    return dict(rc=result.rc, seconds=result.seconds, stdout="\n".join(result.stdout), stdout_lines=result.stdout,
                stderr="\n".join(result.stderr), stderr_lines=result.stderr, output_lines=result.output)
