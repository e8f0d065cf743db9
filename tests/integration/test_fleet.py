"""A fleet of three servers with Docker already on them: rolling deploy, status, rollback, a release failing on one host.

The same flow under load, starting from bare servers, is the Molecule scenario molecule/fleet."""
from __future__ import annotations

import http.client

import pytest
import yaml

from tests.integration.conftest import APP_IMAGE, TESTBED, TRAEFIK_IMAGE, on_server, run_script
from tests.support.names import without_boot_hash, without_boot_hashes
from tests.support.ansible_run import REPO, run_playbook

pytestmark = pytest.mark.slow
SERVERS = {"fleet1": "127.0.0.12", "fleet2": "127.0.0.13", "fleet3": "127.0.0.14"}
HOST = "fleet.test"
PLAYBOOKS = REPO / "playbooks"


@pytest.fixture(scope="module")
def fleet(testbed, ssh_key):
    for name, address in SERVERS.items():
        run_script(str(TESTBED / "server.sh"), "down", f"berth-{name}")
        run_script(str(TESTBED / "server.sh"), "up", f"berth-{name}", address)
        run_script(str(TESTBED / "server.sh"), "authorize", f"berth-{name}", f"{ssh_key}.pub")
    yield {name: f"berth-{name}" for name in SERVERS}
    for name in SERVERS:
        run_script(str(TESTBED / "server.sh"), "down", f"berth-{name}")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, fleet, ssh_key):
    directory = tmp_path_factory.mktemp("fleet-inventory")
    connection = {"ansible_user": "root", "ansible_ssh_private_key_file": str(ssh_key),
                  "ansible_python_interpreter": "/usr/bin/python3",
                  "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
    hosts = {name: {"ansible_host": address, **connection} for name, address in SERVERS.items()}
    (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": {
        "web": {"hosts": {name: None for name in SERVERS}},
        "job": {"hosts": {"fleet3": None}}}}}))
    (directory / "group_vars").mkdir()
    (directory / "host_vars").mkdir()
    (directory / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "berth_service": "fleet", "berth_image": APP_IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {
            "web": {"proxy": {"host": HOST, "app_port": 3000, "healthcheck": {"interval": 0.5, "timeout": 2}}},
            "job": {"readiness_delay": 1, "stop_timeout": 5}},
        "berth_boot": {"limit": 1},
        "berth_deploy_timeout": 10, "berth_drain_timeout": 10, "berth_retain_containers": 3,
        "berth_host_bootstrap": False,
    }, sort_keys=False))
    return directory


def version_on(address: str) -> str:
    connection = http.client.HTTPConnection(address, 80, timeout=5)
    connection.request("GET", "/", headers={"Host": HOST})
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, (address, response.status, body)
    return body.split()[0].split("=")[1]


def versions() -> dict[str, str]:
    return {name: version_on(address) for name, address in SERVERS.items()}


def playbook(name, inventory, version, **kwargs):
    return run_playbook(PLAYBOOKS / name, inventory, env={"BERTH_VERSION": version}, **kwargs)


def test_setup_then_deploy_v1_everywhere(inventory):
    setup = run_playbook(PLAYBOOKS / "setup.yml", inventory)
    assert setup.rc == 0, setup.stdout
    deploy = playbook("deploy.yml", inventory, "v1")
    assert deploy.rc == 0, deploy.stdout
    assert versions() == {name: "v1" for name in SERVERS}
    assert "fleet job: none -> v1" in deploy.stdout


def test_rolling_deploy_of_v2_reports_every_host(inventory, fleet):
    deploy = playbook("deploy.yml", inventory, "v2")
    assert deploy.rc == 0, deploy.stdout
    assert versions() == {name: "v2" for name in SERVERS}
    assert deploy.stdout.count("fleet web: v1 -> v2") == 3
    job = on_server(fleet["fleet3"], "docker", "ps", "--filter", "label=berth.role=job", "--format", "{{.Names}}")
    assert [without_boot_hash(name) for name in job.split()] == ["fleet-job-v2"]


def test_status_lists_running_and_retained_versions(inventory):
    status = run_playbook(PLAYBOOKS / "status.yml", inventory)
    assert status.rc == 0, status.stdout
    table = status.task("Table")["result"]["msg"]
    assert table[0].startswith("HOST")
    assert any(line.split()[:4] == ["fleet3", "job", "v2", "v2"] for line in table), table
    assert sum(1 for line in table if line.split()[1:5] == ["web", "v2", "v2", "v1"]) == 3, table


