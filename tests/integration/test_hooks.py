"""Deploy hooks on a real server: order, environment, and what a failing hook or release does to the run.

The script hook records its BERTH_* environment and the service's running containers (read from the
server) as one JSON line per call; the task-file hook writes its berth_hook_env onto the server.
"""
from __future__ import annotations

import http.client
import json

import pytest

from tests.integration.conftest import APP_IMAGE, TRAEFIK_IMAGE, on_server, throwaway_server, write_server_inventory
from tests.support.ansible_run import REPO, run_playbook
from tests.support.names import without_boot_hash, without_boot_hashes

pytestmark = pytest.mark.slow
SERVER = "berth-hooks1"
ADDRESS = "127.0.0.31"
HOST = "hooks.test"
SECRET = "hooks-secret-key-base-0123456789"
MARK = "/tmp/berth-hook-mark.json"
LOCK = "/etc/berth/locks/hooks-deploy.lock"
PLAYBOOKS = REPO / "playbooks"

RECORD_SCRIPT = """#!/usr/bin/env python3
import json, os, subprocess
names = subprocess.run(["docker", "exec", {server!r}, "docker", "ps", "--format", "{{{{.Names}}}}"],
                       capture_output=True, text=True, check=True).stdout.split()
record = {{name: value for name, value in os.environ.items() if name.startswith("BERTH_")}}
record["running"] = sorted(name for name in names if name.startswith("hooks-"))
with open({records!r}, "a") as handle:
    handle.write(json.dumps(record) + "\\n")
"""
FAIL_SCRIPT = """#!/bin/sh
echo "checking migrations"
echo "migrations pending: 20261122_add_orders" >&2
exit 3
"""
MARK_TASKS = f"""---
- name: Leave a mark on the server
  ansible.builtin.copy:
    dest: {MARK}
    content: "{{{{ berth_hook_env | to_json }}}}"
    mode: "0644"
"""
FAIL_TASKS = """---
- name: Refuse this host
  ansible.builtin.fail:
    msg: "{{ berth_hook_env.BERTH_HOST }} is in maintenance"
"""
ALL_HOOKS = {"pre_deploy": ".hooks/record.py", "pre_app_boot": [".hooks/record.py", ".hooks/mark.yml"],
             "post_app_boot": ".hooks/record.py", "post_deploy": ".hooks/record.py", "on_failure": ".hooks/record.py"}


@pytest.fixture(scope="module")
def hooks_server(testbed, ssh_key):
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, hooks_server, ssh_key):
    directory = tmp_path_factory.mktemp("hooks-inventory")
    hooks = directory / ".hooks"  # hidden: Ansible reads every other file of the directory as inventory
    hooks.mkdir()
    (hooks / "record.py").write_text(RECORD_SCRIPT.format(server=hooks_server, records=str(directory / ".records")))
    (hooks / "fail.sh").write_text(FAIL_SCRIPT)
    for script in ("record.py", "fail.sh"):
        (hooks / script).chmod(0o755)
    (hooks / "mark.yml").write_text(MARK_TASKS)
    (hooks / "fail.yml").write_text(FAIL_TASKS)
    group_vars = {
        "berth_service": "hooks",
        "berth_image": APP_IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {"web": {"proxy": {"host": HOST, "app_port": 3000,
                                          "healthcheck": {"interval": 0.5, "timeout": 2}}}},
        "berth_env": {"secret": {"SECRET_KEY_BASE": SECRET}},
        "berth_hooks": ALL_HOOKS,
        "berth_deploy_timeout": 4,
        "berth_drain_timeout": 5,
        "berth_retain_containers": 3,
        "berth_host_bootstrap": False,  # the test-bed server already has Docker
    }
    return write_server_inventory(directory, {"hooks1": ADDRESS}, ssh_key, group_vars)


def run(inventory, version, playbook="deploy.yml", hooks=None, **kwargs):
    """Run a playbook with the records cleared; ``hooks`` replaces berth_hooks for this run."""
    (inventory / ".records").write_text("")
    extra_vars = {"berth_message": "hook test", **({"berth_hooks": hooks} if hooks else {})}
    return run_playbook(PLAYBOOKS / playbook, inventory, extra_vars=extra_vars, env={"BERTH_VERSION": version},
                        **kwargs)


def records(inventory):
    found = [json.loads(line) for line in (inventory / ".records").read_text().splitlines()]
    for record in found:
        record["running"] = [without_boot_hash(name) for name in record["running"]]
    return found


