"""Role berth.deploy.host over SSH on a bare server (Debian 12 without Docker): check mode, first run, second run."""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import (APP_IMAGE, DAEMON_EXTRA, REGISTRY, TESTBED, on_server, run_script,
                                        write_server_inventory)
from tests.support.ansible_run import REPO, run_playbook

pytestmark = pytest.mark.slow
NAME = "berth-host1"
ADDRESS = "127.0.0.41"
BARE_IMAGE = "berth-test/server-bare:bookworm"
DEPLOY_USER = "deployer"
PLAY = [{"name": "Bootstrap the host", "hosts": "all", "gather_facts": False, "roles": ["berth.deploy.host"]}]
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def bare_server(testbed: None, ssh_key: Path):
    """A fresh server without Docker on 127.0.0.41 (build_images.sh builds berth-test/server-bare)."""
    server = str(TESTBED / "server.sh")
    run_script(server, "down", NAME)
    run_script(server, "up", NAME, ADDRESS, BARE_IMAGE)
    run_script(server, "authorize", NAME, f"{ssh_key}.pub")
    yield NAME
    run_script(server, "down", NAME)


@pytest.fixture(scope="module")
def server_ip(bare_server: str) -> str:
    """The server's address on the outer engine's bridge: reached from here, it is not a published port."""
    return subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", bare_server],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def bridge_cidr(engine) -> str:
    """SSH to the server arrives from the outer engine's bridge (docker-proxy of the published port 22)."""
    return engine.networks.get("bridge").attrs["IPAM"]["Config"][0]["Subnet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, bare_server, ssh_key, bridge_cidr):
    """Check mode on the fresh server, then the real run, then a second one."""
    group_vars = {
        "berth_service": "shop",
        "berth_image": APP_IMAGE,
        "berth_roles": {"web": {"proxy": {"host": "shop.test", "app_port": 3000}}},
        "berth_host_docker_daemon_extra": DAEMON_EXTRA,
        "berth_host_deploy_user": DEPLOY_USER,
        "berth_host_deploy_user_keys": [Path(f"{ssh_key}.pub").read_text().strip()],
        "berth_host_firewall": "nftables",
        "berth_ssh_allow": [bridge_cidr, "2001:db8::/32"],
        "berth_host_prune_until": "1s",
    }
    directory = write_server_inventory(tmp_path_factory.mktemp("host-inventory"), {"host1": ADDRESS}, ssh_key,
                                       group_vars)
    playbook = directory / "host.yml"
    playbook.write_text(yaml.safe_dump(PLAY, sort_keys=False))
    result = {"before": server_state(bare_server)}
    for step, check in (("check", True), ("first", False), ("second", False)):
        started = time.monotonic()
        result[step] = run_playbook(playbook, directory, check=check, timeout=900)
        TIMINGS[step] = round(time.monotonic() - started, 1)
        if step == "check":
            result["after_check"] = server_state(bare_server)
    print(f"berth.deploy.host on a bare server: {TIMINGS}")
    return result


def server_state(server: str) -> str:
    """What the role could change: packages, files, users, firewall, units."""
    return on_server(server, "sh", "-c", "dpkg-query -W | md5sum; ls -A /etc/docker /etc/nftables.d 2>&1; "
                     "ls /etc/systemd/system; getent passwd " + DEPLOY_USER + "; getent group docker; "
                     "command -v nft && nft list ruleset | md5sum; true")


def test_check_mode_on_a_fresh_server_changes_nothing(runs):
    check = runs["check"]
    assert check.rc == 0, check.stdout
    assert check.changed() > 0
    assert "would install: docker.io, python3-docker, nftables" in check.stdout
    assert runs["after_check"] == runs["before"]


def test_first_run_installs_and_configures_docker(runs, bare_server):
    first = runs["first"]
    assert first.rc == 0, first.stdout
    assert first.changed() > 0
    assert on_server(bare_server, "systemctl", "is-active", "docker.service").strip() == "active"
    assert on_server(bare_server, "systemctl", "is-enabled", "docker.service").strip() == "enabled"
    daemon = json.loads(on_server(bare_server, "cat", "/etc/docker/daemon.json"))
    assert daemon == {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"},
                      "live-restore": True, **DAEMON_EXTRA}
    info = json.loads(on_server(bare_server, "docker", "info", "--format", "{{json .}}"))
    assert info["LiveRestoreEnabled"] is True and info["LoggingDriver"] == "json-file"
    assert REGISTRY in info["RegistryConfig"]["IndexConfigs"]
    assert on_server(bare_server, "python3", "-c", "import docker; print(docker.__version__)").strip() == "5.0.3"
    networks = on_server(bare_server, "docker", "network", "ls", "--format", "{{.Name}}").split()
    assert "berth" in networks
    subnet = on_server(bare_server, "docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "berth")
    assert subnet.startswith("10.212."), subnet


def test_second_run_changes_nothing(runs):
    second = runs["second"]
    assert second.rc == 0, second.stdout
    assert second.changed() == 0, second.stdout


def test_deploy_user_logs_in_and_uses_docker(runs, bare_server, ssh_key):
    assert runs["first"].rc == 0
    assert "docker" in on_server(bare_server, "id", "-nG", DEPLOY_USER).split()
    login = subprocess.run(["ssh", "-i", str(ssh_key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", f"{DEPLOY_USER}@{ADDRESS}",
                            "docker", "network", "ls", "--format", "{{.Name}}"],
                           capture_output=True, text=True, timeout=30, check=False)
    assert login.returncode == 0, login.stderr
    assert "berth" in login.stdout.split()


def connects(address: str, port: int, timeout: float = 2.0) -> str:
    """'open', 'refused' or 'dropped' (no answer at all: a firewall drop)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "dropped"


def http_get(address: str) -> str:
    connection = http.client.HTTPConnection(address, 80, timeout=5)
    connection.request("GET", "/")
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, (response.status, body)
    return body


@pytest.fixture(scope="module")
def published_app(runs, bare_server):
    """An app on the server's engine, pulled from the test registry, published on 80 and on 8081."""
    assert runs["first"].rc == 0
    on_server(bare_server, "docker", "run", "-d", "--name", "published", "-p", "80:3000", "-p", "8081:3000",
              f"{APP_IMAGE}:v1")
    # and a service of the host itself on a port the firewall does not open
    on_server(bare_server, "sh", "-c", "setsid python3 -m http.server 8000 >/dev/null 2>&1 </dev/null &")
    return "published"


def test_nftables_drops_everything_but_ssh_and_web(runs, bare_server, server_ip, published_app):
    assert "table inet berth" in on_server(bare_server, "nft", "list", "tables")
    assert on_server(bare_server, "systemctl", "is-enabled", "berth-firewall.service").strip() == "enabled"
    # SSH from the controller keeps working: every playbook run above went over it, and so does this.
    assert connects(ADDRESS, 22) == "open"
    assert connects(server_ip, 22) == "open"
    # The host's own port 8000 (listening) is dropped; a Docker-published 8081 too, 80 is open.
    assert on_server(bare_server, "sh", "-c", "ss -ltn | grep -c ':8000 '").strip() == "1"
    assert connects(server_ip, 8000) == "dropped"
    assert connects(server_ip, 8081) == "dropped"
    assert http_get(server_ip).startswith("version=v1")
    # from the server itself (loopback), the published port still answers
    assert "version=v1" in on_server(bare_server, "curl", "-fsS", "http://127.0.0.1:8081/")


def test_live_restore_keeps_containers_through_a_docker_restart(bare_server, published_app):
    def pid() -> str:
        return on_server(bare_server, "docker", "inspect", "-f", "{{.State.Pid}} {{.State.StartedAt}}", published_app)

    before = pid()
    on_server(bare_server, "systemctl", "restart", "docker.service")
    assert pid() == before
    assert http_get(ADDRESS).startswith("version=v1")


def test_prune_timer_keeps_rollback_containers(runs, bare_server):
    assert runs["first"].rc == 0
    assert on_server(bare_server, "systemctl", "is-active", "berth-prune.timer").strip() == "active"
    assert "OnCalendar=daily" in on_server(bare_server, "cat", "/etc/systemd/system/berth-prune.timer")
    image = f"{APP_IMAGE}:v1"
    on_server(bare_server, "docker", "create", "--name", "shop-web-v0", "--label", "berth.service=shop",
              "--label", "berth.destination=", image)
    on_server(bare_server, "docker", "create", "--name", "shop-db", "--label", "berth.accessory=db",
              "--label", "berth.destination=", image)
    on_server(bare_server, "docker", "create", "--name", "leftover", image)
    time.sleep(2.5)  # older than berth_host_prune_until (1s), which Docker may round down to whole seconds
    on_server(bare_server, "systemctl", "start", "berth-prune.service")
    names = on_server(bare_server, "docker", "ps", "-a", "--format", "{{.Names}}").split()
    assert "shop-web-v0" in names and "shop-db" in names and "leftover" not in names


def test_every_host_variable_is_documented_with_the_default_config_applies():
    """The role has no defaults file of its own: _config.DEFAULTS is the one place, its argument spec documents it."""
    from ansible_collections.berth.deploy.plugins.module_utils._config import DEFAULTS

    assert not (REPO / "roles" / "host" / "defaults" / "main.yml").exists()
    specs = yaml.safe_load((REPO / "roles" / "host" / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    for name in [name for name in DEFAULTS if name.startswith("berth_host_") or name == "berth_ssh_allow"]:
        if name == "berth_host_bootstrap":
            continue  # read by setup.yml, not by the role
        assert options[name]["default"] == DEFAULTS[name], name


def test_host_settings_are_checked():
    """_config._host (not wired into build_plan yet) accepts the defaults and names every bad value."""
    from ansible_collections.berth.deploy.plugins.module_utils import _checks, _config

    check = _checks.Checker()
    assert _config._host(check, _config.DEFAULTS)["firewall"] == "none" and not check.problems
    bad = {**_config.DEFAULTS, "berth_ssh_allow": ["10.0.0.0/8", "nope"], "berth_host_firewall": "iptables",
           "berth_host_firewall_allow_ports": [8443, "51820/udp", "70000"], "berth_host_log_max_file": 0}
    _config._host(check, bad)
    assert check.problems == [
        "berth_ssh_allow[1]: 'nope' is not an address or CIDR (e.g. 203.0.113.0/24)",
        "berth_host_firewall_allow_ports[2]: '70000' is not PORT, PORT/tcp or PORT/udp",
        "berth_host_log_max_file: 0 is not a number of log files (1-100)",
        "berth_host_firewall: 'iptables' is not one of none, nftables, ufw",
    ]


# A server that already runs Docker with a daemon.json of its own (issue 12, item 10).
DOCKER_SERVER = "berth-daemon1"
DOCKER_SERVER_ADDRESS = "127.0.0.43"
# The server image's daemon.json has insecure-registries (our registry) and more; this key is the server's own too.
SERVER_ONLY_KEY = {"max-concurrent-uploads": 3}


@pytest.fixture(scope="module")
def docker_server(testbed: None, ssh_key: Path):
    from tests.integration.conftest import throwaway_server

    yield from throwaway_server(DOCKER_SERVER, DOCKER_SERVER_ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def docker_server_playbook(tmp_path_factory, docker_server, ssh_key) -> Path:
    """The host role where berth manages everything but the server's insecure-registries and own key."""
    daemon = json.loads(on_server(docker_server, "cat", "/etc/docker/daemon.json"))
    on_server(docker_server, "sh", "-c", f"echo '{json.dumps({**daemon, **SERVER_ONLY_KEY})}' >/etc/docker/daemon.json")
    group_vars = {
        "berth_service": "shop",
        "berth_image": APP_IMAGE,
        "berth_roles": {"web": {"proxy": {"host": "shop.test", "app_port": 3000}}},
        "berth_host_docker_daemon_extra": {key: value for key, value in DAEMON_EXTRA.items()
                                           if key != "insecure-registries"},
    }
    directory = write_server_inventory(tmp_path_factory.mktemp("daemon-inventory"), {"daemon1": DOCKER_SERVER_ADDRESS},
                                       ssh_key, group_vars)
    playbook = directory / "host.yml"
    playbook.write_text(yaml.safe_dump(PLAY, sort_keys=False))
    return playbook


def test_daemon_json_keeps_the_servers_own_keys_shows_the_diff_and_stays_idempotent(
        docker_server, docker_server_playbook):
    directory = docker_server_playbook.parent
    first = run_playbook(docker_server_playbook, directory, env={"ANSIBLE_DIFF_ALWAYS": "1"})
    assert first.rc == 0, first.stdout
    daemon = json.loads(on_server(docker_server, "cat", "/etc/docker/daemon.json"))
    assert daemon["insecure-registries"] == [REGISTRY] and daemon["max-concurrent-uploads"] == 3, daemon
    assert daemon["live-restore"] is True and daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}
    diff = first.task("Write /etc/docker/daemon.json")["result"]["diff"]
    assert '"live-restore": true' in diff["after"] and '"live-restore"' not in diff["before"]
    assert '"max-concurrent-uploads": 3' in diff["before"] and '"max-concurrent-uploads": 3' in diff["after"]
    # Docker was restarted with the merged file and still trusts the server's registry
    info = json.loads(on_server(docker_server, "docker", "info", "--format", "{{json .}}"))
    assert info["LiveRestoreEnabled"] is True
    assert REGISTRY in info["RegistryConfig"]["IndexConfigs"]
    on_server(docker_server, "docker", "pull", "-q", f"{APP_IMAGE}:v1")
    second = run_playbook(docker_server_playbook, directory)
    assert second.rc == 0 and second.changed() == 0, second.stdout


def test_a_data_root_move_off_containers_is_refused_and_the_file_kept(docker_server, docker_server_playbook):
    # loaded, not pulled: whether the server trusts the registry is the other test's business
    subprocess.run(f"docker save {APP_IMAGE}:v1 | docker exec -i {docker_server} docker load -q", shell=True,
                   check=True, capture_output=True)
    on_server(docker_server, "docker", "create", "--name", "keeps-data", f"{APP_IMAGE}:v1")
    before = on_server(docker_server, "cat", "/etc/docker/daemon.json")
    extra = {**{key: value for key, value in DAEMON_EXTRA.items() if key != "insecure-registries"},
             "data-root": "/srv/docker"}
    run = run_playbook(docker_server_playbook, docker_server_playbook.parent,
                       extra_vars={"berth_host_docker_daemon_extra": extra})
    assert run.rc != 0
    message = run.task("Write /etc/docker/daemon.json")["result"]["msg"]
    assert "refusing to change Docker's data-root from '/var/lib/docker' to '/srv/docker'" in message, message
    assert on_server(docker_server, "cat", "/etc/docker/daemon.json") == before
    assert "keeps-data" in on_server(docker_server, "docker", "ps", "-a", "--format", "{{.Names}}").split()
