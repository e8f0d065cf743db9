"""playbooks/setup.yml and playbooks/deploy.yml over SSH on a fresh server, with the proxy serving."""
from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import (APP_IMAGE, DAEMON_EXTRA, SERVER_ADDRESS, TRAEFIK_IMAGE, on_server, ssh_host,
                                        write_server_inventory)
from tests.support.ansible_run import REPO, ansible_env, run_playbook
from tests.support.load import KeepAliveLoad

pytestmark = pytest.mark.slow
HOST = "shop.test"
SECRET = "shop-secret-key-base-0123456789"
SETUP = REPO / "playbooks" / "setup.yml"
DEPLOY = REPO / "playbooks" / "deploy.yml"


def shop_group_vars() -> dict[str, t.Any]:
    """The service configuration every inventory of this module deploys."""
    return {
        "berth_service": "shop",
        "berth_image": APP_IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {"web": {"proxy": {"host": HOST, "app_port": 3000,
                                          "healthcheck": {"path": "/up", "interval": 0.5, "timeout": 2}},
                                "options": {"memory": "128m"}}},
        "berth_volumes": ["/srv/shop/tmp:/app/tmp/dir"],  # python3-docker 5.0.3 once mangled paths ending in r
        "berth_env": {"clear": {"RAILS_ENV": "production"}, "secret": {"SECRET_KEY_BASE": SECRET}},
        "berth_deploy_timeout": 8,
        "berth_drain_timeout": 10,
        "berth_retain_containers": 3,
        "berth_host_docker_daemon_extra": DAEMON_EXTRA,
    }


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, server, ssh_key):
    return write_server_inventory(tmp_path_factory.mktemp("srv-inventory"), {"srv1": SERVER_ADDRESS}, ssh_key,
                                  shop_group_vars())


# A Terraform state whose one server is srv1 (tests/integration/conftest.py): inventories/terraform/ run for real.
TF_EXAMPLE = REPO / "inventories" / "terraform" / "servers.terraform_state.yml"
TF_HOST = "ci-web-1"
TF_DB_HOST = "db-ci.internal"  # a plain output; group_vars put it into the app's clear env
TF_DB_PASSWORD = "tf-output-db-password-4711"  # a sensitive output, read by the terraform_output lookup
TF_ROOT_PASSWORD = "tf-attribute-root-password-0815"  # an attribute Terraform marks sensitive
TF_VERSION = "v3"
# ansible-inventory and ansible-playbook exit 0 with an empty inventory when the plugin fails to parse.
STRICT_INVENTORY = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "True"}


def terraform_state() -> dict[str, t.Any]:
    """A format 4 state: one hcloud_server for_each instance at SERVER_ADDRESS, a plain and a sensitive output."""
    server = {"index_key": "ci", "schema_version": 0,
              "sensitive_attributes": [[{"type": "get_attr", "value": "root_password"}]],
              "attributes": {"id": "4711", "name": TF_HOST, "server_type": "cx22", "ipv4_address": SERVER_ADDRESS,
                             "labels": {"role": "web", "env": "ci"}, "root_password": TF_ROOT_PASSWORD}}
    return {"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "berth-deploy-integration",
            "outputs": {"db_host": {"value": TF_DB_HOST, "type": "string"},
                        "db_password": {"value": TF_DB_PASSWORD, "type": "string", "sensitive": True}},
            "resources": [{"mode": "managed", "type": "hcloud_server", "name": "web",
                           "provider": 'provider["registry.terraform.io/hetznercloud/hcloud"]', "instances": [server]}]}


@pytest.fixture
def terraform_inventory(tmp_path: Path, ssh_key: Path) -> Path:
    """inventories/terraform/ reading terraform_state(); group_vars say how to connect, the state says where."""
    plugin_config = {**yaml.safe_load(TF_EXAMPLE.read_text()), "sources": [{"path": ".state/ci.tfstate"}]}
    (tmp_path / TF_EXAMPLE.name).write_text(yaml.safe_dump(plugin_config, sort_keys=False))
    (tmp_path / ".state").mkdir()  # hidden: Ansible would read any other file here as an inventory
    (tmp_path / ".state" / "ci.tfstate").write_text(json.dumps(terraform_state(), indent=2))
    connection = {name: value for name, value in ssh_host(SERVER_ADDRESS, ssh_key).items() if name != "ansible_host"}
    group_vars = {**connection, **shop_group_vars()}
    group_vars["berth_env"]["clear"]["DB_HOST"] = "{{ db_host }}"
    group_vars["berth_env"]["secret"]["DB_PASSWORD"] = "{{ lookup('berth.deploy.terraform_output', 'db_password') }}"
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars, sort_keys=False))
    return tmp_path