def serving() -> str:
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/", headers={"Host": HOST})
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, (response.status, body)
    return body.split()[0].split("=")[1]


def containers(server) -> list[str]:
    return [without_boot_hash(name) for name in on_server(server, "docker", "ps", "-a", "--format", "{{.Names}}").split()]


def assert_lock_free(server):
    assert on_server(server, "sh", "-c", f"test -e {LOCK} && echo held || echo free").strip() == "free"


def test_setup_then_first_deploy_runs_every_hook(inventory):
    setup = run_playbook(PLAYBOOKS / "setup.yml", inventory)
    assert setup.rc == 0, setup.stdout
    first = run(inventory, "v1")
    assert first.rc == 0, first.stdout
    assert [record["BERTH_HOOK"] for record in records(inventory)] == [
        "pre_deploy", "pre_app_boot", "post_app_boot", "post_deploy"]
    assert serving() == "v1"


def test_deploy_runs_hooks_in_order_with_their_environment(inventory, hooks_server):
    deploy = run(inventory, "v2")
    assert deploy.rc == 0, deploy.stdout
    pre_deploy, pre_app_boot, post_app_boot, post_deploy = seen = records(inventory)
    assert [record["BERTH_HOOK"] for record in seen] == ["pre_deploy", "pre_app_boot", "post_app_boot", "post_deploy"]
    for record in seen:
        assert record["BERTH_SERVICE"] == "hooks" and record["BERTH_DESTINATION"] == ""
        assert record["BERTH_VERSION"] == "v2" and record["BERTH_COMMAND"] == "deploy"
        assert record["BERTH_HOSTS"] == "hooks1" and record["BERTH_MESSAGE"] == "hook test"
        assert "@" in record["BERTH_PERFORMER"] and "BERTH_ERROR" not in record
    for record in (pre_app_boot, post_app_boot):
        assert record["BERTH_HOST"] == "hooks1" and record["BERTH_ROLES"] == "web"
    assert "BERTH_HOST" not in pre_deploy and "BERTH_HOST" not in post_deploy
    assert 1 <= int(post_deploy["BERTH_RUNTIME"]) < 300 and "BERTH_RUNTIME" not in pre_deploy
    # where they ran: before the new container booted, after the old one was stopped
    assert pre_deploy["running"] == pre_app_boot["running"] == ["hooks-web-v1"]
    assert post_app_boot["running"] == post_deploy["running"] == ["hooks-web-v2"]
    mark = json.loads(on_server(hooks_server, "cat", MARK))
    assert mark["BERTH_HOOK"] == "pre_app_boot" and mark["BERTH_VERSION"] == "v2" and mark["BERTH_HOST"] == "hooks1"
    assert SECRET not in (inventory / ".records").read_text() + json.dumps(mark) + deploy.stdout
    assert serving() == "v2"


def test_failing_pre_deploy_hook_aborts_before_any_change_and_frees_the_lock(inventory, hooks_server):
    hooks = {**ALL_HOOKS, "pre_deploy": [".hooks/record.py", ".hooks/fail.sh", ".hooks/record.py"]}
    aborted = run(inventory, "v3", hooks=hooks)
    assert aborted.rc != 0
    hook = inventory / ".hooks" / "fail.sh"
    assert f"The pre_deploy hook {hook} exited with 3" in aborted.stdout
    assert "migrations pending: 20261122_add_orders" in aborted.stdout
    seen = records(inventory)
    assert [record["BERTH_HOOK"] for record in seen] == ["pre_deploy", "on_failure"], "stops at the failing file"
    assert f"The pre_deploy hook {hook} exited with 3" in seen[1]["BERTH_ERROR"]
    assert "checking migrations\nmigrations pending" in seen[1]["BERTH_ERROR"] and seen[1]["BERTH_VERSION"] == "v3"
    assert not [item for item in aborted.results if item["action"].startswith("berth.deploy.")
                and item["action"] not in ("berth.deploy.config", "berth.deploy.lock", "berth.deploy.rollout")
                and item["status"] != "skipped"]
    assert "hooks-web-v3" not in containers(hooks_server) and serving() == "v2"
    assert_lock_free(hooks_server)
    deploy = run(inventory, "v3")
    assert deploy.rc == 0, deploy.stdout
    assert serving() == "v3"


