"""Integration fixtures: a real Docker engine, a real registry, real Traefik, real SSH servers.

`.ci/run` starts the engine and registry and builds the images first (tests/testbed/); the
fixtures here re-run those idempotent scripts so a developer can also run pytest directly.
"""
from __future__ import annotations

import subprocess
import typing as t
import uuid
from pathlib import Path

import docker
import pytest
import yaml

from tests.support.ansible_run import REPO

TESTBED = REPO / "tests" / "testbed"
REGISTRY = "172.17.0.1:5000"
APP_IMAGE = f"{REGISTRY}/berth-test/app"
TRAEFIK_IMAGE = f"{REGISTRY}/berth-test/traefik:3.7.15"
# Built from Debian packages with the official images' contracts (tests/testbed/postgres, redis, rails).
POSTGRES_IMAGE = f"{REGISTRY}/berth-test/postgres"
REDIS_IMAGE = f"{REGISTRY}/berth-test/redis:7"
RAILS_IMAGE = f"{REGISTRY}/berth-test/rails"


def run_script(*args: str, timeout: float = 1800) -> str:
    process = subprocess.run(["bash", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({process.returncode}):\n{process.stdout}\n{process.stderr}")
    return process.stdout


@pytest.fixture(scope="session")
def testbed() -> None:
    run_script(str(TESTBED / "engine.sh"))
    run_script(str(TESTBED / "build_images.sh"))


@pytest.fixture(scope="session")
def engine(testbed: None) -> t.Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def local_inventory(tmp_path_factory: pytest.TempPathFactory, testbed: None) -> Path:
    """An inventory whose one host is this machine (connection local), in group web."""
    directory = tmp_path_factory.mktemp("local-inventory")
    inventory = {"all": {"children": {"web": {"hosts": {"local1": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory))
    return directory / "hosts.yml"


@pytest.fixture
def unique() -> str:
    """A short unique token, so tests never share containers, networks or routes."""
    return "t" + uuid.uuid4().hex[:8]


@pytest.fixture
def cleanup(engine: docker.DockerClient) -> t.Iterator[list[str]]:
    """Names of containers/networks to remove after the test (whatever its outcome)."""
    names: list[str] = []
    yield names
    for name in names:
        for container in engine.containers.list(all=True, filters={"name": name}):
            container.remove(force=True)
        for network in engine.networks.list(names=[name]):
            if network.name == name:
                network.remove()


SERVER_ADDRESS = "127.0.0.11"
# For berth.deploy.host (run by setup.yml) on test servers: the inner engine must not take the outer
# engine's 172.17.0.0/16 and must trust the test registry (the server image ships the same daemon.json).
DAEMON_EXTRA = {"insecure-registries": [REGISTRY], "bip": "10.211.0.1/24",
                "default-address-pools": [{"base": "10.212.0.0/16", "size": 24}]}


def ssh_host(address: str, key: Path) -> dict[str, str]:
    """Inventory variables of a test server reached over SSH as root on its loopback address."""
    return {"ansible_host": address, "ansible_user": "root", "ansible_ssh_private_key_file": str(key),
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}


def throwaway_server(name: str, address: str, key: Path) -> t.Iterator[str]:
    """A fresh server (systemd + sshd + its own dockerd) on ``address`` for one test module; removed after."""
    run_script(str(TESTBED / "server.sh"), "down", name)
    run_script(str(TESTBED / "server.sh"), "up", name, address)
    run_script(str(TESTBED / "server.sh"), "authorize", name, f"{key}.pub")
    yield name
    run_script(str(TESTBED / "server.sh"), "down", name)


def write_server_inventory(directory: Path, servers: dict[str, str], key: Path, group_vars: dict[str, t.Any]) -> Path:
    """An inventory of test servers (name -> loopback address) in group web, reached over SSH."""
    hosts = {name: ssh_host(address, key) for name, address in servers.items()}
    (directory / "group_vars").mkdir(parents=True, exist_ok=True)
    (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"web": {"hosts": hosts}}}}))
    (directory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars, sort_keys=False))
    return directory


@pytest.fixture(scope="session")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.fixture(scope="module")
def server(testbed: None, ssh_key: Path) -> t.Iterator[str]:
    """A fresh throwaway server (systemd + sshd + its own dockerd) on 127.0.0.11."""
    yield from throwaway_server("berth-srv1", SERVER_ADDRESS, ssh_key)


def on_server(server: str, *command: str) -> str:
    """Run a command inside a test server (for assertions only; deploys go through Ansible over SSH)."""
    return subprocess.run(["docker", "exec", server, *command], capture_output=True, text=True, check=True).stdout


LOCAL_PROXY = {"http_port": 18080, "api_port": 18081, "network": "berth-local"}


@pytest.fixture(scope="session")
def local_proxy(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory, local_inventory: Path
                ) -> t.Iterator[dict[str, t.Any]]:
    """The berth proxy on this machine's engine, published on 127.0.0.1 only, set up by playbooks/setup.yml."""
    from tests.support.ansible_run import run_playbook

    config_dir = tmp_path_factory.mktemp("local-proxy")
    inventory_dir = local_inventory.parent
    group_vars = {
        "berth_service": "local", "berth_image": APP_IMAGE, "berth_network": LOCAL_PROXY["network"],
        "berth_host_bootstrap": False,  # this machine is the CI runner, not a server to bootstrap
        "berth_proxy": {"image": TRAEFIK_IMAGE, "container_name": "berth-local-proxy", "publish_address": "127.0.0.1",
                        "http_port": LOCAL_PROXY["http_port"], "https_port": 18443,
                        "api_port": LOCAL_PROXY["api_port"], "config_dir": str(config_dir)},
        "berth_roles": {"web": {"proxy": {"host": "local.test", "app_port": 3000}}},
    }
    (inventory_dir / "group_vars").mkdir(exist_ok=True)
    (inventory_dir / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
    run = run_playbook(REPO / "playbooks" / "setup.yml", local_inventory)
    assert run.rc == 0, run.stdout
    yield {**LOCAL_PROXY, "config_dir": str(config_dir), "api_url": f"http://127.0.0.1:{LOCAL_PROXY['api_port']}"}
    engine.containers.get("berth-local-proxy").remove(force=True)
    (inventory_dir / "group_vars" / "all.yml").unlink()


# The registry that requires a login (tests/testbed/engine.sh): build_images.sh pushes app v1 and v2
# there and leaves no copy in the engine and no stored credential, so a pull needs these.
AUTH_REGISTRY = "127.0.0.1:5001"
AUTH_IMAGE = f"{AUTH_REGISTRY}/berth-test/private"
AUTH_USER = "berth"
AUTH_PASSWORD = "berth-registry-secret"