def ansible_inventory(inventory: Path, *arguments: str) -> str:
    """The stdout and stderr of a successful ansible-inventory run."""
    process = subprocess.run(["ansible-inventory", "-i", str(inventory), *arguments], cwd=REPO,
                             env=ansible_env(STRICT_INVENTORY), capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout + process.stderr


def deploy(inventory, version, **kwargs):
    return run_playbook(DEPLOY, inventory, env={"BERTH_VERSION": version}, **kwargs)


def get_version() -> str:
    connection = http.client.HTTPConnection(SERVER_ADDRESS, 80, timeout=5)
    connection.request("GET", "/", headers={"Host": HOST})
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, (response.status, body)
    return body.split()[0].split("=")[1]


def running_containers(server):
    return on_server(server, "docker", "ps", "--format", "{{.Names}}").split()


def shop_containers(server) -> list[tuple[str, str, str]]:
    """(name, version, state) of every container of the service, newest first."""
    listed = on_server(server, "docker", "ps", "-a", "--filter", "label=berth.service=shop", "--format",
                       '{{.Names}} {{.Label "berth.version"}} {{.State}}')
    return [tuple(line.split()) for line in listed.splitlines()]


def running_versions(server) -> list[str]:
    return [version for _name, version, state in shop_containers(server) if state == "running"]


def container_of(server, version: str) -> str:
    """The newest container of ``version`` (names carry a spec hash: shop-web-v2-3f2a1c9)."""
    names = [name for name, found, _state in shop_containers(server) if found == version]
    assert names, (version, shop_containers(server))
    return names[0]


def release_result(run, version: str) -> dict[str, t.Any]:
    """The result of berth.deploy.release (task "Release on this host VERSION (ROLES)")."""
    return run.task(f"Release on this host {version} (")["result"]


def release_actions(run, version: str) -> list[str]:
    return [action for report in release_result(run, version).get("roles", {}).values() for action in report["actions"]]


def test_setup_check_mode_then_setup_then_no_changes(server, inventory):
    check = run_playbook(SETUP, inventory, check=True)
    assert check.rc == 0, check.stdout
    assert check.changed() > 0
    assert "berth-proxy" not in running_containers(server), "check mode started the proxy"
    first = run_playbook(SETUP, inventory)
    assert first.rc == 0, first.stdout
    assert first.changed() > 0
    assert "berth-proxy" in running_containers(server)
    second = run_playbook(SETUP, inventory)
    assert second.rc == 0 and second.changed() == 0, second.stdout
    check_again = run_playbook(SETUP, inventory, check=True)
    assert check_again.rc == 0 and check_again.changed() == 0, check_again.stdout


def test_proxy_api_is_on_loopback_only(server):
    ports = json.loads(on_server(server, "docker", "inspect", "-f", "{{json .HostConfig.PortBindings}}", "berth-proxy"))
    assert ports["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "8080"}]
    assert ports["80/tcp"][0]["HostIp"] in ("", "0.0.0.0")
    with pytest.raises(OSError):
        http.client.HTTPConnection(SERVER_ADDRESS, 8080, timeout=2).request("GET", "/api/version")


def test_invalid_config_fails_before_touching_the_host(server, inventory):
    bad_roles = {"berth_roles": {"web": {"proxy": {"host": HOST, "app_port": 70000}}}}
    run = run_playbook(DEPLOY, inventory, extra_vars=bad_roles, env={"BERTH_VERSION": "v1"})
    assert run.rc != 0
    assert "berth_roles.web.proxy.app_port: 70000 is not a port (1-65535)" in run.stdout
    assert {item["action"] for item in run.results if item["status"] != "skipped"} == {"berth.deploy.config"}
    assert not [name for name in running_containers(server) if name.startswith("shop-")]


def test_deploy_v1_then_v2(server, inventory):
    first = deploy(inventory, "v1")
    assert first.rc == 0, first.stdout
    assert get_version() == "v1"
    second = deploy(inventory, "v2")
    assert second.rc == 0, second.stdout
    assert get_version() == "v2"
    assert "shop web: v1 -> v2" in second.stdout
    assert running_versions(server) == ["v2"]
    assert container_of(server, "v2").startswith("shop-web-v2-")
    mode = on_server(server, "stat", "-c", "%a %U", "/etc/berth/shop/env/shop-web.env").split()
    assert mode == ["600", "root"]
    mounts = json.loads(on_server(server, "docker", "inspect", "-f", "{{json .Mounts}}", container_of(server, "v2")))
    assert [(mount["Source"], mount["Destination"]) for mount in mounts] == [("/srv/shop/tmp", "/app/tmp/dir")]
    assert SECRET not in first.stdout + second.stdout


def test_redeploying_the_same_version_changes_nothing_and_is_audited(server, inventory):
    audit_lines = len(on_server(server, "cat", "/var/log/berth/shop-deploys.log").splitlines())
    again = deploy(inventory, "v2")
    assert again.rc == 0, again.stdout
    changed = [item["task"] for item in again.results if item["result"].get("changed")]
    assert changed == [], again.stdout
    assert len(on_server(server, "cat", "/var/log/berth/shop-deploys.log").splitlines()) == audit_lines + 1
    assert get_version() == "v2"


def test_five_deploys_under_load_drop_nothing(server, inventory):
    versions = ["v3", "v4", "v5", "v6", "v7"]
    with KeepAliveLoad(SERVER_ADDRESS, 80, HOST, clients=8, max_seconds=600, max_requests=400_000) as load:
        for version in versions:
            run = deploy(inventory, version)
            assert run.rc == 0, run.stdout
    report = load.report
    print(report.summary())
    assert report.failed == 0, report.summary()
    assert report.requests > 1000, report.summary()
    assert {f"version={version}" for version in versions} <= set(report.bodies), report.summary()
    assert get_version() == "v7"
    assert sorted(version for _name, version, _state in shop_containers(server)) == ["v5", "v6", "v7"]


def test_check_mode_deploy_changes_nothing(server, inventory):
    containers_before = on_server(server, "docker", "ps", "-a", "--format", "{{.Names}} {{.Status}}")
    route_before = on_server(server, "cat", "/etc/berth/proxy/dynamic/shop-web.yml")
    run = deploy(inventory, "v1", check=True)
    assert run.rc == 0, run.stdout
    assert release_result(run, "v1")["changed"] is True
    actions = release_actions(run, "v1")
    assert [action for action in actions if action.startswith("switched route shop-web to shop-web-v1-")], actions
    assert [action for action in actions if action.startswith("stopped shop-web-v7-")], actions
    assert on_server(server, "cat", "/etc/berth/proxy/dynamic/shop-web.yml") == route_before
    containers_after = on_server(server, "docker", "ps", "-a", "--format", "{{.Names}} {{.Status}}")
    assert sorted(line.split()[0] for line in containers_after.splitlines()) == \
        sorted(line.split()[0] for line in containers_before.splitlines())
    assert "shop-web-v1-" not in containers_after
    assert get_version() == "v7"


def test_failed_health_check_keeps_the_old_version_serving(server, inventory):
    with KeepAliveLoad(SERVER_ADDRESS, 80, HOST, clients=4, max_seconds=120) as load:
        run = deploy(inventory, "bad")
    assert run.rc != 0
    assert re.search(r"shop-web-bad-[0-9a-f]{7} failed its health check, so traffic stays on shop-web-v7-[0-9a-f]{7}",
                     run.stdout), run.stdout
    assert "503" in run.stdout and "database unreachable" in run.stdout
    assert load.report.failed == 0, load.report.summary()
    assert set(load.report.bodies) == {"version=v7"}
    assert get_version() == "v7"
    state = on_server(server, "docker", "inspect", "-f", "{{.State.Status}}", container_of(server, "bad")).strip()
    assert state == "exited", "the failed container should be stopped and kept for inspection"
    assert release_result(run, "bad")["failed_step"] == "health"
    assert running_versions(server) == ["v7"]


def test_unconfirmed_switch_restores_the_route_and_stops_the_new_container(server, inventory):
    route_before = on_server(server, "cat", "/etc/berth/proxy/dynamic/shop-web.yml")
    unreachable_api = {"berth_proxy": {"image": TRAEFIK_IMAGE, "api_port": 9, "confirm_timeout": 2}}
    run = deploy(inventory, "v6", extra_vars=unreachable_api)
    assert run.rc != 0
    assert re.search(r"shop-web-v6-[0-9a-f]{7} could not be switched in, so traffic stays on shop-web-v7-[0-9a-f]{7}",
                     run.stdout), run.stdout
    assert "previous route configuration was put back" in run.stdout
    assert on_server(server, "cat", "/etc/berth/proxy/dynamic/shop-web.yml") == route_before
    assert get_version() == "v7"
    states = {state for _name, version, state in shop_containers(server) if version == "v6"}
    assert states == {"exited"}, shop_containers(server)


def test_second_concurrent_deploy_fails_fast_naming_the_holder(server, inventory):
    import threading
    import time

    slow = {"berth_env": {"clear": {"RAILS_ENV": "production", "BOOT_DELAY": "4"},
                          "secret": {"SECRET_KEY_BASE": SECRET}},
            "berth_message": "slow release"}
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(run=deploy(inventory, "v5", extra_vars=slow)))
    thread.start()
    lock_dir = "/etc/berth/locks/shop-deploy.lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(["docker", "exec", server, "test", "-d", lock_dir], check=False)
        if probe.returncode == 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the first deploy never took the lock")
    started = time.monotonic()
    second = deploy(inventory, "v6")
    assert second.rc != 0
    assert "The deploy lock shop-deploy is held by" in second.stdout
    assert "deploying v5 (slow release)" in second.stdout
    assert time.monotonic() - started < 20
    assert not [item for item in second.results if item["action"] == "berth.deploy.release"]
    thread.join(180)
    assert first["run"].rc == 0, first["run"].stdout
    assert subprocess.run(["docker", "exec", server, "test", "-e", lock_dir], check=False).returncode == 1
    shown = run_playbook(REPO / "playbooks" / "lock.yml", inventory)
    assert "The deploy lock shop-deploy is free" in shown.stdout
    audit = on_server(server, "cat", "/var/log/berth/shop-deploys.log")
    assert "version=v5 result=ok web=v7->v5" in " ".join(audit.split())
    assert "message='slow release'" in audit
    assert SECRET not in audit


def test_terraform_state_inventory_drives_deploy(server, terraform_inventory):
    graph = ansible_inventory(terraform_inventory, "--graph")
    for group in ("web", "env_ci"):
        assert f"|--@{group}:\n  |  |--{TF_HOST}\n" in graph, graph
    listed = ansible_inventory(terraform_inventory, "--list")
    assert TF_DB_HOST in listed
    assert TF_DB_PASSWORD not in listed and TF_ROOT_PASSWORD not in listed
    before = get_version()
    assert before != TF_VERSION, "pick a version the server does not serve yet"
    run = run_playbook(DEPLOY, terraform_inventory, env={"BERTH_VERSION": TF_VERSION, **STRICT_INVENTORY})
    assert run.rc == 0, run.stdout
    assert list(run.recap) == [TF_HOST]
    assert f"shop web: {before} -> {TF_VERSION}" in run.stdout
    assert get_version() == TF_VERSION
    env = json.loads(on_server(server, "docker", "inspect", "-f", "{{json .Config.Env}}", container_of(server, TF_VERSION)))
    assert f"DB_HOST={TF_DB_HOST}" in env and f"DB_PASSWORD={TF_DB_PASSWORD}" in env
    assert TF_DB_PASSWORD not in run.stdout and TF_ROOT_PASSWORD not in run.stdout


def test_a_changed_proxy_setting_replaces_the_proxy_even_after_an_interrupted_replacement(server, inventory):
    serving = get_version()
    # a run that died mid-replacement left the old proxy renamed aside, still holding the host's ports
    on_server(server, "docker", "rename", "berth-proxy", "berth-proxy-replaced-0123abcd")
    run = run_playbook(SETUP, inventory, extra_vars={"berth_proxy": {"image": TRAEFIK_IMAGE, "log_level": "INFO"}})
    assert run.rc == 0, run.stdout
    assert "--log.level=INFO" in on_server(server, "docker", "inspect", "-f", "{{json .Args}}", "berth-proxy")
    names = on_server(server, "docker", "ps", "-a", "--format", "{{.Names}}").split()
    assert "berth-proxy" in names and not [name for name in names if "-replaced-" in name], names
    assert get_version() == serving  # the route survived: the app is served through the new proxy
    run = run_playbook(SETUP, inventory)  # and back to the inventory's settings
    assert run.rc == 0, run.stdout
    assert "--log.level=ERROR" in on_server(server, "docker", "inspect", "-f", "{{json .Args}}", "berth-proxy")
    assert get_version() == serving


def test_a_proxy_change_that_cannot_start_puts_the_old_proxy_back(server, inventory):
    """Issue 12, item 13: the new proxy cannot publish its port (sshd has 22), the old one serves again."""
    serving = get_version()
    args_before = on_server(server, "docker", "inspect", "-f", "{{json .Args}}", "berth-proxy")
    run = run_playbook(SETUP, inventory, extra_vars={"berth_proxy": {"image": TRAEFIK_IMAGE, "https_port": 22}})
    assert run.rc != 0
    assert get_version() == serving
    message = run.task("Report why the new proxy was not kept")["result"]["msg"]
    assert "did not start or answer, so the previous proxy was put back and serves" in message, message
    assert "address already in use" in message or "port is already allocated" in message, message
    assert on_server(server, "docker", "inspect", "-f", "{{json .Args}}", "berth-proxy") == args_before
    names = on_server(server, "docker", "ps", "-a", "--format", "{{.Names}}").split()
    assert "berth-proxy" in names and not [name for name in names if "-replaced-" in name], names
    run = run_playbook(SETUP, inventory)
    assert run.rc == 0 and run.changed() == 0, run.stdout


def test_app_containers_on_the_server_cannot_read_the_proxy_api(server):
    """Issue 12, item 5: a container on the deploy network gets 403 from the API; the host gets it (deploys confirm)."""
    request = "printf 'GET /api/http/routers HTTP/1.0\\r\\n\\r\\n' | nc -w 3 berth-proxy 8080 | head -n 1"
    status = on_server(server, "docker", "run", "--rm", "--network", "berth", "--entrypoint", "sh",
                       f"{APP_IMAGE}:{get_version()}", "-c", request).strip()
    assert status.startswith("HTTP/1.") and " 403 " in status, status
    assert '"shop-web@file"' in on_server(server, "curl", "-fsS", "http://127.0.0.1:8080/api/http/routers")


def with_env(**clear: str) -> dict[str, t.Any]:
    return {"berth_env": {"clear": {"RAILS_ENV": "production", **clear}, "secret": {"SECRET_KEY_BASE": SECRET}}}


def container_env(server, name: str) -> list[str]:
    return json.loads(on_server(server, "docker", "inspect", "-f", "{{json .Config.Env}}", name))


def test_redeploying_the_serving_version_with_a_changed_env_drops_nothing(server, inventory):
    serving = get_version()
    with KeepAliveLoad(SERVER_ADDRESS, 80, HOST, clients=8, max_seconds=300, max_requests=300_000) as load:
        for number in range(3):
            run = deploy(inventory, serving, extra_vars=with_env(RELEASE_NOTE=f"note-{number}"))
            assert run.rc == 0, run.stdout
            assert f"shop web: {serving} -> {serving} in" in run.stdout, run.stdout
    print(load.report.summary())
    assert load.report.failed == 0, load.report.summary()
    assert load.report.requests > 500, load.report.summary()
    assert running_versions(server) == [serving]
    assert "RELEASE_NOTE=note-2" in container_env(server, container_of(server, serving))
    assert get_version() == serving


def test_a_same_version_redeploy_that_fails_its_health_check_leaves_the_previous_container_serving(server, inventory):
    serving = get_version()
    before = container_of(server, serving)
    with KeepAliveLoad(SERVER_ADDRESS, 80, HOST, clients=4, max_seconds=120) as load:
        run = deploy(inventory, serving, extra_vars=with_env(RELEASE_NOTE="note-2", PORT="3999"))
    assert run.rc != 0
    assert re.search(rf"shop-web-{serving}-[0-9a-f]{{7}} failed its health check, so traffic stays on {before}\.",
                     run.stdout), run.stdout
    assert load.report.failed == 0, load.report.summary()
    running = [name for name, _version, state in shop_containers(server) if state == "running"]
    assert running == [before], shop_containers(server)
    assert get_version() == serving


def lock_dir_exists(server) -> bool:
    return subprocess.run(["docker", "exec", server, "test", "-d", "/etc/berth/locks/shop-deploy.lock"],
                          check=False).returncode == 0


def test_an_interrupted_deploy_does_not_wedge_the_next_one(server, inventory):
    import signal
    import time

    slow = with_env(BOOT_DELAY="5")
    command = ["ansible-playbook", "-i", str(inventory), str(DEPLOY), "-e", json.dumps(slow)]
    interrupted = subprocess.Popen(command, cwd=REPO, env=ansible_env({"BERTH_VERSION": "v4"}), text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "v4" not in [version for _n, version, _s in shop_containers(server)]:
        time.sleep(0.2)  # the new container boots: the deploy is in the middle of its release
    assert "v4" in [version for _n, version, _s in shop_containers(server)], "the deploy never booted v4"
    os.killpg(interrupted.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    output = interrupted.communicate(timeout=120)[0]
    assert interrupted.returncode != 0, output
    assert lock_dir_exists(server), "the interrupted run should have left its lock behind"
    again = deploy(inventory, "v4")
    assert again.rc == 0, again.stdout
    assert "Took over the deploy lock shop-deploy from" in again.stdout, again.stdout
    assert "its run is gone" in again.stdout
    assert running_versions(server) == ["v4"], shop_containers(server)
    assert get_version() == "v4"
    assert not lock_dir_exists(server)


def write_holder(server, holder: str) -> None:
    on_server(server, "sh", "-c", "mkdir -p -m 700 /etc/berth/locks/shop-deploy.lock && "
                                  f"printf '%s' '{holder}' > /etc/berth/locks/shop-deploy.lock/holder.json")


def test_a_lock_past_its_lease_is_taken_over_and_a_live_one_refuses(server, inventory):
    import time

    live = {"performer": "carol@ci", "since": "2026-12-01T10:00:00Z", "since_epoch": time.time(), "lease": 900,
            "version": "v9", "reason": "", "controller": "ci-runner", "controller_id": "elsewhere", "pid": 4242,
            "token": "t"}
    write_holder(server, json.dumps(live))
    refused = deploy(inventory, "v5")
    assert refused.rc != 0
    assert "The deploy lock shop-deploy is held by carol@ci since 2026-12-01T10:00:00Z, deploying v9 " \
           "[process 4242 on ci-runner, lease 900s]" in refused.stdout, refused.stdout
    write_holder(server, json.dumps({**live, "since_epoch": time.time() - 1000}))
    taken = deploy(inventory, "v5")
    assert taken.rc == 0, taken.stdout
    assert "Took over the deploy lock shop-deploy from carol@ci" in taken.stdout and "its lease ran out" in taken.stdout
    assert not lock_dir_exists(server)


def test_a_lock_taken_by_hand_holds_until_released(server, inventory):
    held = run_playbook(REPO / "playbooks" / "lock.yml", inventory,
                        extra_vars={"lock_action": "acquire", "berth_message": "restoring the database"})
    assert held.rc == 0, held.stdout
    refused = deploy(inventory, "v5")  # from the same controller, after the holding run ended: still held
    assert refused.rc != 0
    assert "restoring the database [held until released: playbooks/lock.yml -e lock_action=release]" in refused.stdout
    released = run_playbook(REPO / "playbooks" / "lock.yml", inventory, extra_vars={"lock_action": "release"})
    assert released.rc == 0, released.stdout
    assert not lock_dir_exists(server)


def test_a_corrupt_lock_holder_gets_a_clear_error_and_a_safe_release(server, inventory):
    write_holder(server, "{not json")
    refused = deploy(inventory, "v6")
    assert refused.rc != 0
    assert "holder.json is not a lock holder written by berth.deploy" in refused.stdout, refused.stdout
    assert "playbooks/lock.yml -e lock_action=release" in refused.stdout
    shown = run_playbook(REPO / "playbooks" / "lock.yml", inventory)
    assert shown.rc == 0, shown.stdout
    released = run_playbook(REPO / "playbooks" / "lock.yml", inventory, extra_vars={"lock_action": "release"})
    assert released.rc == 0, released.stdout
    assert not lock_dir_exists(server)
    assert deploy(inventory, "v6").rc == 0
    assert get_version() == "v6"
