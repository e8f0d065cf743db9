# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to the Docker engine.

Works with the Docker SDK for Python 5.0.3 (Debian 12's python3-docker) and newer.
"""
from __future__ import annotations

import traceback
import typing as t

DOCKER_IMPORT_ERROR: str | None
try:
    import docker
    from docker import errors as docker_errors
    from docker.types import LogConfig
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through fail_json
    docker = None
    docker_errors = None
    LogConfig = None
    DOCKER_IMPORT_ERROR = traceback.format_exc()

DOCKER_CLIENT_ARGS = dict(
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    docker_timeout=dict(type="int", default=120),
)


class EngineError(Exception):
    """A Docker engine failure, already phrased for the user."""


def connect(module: t.Any) -> t.Any:
    """Return a DockerClient for the module's docker_host, or fail the module clearly."""
    if DOCKER_IMPORT_ERROR is not None:
        module.fail_json(
            msg="The Docker SDK for Python is missing on the target: install python3-docker "
                "(Debian/Ubuntu) or 'pip install docker'.",
            exception=DOCKER_IMPORT_ERROR,
        )
    try:
        # version="auto" asks the engine for its API version: that already proves it answers (no ping).
        client = docker.DockerClient(
            base_url=module.params["docker_host"],
            version="auto",
            timeout=module.params["docker_timeout"],
            use_ssh_client=str(module.params["docker_host"]).startswith("ssh://"),  # the ssh CLI, not paramiko
        )
    except Exception as exc:  # the SDK raises several unrelated types here
        module.fail_json(msg=f"Cannot reach the Docker engine at {module.params['docker_host']}: {exc}")
    return client


def is_not_found(exc: BaseException) -> bool:
    return docker_errors is not None and isinstance(exc, docker_errors.NotFound)


def explain(exc: BaseException) -> str:
    """Turn an SDK/API exception into one line a user can act on."""
    if docker_errors is not None and isinstance(exc, docker_errors.APIError):
        return str(exc.explanation or exc)
    return str(exc)


def _get_or_none(collection: t.Any, key: str) -> t.Any | None:
    try:
        return collection.get(key)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def get_container(client: t.Any, name: str) -> t.Any | None:
    return _get_or_none(client.containers, name)


def get_image(client: t.Any, reference: str) -> t.Any | None:
    return _get_or_none(client.images, reference)


def log_config(driver: str, options: dict[str, str]) -> t.Any:
    return LogConfig(type=driver, config=dict(options))


def container_logs_tail(container: t.Any, lines: int = 40, stdout: bool = True, stderr: bool = True) -> list[str]:
    """The container's last log lines (stdout and stderr by default), decoded, never raising."""
    try:
        raw = container.logs(stdout=stdout, stderr=stderr, tail=lines)
    except Exception as exc:
        return [f"<logs unavailable: {explain(exc)}>"]
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    return text.splitlines()[-lines:]


def container_address(container: t.Any, network: str | None = None) -> str | None:
    """The container's IP address on ``network`` (or on its first network)."""
    networks = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
    if network:
        return (networks.get(network) or {}).get("IPAddress") or None
    for settings in networks.values():
        if settings.get("IPAddress"):
            return settings["IPAddress"]
    return None
