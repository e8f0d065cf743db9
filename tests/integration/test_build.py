"""deploy.yml -e berth_build=true builds the app image on the controller, tagged with the git commit, and deploys it:
first to a host that cannot reach any registry (the image travels over SSH, only the layers the host lacks), then
through the registry (pushed, then pulled by the host)."""
from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import typing as t
from pathlib import Path

import pytest

from tests.integration.conftest import (APP_IMAGE, REGISTRY, TRAEFIK_IMAGE, on_server, throwaway_server,
                                        write_server_inventory)
from tests.support.ansible_run import REPO, run_playbook

pytestmark = pytest.mark.slow
ADDRESS = "127.0.0.64"
SERVER = "berth-srv-build"
DOCKERFILE = f"""FROM {APP_IMAGE}:v1 AS base
ARG GREETING=none
FROM base AS app
ARG GREETING
COPY release.txt /app/release.txt
RUN echo "built-$GREETING-$(cat /app/release.txt)" > /app/version
"""
# The same, and a build secret that must reach the build (the build fails without it) but no layer.
SECRET_DOCKERFILE = DOCKERFILE + """RUN --mount=type=secret,id=BUILD_TOKEN sh -c \
    'test "$(sha256sum < /run/secrets/BUILD_TOKEN | cut -c1-64)" = "{digest}" && echo token-seen > /app/secret-check'
"""
BUILD_TOKEN = "build-token-never-in-the-image-8842"  # the Dockerfile holds its digest only


def git(context: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(context), "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """An app checkout: a Dockerfile on the test app's image, committed."""
    root = tmp_path_factory.mktemp("app-source")
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "Dockerfile.secret").write_text(SECRET_DOCKERFILE.format(digest=hashlib.sha256(BUILD_TOKEN.encode()).hexdigest()))
    (root / "release.txt").write_text("one\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "one")
    return root


@pytest.fixture(scope="module")
def server(testbed, ssh_key) -> t.Iterator[str]:
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


def inventory(directory: Path, key: Path, context: Path, service: str, registry: bool) -> Path:
    settings: dict[str, t.Any] = {
        "berth_service": service, "berth_image": f"{REGISTRY}/berth-test/{service}",
        "berth_builder": {"context": str(context), "args": {"GREETING": "hello"}, "target": "app",
                          "labels": {"org.opencontainers.image.source": "tests"}},
        "berth_deploy_timeout": 10, "berth_drain_timeout": 5,
    }
    if registry:  # and a build secret: BuildKit through the docker CLI
        settings["berth_builder"].update(dockerfile="Dockerfile.secret", secrets={"BUILD_TOKEN": BUILD_TOKEN})
        settings.update(berth_registry={"server": REGISTRY}, berth_proxy={"image": TRAEFIK_IMAGE},
                        berth_roles={"web": {"proxy": {"host": "built.test", "app_port": 3000}}})
    else:  # no registry: the image travels over SSH (and the test blocks every registry port on the host)
        settings.update(berth_roles={"web": {"cmd": "/app/start", "readiness_delay": 1}})
    return write_server_inventory(directory, {"srv": ADDRESS}, key, settings) / "hosts.yml"


def running(service: str) -> list[dict[str, t.Any]]:
    names = on_server(SERVER, "docker", "ps", "--filter", f"label=berth.service={service}", "--format", "{{.Names}}")
    return [json.loads(on_server(SERVER, "docker", "inspect", name))[0] for name in names.split()]


def test_a_host_without_any_registry_gets_the_build_over_ssh_only_the_layers_it_lacks(server, ssh_key, context,
                                                                                      tmp_path):
    hosts = inventory(tmp_path, ssh_key, context, "shipped", registry=False)
    setup = run_playbook(REPO / "playbooks" / "setup.yml", hosts)
    assert setup.rc == 0, setup.stdout
    blocked = ("5000", "5001", "443")  # no registry reachable from the host (its own network namespace) at all
    for port in blocked:
        on_server(SERVER, "iptables", "-I", "OUTPUT", "-p", "tcp", "--dport", port, "-j", "REJECT")
    try:
        ship_and_rebuild(hosts, context)
    finally:
        for port in blocked:
            on_server(SERVER, "iptables", "-D", "OUTPUT", "-p", "tcp", "--dport", port, "-j", "REJECT")
        git(context, "checkout", "--", "release.txt")


def ship_and_rebuild(hosts: Path, context: Path) -> None:
    denied = subprocess.run(["docker", "exec", SERVER, "docker", "pull", f"{APP_IMAGE}:v1"], capture_output=True,
                            text=True, check=False, timeout=60)
    assert denied.returncode != 0, denied.stdout
    commit = git(context, "rev-parse", "HEAD")
    deploy = run_playbook(REPO / "playbooks" / "deploy.yml", hosts, {"berth_build": True})
    assert deploy.rc == 0, deploy.stdout
    shipped = deploy.task("Ship the image")["result"]
    assert shipped["changed"] and shipped["layers_sent"] >= 1
    first_sent = shipped["layers_sent"]
    [container] = running("shipped")
    assert container["Config"]["Image"] == f"{REGISTRY}/berth-test/shipped:{commit}"
    assert container["Config"]["Labels"]["service"] == "shipped"  # as Kamal labels its images
    assert on_server(SERVER, "docker", "exec", container["Name"].lstrip("/"), "cat", "/app/version").strip() == \
        "built-hello-one"
    releases = [item for item in deploy.results if item["action"] == "berth.deploy.release"]
    assert releases and releases[0]["result"]["pulled"] is False

    (context / "release.txt").write_text("two\n")  # uncommitted: the tag says so
    again = run_playbook(REPO / "playbooks" / "deploy.yml", hosts, {"berth_build": True})
    assert again.rc == 0, again.stdout
    shipped = again.task("Ship the image")["result"]
    assert (shipped["layers_sent"], shipped["layers_kept"]) == (2, first_sent - 2), shipped  # COPY and RUN only
    [container] = running("shipped")
    assert container["Config"]["Image"].startswith(f"{REGISTRY}/berth-test/shipped:{commit}-uncommitted-")


def test_with_a_registry_the_build_is_pushed_then_pulled_by_the_host(server, ssh_key, context, tmp_path):
    hosts = inventory(tmp_path, ssh_key, context, "pushed", registry=True)
    setup = run_playbook(REPO / "playbooks" / "setup.yml", hosts)
    assert setup.rc == 0, setup.stdout
    commit = git(context, "rev-parse", "HEAD")
    deploy = run_playbook(REPO / "playbooks" / "deploy.yml", hosts, {"berth_build": True})
    assert deploy.rc == 0, deploy.stdout
    assert deploy.task("Build")["result"]["pushed"] is True
    releases = [item for item in deploy.results if item["action"] == "berth.deploy.release"]
    assert releases and releases[0]["result"]["pulled"] is True
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/", headers={"Host": "built.test"})
    response = connection.getresponse()
    assert response.status == 200 and response.read().decode().startswith("version=built-hello-one")
    [container] = running("pushed")
    assert container["Config"]["Image"] == f"{REGISTRY}/berth-test/pushed:{commit}"
    name = container["Name"].lstrip("/")
    assert on_server(SERVER, "docker", "exec", name, "cat", "/app/secret-check").strip() == "token-seen"
    image = f"{REGISTRY}/berth-test/pushed:{commit}"
    history = on_server(SERVER, "docker", "history", "--no-trunc", image) + on_server(SERVER, "docker", "inspect", image)
    assert BUILD_TOKEN not in history and BUILD_TOKEN not in deploy.stdout