def test_release_failing_its_health_check_runs_on_failure_instead_of_post_deploy(inventory, hooks_server):
    failed = run(inventory, "bad")
    assert failed.rc != 0
    seen = records(inventory)
    assert [record["BERTH_HOOK"] for record in seen] == ["pre_deploy", "pre_app_boot", "on_failure"]
    error = without_boot_hashes(seen[-1]["BERTH_ERROR"])
    assert error.startswith("hooks1: hooks-web-bad failed its health check, so traffic stays on hooks-web-v3"), error
    assert int(seen[-1]["BERTH_RUNTIME"]) >= 1
    assert serving() == "v3"
    assert_lock_free(hooks_server)


def test_failing_pre_app_boot_task_file_fails_the_host_before_it_boots(inventory, hooks_server):
    failed = run(inventory, "v4", hooks={**ALL_HOOKS, "pre_app_boot": [".hooks/fail.yml", ".hooks/record.py"]})
    assert failed.rc != 0
    assert [record["BERTH_HOOK"] for record in records(inventory)] == ["pre_deploy", "on_failure"]
    assert records(inventory)[-1]["BERTH_ERROR"] == (
        f"hooks1: The pre_app_boot hook {inventory / '.hooks' / 'fail.yml'} failed on hooks1 "
        "at the task 'Refuse this host': hooks1 is in maintenance")
    assert "hooks-web-v4" not in containers(hooks_server) and serving() == "v3"
    assert_lock_free(hooks_server)


def test_pull_error_fails_the_host_runs_on_failure_and_frees_the_lock(inventory, hooks_server):
    failed = run(inventory, "v404")
    assert failed.rc != 0
    assert [record["BERTH_HOOK"] for record in records(inventory)] == ["pre_deploy", "pre_app_boot", "on_failure"]
    error = records(inventory)[-1]["BERTH_ERROR"]
    assert error.startswith(f"hooks1: Pulling {APP_IMAGE}:v404 failed: "), error
    assert "Nothing was changed on this host" in error
    assert serving() == "v3"
    assert_lock_free(hooks_server)


def test_failing_post_deploy_hook_fails_the_run_but_keeps_the_release(inventory, hooks_server):
    deploy = run(inventory, "v4", hooks={**ALL_HOOKS, "post_deploy": ".hooks/fail.sh"})
    assert deploy.rc != 0
    assert f"The post_deploy hook {inventory / '.hooks' / 'fail.sh'} exited with 3" in deploy.stdout
    assert [record["BERTH_HOOK"] for record in records(inventory)] == ["pre_deploy", "pre_app_boot", "post_app_boot"]
    assert serving() == "v4"
    assert_lock_free(hooks_server)


def test_rollback_runs_the_hooks_as_a_rollback(inventory):
    rollback = run(inventory, "v3", playbook="rollback.yml")
    assert rollback.rc == 0, rollback.stdout
    seen = records(inventory)
    assert [record["BERTH_HOOK"] for record in seen] == ["pre_deploy", "pre_app_boot", "post_app_boot", "post_deploy"]
    assert {(record["BERTH_COMMAND"], record["BERTH_VERSION"]) for record in seen} == {("rollback", "v3")}
    assert serving() == "v3"


def test_failing_post_app_boot_hook_rolls_its_host_back(inventory, hooks_server):
    failed = run(inventory, "v5", hooks={**ALL_HOOKS, "post_app_boot": ".hooks/fail.sh"})
    assert failed.rc != 0
    seen = records(inventory)
    assert [record["BERTH_HOOK"] for record in seen] == ["pre_deploy", "pre_app_boot", "on_failure"]
    assert seen[-1]["BERTH_ERROR"].startswith(
        f"hooks1: The post_app_boot hook {inventory / '.hooks' / 'fail.sh'} exited with 3"), seen[-1]["BERTH_ERROR"]
    assert "hooks web: v5 -> v3" in failed.stdout  # the rollback of the host whose hook failed
    assert serving() == "v3"
    assert_lock_free(hooks_server)


def test_check_mode_runs_no_script_and_task_files_in_check_mode(inventory, hooks_server):
    before = on_server(hooks_server, "cat", MARK)
    check = run(inventory, "v6", check=True)  # a version never booted here
    assert check.rc == 0, check.stdout
    assert records(inventory) == []
    assert check.task("Leave a mark on the server")["result"]["changed"] is True
    assert on_server(hooks_server, "cat", MARK) == before
    assert serving() == "v3"
