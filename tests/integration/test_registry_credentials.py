"""berth_registry's credentials go to berth_registry.server only (issue 12, item 1).

A small HTTP server on a loopback address plays another registry: it answers every request with
401 and a Basic challenge (which makes Docker send credentials it was given) and records any
Authorization header. The real authenticated registry (AUTH_REGISTRY) must still get them.
"""
from __future__ import annotations

import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.integration.conftest import AUTH_IMAGE, AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER
from tests.support.ansible_run import REPO, run_playbook

OTHER_REGISTRY_ADDRESS = "127.0.0.3"


class ChallengingRegistry(BaseHTTPRequestHandler):
    """Answers 401 with ``WWW-Authenticate: Basic`` and notes (path, Authorization) of each request."""
    seen: list[tuple[str, str | None]] = []

    def _challenge(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="other-registry"')
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Type", "application/json")
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = _challenge  # noqa: N815 - BaseHTTPRequestHandler's names

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def other_registry() -> t.Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (ChallengingRegistry,), {"seen": seen})
    server = ThreadingHTTPServer((OTHER_REGISTRY_ADDRESS, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{OTHER_REGISTRY_ADDRESS}:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def write_inventory(directory, group_vars: dict[str, t.Any]):
    inventory = {"all": {"children": {"web": {"hosts": {"local1": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}}
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory))
    return directory / "hosts.yml"


def test_credentials_go_to_their_registry_only(engine, testbed, other_registry, tmp_path, unique, cleanup):
    other, seen = other_registry
    network = f"berth-{unique}"
    cleanup.extend([f"{unique}-proxy", network])
    inventory = write_inventory(tmp_path, {
        "berth_service": unique, "berth_image": AUTH_IMAGE, "berth_network": network,
        "berth_registry": {"server": AUTH_REGISTRY, "username": AUTH_USER, "password": AUTH_PASSWORD},
        "berth_host_bootstrap": False,
        "berth_proxy": {"image": f"{other}/berth-test/traefik:v3", "container_name": f"{unique}-proxy",
                        "publish_address": "127.0.0.1", "http_port": 18180, "https_port": 18543,
                        "api_port": 18181, "config_dir": str(tmp_path / "proxy")},
        "berth_roles": {"web": {"proxy": {"host": f"{unique}.test", "app_port": 3000}}},
    })

    setup = run_playbook(REPO / "playbooks" / "setup.yml", inventory)
    assert setup.rc != 0, "the proxy image is on a registry that lets nobody in"
    assert "Pull the proxy image" in setup.stdout
    assert seen, "the engine never asked the other registry; the test proves nothing"
    assert [auth for _path, auth in seen if auth] == [], f"the other registry got credentials: {seen}"
    assert AUTH_PASSWORD not in setup.stdout

    for image in engine.images.list(name=AUTH_IMAGE):
        for tag in image.tags:
            engine.images.remove(tag)
    run = run_playbook(REPO / "playbooks" / "app_exec.yml", inventory,
                       {"exec_cmd": ["cat", "/app/version"], "exec_version": "v1"})
    assert run.rc == 0, run.stdout
    result = run.task("Run the command of role web")["result"]
    assert result["rc"] == 0 and result["image"] == f"{AUTH_IMAGE}:v1"
    assert AUTH_PASSWORD not in run.stdout
    engine.images.remove(f"{AUTH_IMAGE}:v1")