def test_rollback_refuses_a_version_not_retained(inventory, fleet):
    refused = playbook("rollback.yml", inventory, "v5")
    assert refused.rc != 0
    assert "Cannot roll back to v5: it is not retained on" in refused.stdout
    assert not [item for item in refused.results if item["action"] == "berth.deploy.release"]


def test_rollback_without_a_version_returns_to_v1_with_the_retained_image(inventory):
    rollback = playbook("rollback.yml", inventory, "")  # the version before the last deploy (v2): v1
    assert rollback.rc == 0, rollback.stdout
    assert versions() == {name: "v1" for name in SERVERS}
    releases = [item for item in rollback.results if item["action"] == "berth.deploy.release"]
    assert releases and all(item["result"]["pulled"] is False for item in releases)


def test_audit_merges_every_hosts_log_oldest_first(inventory):
    audit = run_playbook(PLAYBOOKS / "audit.yml", inventory, extra_vars={"audit_lines": 20})
    assert audit.rc == 0, audit.stdout
    lines = audit.task("Show them")["result"]["msg"]
    assert lines == sorted(lines) and {line.split()[1] for line in lines} == set(SERVERS)
    assert any("result=ok" in line and "->v2" in line for line in lines), lines
    assert any("->v1" in line for line in lines), lines  # the rollback


def test_release_failing_on_the_second_host_leaves_every_host_consistent(inventory, fleet):
    slow = inventory / "host_vars" / "fleet2.yml"
    slow.write_text(yaml.safe_dump({"berth_env": {"clear": {"BOOT_DELAY": "30"}}, "berth_deploy_timeout": 2}))
    try:
        failed = playbook("deploy.yml", inventory, "v3")
    finally:
        slow.unlink()
    assert failed.rc != 0
    assert "fleet-web-v3 failed its health check, so traffic stays on fleet-web-v1" in without_boot_hashes(failed.stdout)
    assert versions() == {name: "v1" for name in SERVERS}, "fleet1 must be rolled back, fleet2 kept, fleet3 untouched"
    assert "fleet web: v3 -> v1" in failed.stdout  # fleet1's rollback
    fleet3 = on_server(fleet["fleet3"], "docker", "ps", "-a", "--format", "{{.Names}}").split()
    assert not [name for name in fleet3 if "-v3-" in name], "fleet3 should not have been touched"
    fixed = playbook("deploy.yml", inventory, "v3")
    assert fixed.rc == 0, fixed.stdout
    assert versions() == {name: "v3" for name in SERVERS}


def audit_lines(server) -> list[str]:
    return on_server(server, "sh", "-c", "cat /var/log/berth/fleet-deploys.log 2>/dev/null || true").splitlines()


def test_a_host_unreachable_mid_roll_rolls_the_earlier_batches_back_and_frees_the_lock(inventory, fleet):
    """fleet3, the last batch (berth_boot.limit 1), drops off the network: every host of that batch is
    unreachable, which no rescue catches; the run still rolls back, runs on_failure, audits and unlocks."""
    before = {name: len(audit_lines(server)) for name, server in fleet.items()}
    record = inventory / ".on_failure.json"
    hook = inventory / ".hooks" / "on_failure.sh"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f"#!/bin/sh\nprintf '%s' \"$BERTH_ERROR\" > {record}\n")
    hook.chmod(0o755)
    gone = inventory / "host_vars" / "fleet3.yml"
    gone.write_text(yaml.safe_dump({"ansible_host": "127.0.0.199",  # nothing listens there: connection refused
                                    "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no "
                                                               "-o UserKnownHostsFile=/dev/null"}))
    try:
        failed = playbook("deploy.yml", inventory, "v2", extra_vars={"berth_hooks": {"on_failure": str(hook)}})
    finally:
        gone.unlink()
    assert failed.rc != 0
    assert "FAILED fleet3: unreachable" in failed.stdout, failed.stdout
    assert record.read_text().startswith("fleet3: unreachable"), record.read_text()
    assert {name: version_on(address) for name, address in SERVERS.items() if name != "fleet3"} == {
        "fleet1": "v3", "fleet2": "v3"}, "the hosts that had switched must be back on v3"
    assert "(rolled back)" in failed.stdout
    lock = on_server(fleet["fleet1"], "sh", "-c", "test -e /etc/berth/locks/fleet-deploy.lock && echo held || echo free")
    assert lock.strip() == "free"
    for name in ("fleet1", "fleet2"):
        added = audit_lines(fleet[name])[before[name]:]
        assert [line.split()[3] for line in added] == ["result=ok", "result=rolled-back"], added
