"""The ops playbooks over SSH on a fresh server: app_exec.yml, logs.yml, prune.yml, remove.yml."""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time

import pytest
import yaml

from tests.integration.conftest import APP_IMAGE, TRAEFIK_IMAGE, on_server, ssh_host, throwaway_server
from tests.support.ansible_run import REPO, ansible_env, run_playbook, run_tasks
from tests.support.names import without_boot_hash, without_boot_hashes

pytestmark = pytest.mark.slow
SERVER = "berth-ops1"
ADDRESS = "127.0.0.51"
HOST = "ops.test"
SECRET = "ops-secret-key-base-0123456789abcdef"
PLAYBOOKS = REPO / "playbooks"


@pytest.fixture(scope="module")
def server(testbed, ssh_key):
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, server, ssh_key):
    directory = tmp_path_factory.mktemp("ops-inventory")
    host = ssh_host(ADDRESS, ssh_key)
    (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"ops1": host}, "children": {
        "web": {"hosts": {"ops1": None}}, "job": {"hosts": {"ops1": None}}}}}))
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "berth_service": "ops",
        "berth_host_bootstrap": False,  # the test-bed server already has Docker
        "berth_image": APP_IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {
            "web": {"proxy": {"host": HOST, "app_port": 3000, "healthcheck": {"interval": 0.5, "timeout": 2}},
                    "options": {"memory": "128m"}},
            "job": {"readiness_delay": 1, "stop_timeout": 5}},
        "berth_env": {"clear": {"RAILS_ENV": "production"}, "secret": {"SECRET_KEY_BASE": SECRET}},
        "berth_deploy_timeout": 10, "berth_drain_timeout": 5, "berth_retain_containers": 3,
    }, sort_keys=False))
    return directory


def playbook(name, inventory, extra_vars=None, version="", **kwargs):
    return run_playbook(PLAYBOOKS / name, inventory, extra_vars=extra_vars, env={"BERTH_VERSION": version}, **kwargs)


def containers(*filters: str) -> dict[str, str]:
    """Name -> status of the server's containers of service ops (plus extra docker ps filters)."""
    arguments = ["docker", "ps", "-a", "--filter", "label=berth.service=ops", "--format", "{{.Names}} {{.State}}"]
    for extra in filters:
        arguments += ["--filter", extra]
    return {without_boot_hash(name): state for name, state in
            (line.split() for line in on_server(SERVER, *arguments).splitlines())}


def name_of(container: str) -> str:
    """The real name of ``ops-web-v2`` (names carry a spec hash), the newest of that version."""
    listed = on_server(SERVER, "docker", "ps", "-a", "--filter", "label=berth.service=ops", "--format", "{{.Names}}")
    return next(name for name in listed.split() if without_boot_hash(name) == container)


def one_offs() -> dict[str, str]:
    return containers("label=berth.exec-role")


def images() -> list[str]:
    return sorted(on_server(SERVER, "docker", "images", APP_IMAGE, "--format", "{{.Tag}}").split())


def exists(path: str) -> bool:
    return on_server(SERVER, "sh", "-c", f"test -e {path} && echo yes || echo no").strip() == "yes"


def audit_log() -> str:
    return on_server(SERVER, "sh", "-c", "cat /var/log/berth/ops-deploys.log 2>/dev/null || true")


def get(path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", path, headers={"Host": HOST})
    response = connection.getresponse()
    return response.status, response.read().decode()


def only_validation_ran(run) -> bool:
    return {item["action"] for item in run.results} <= {
        "berth.deploy.config", "ansible.builtin.set_fact", "ansible.builtin.assert", "ansible.builtin.find"}


def test_setup_and_deploy_two_versions(inventory):
    for name, version in (("setup.yml", ""), ("deploy.yml", "v1"), ("deploy.yml", "v2")):
        run = playbook(name, inventory, version=version)
        assert run.rc == 0, run.stdout
    status, body = get()
    assert status == 200 and body.startswith("version=v2 "), (status, body)
    assert containers() == {"ops-web-v2": "running", "ops-web-v1": "exited", "ops-job-v2": "running",
                            "ops-job-v1": "exited"}


def test_exec_runs_in_a_new_container_with_the_roles_env_and_secret(inventory):
    before = audit_log()
    command = ("sh -c 'echo env=$RAILS_ENV version=$(cat /app/version); "
               "echo secret_length=$(printf %s \"$SECRET_KEY_BASE\" | wc -c); "
               "echo leak=$SECRET_KEY_BASE; echo to-stderr >&2'")
    run = playbook("app_exec.yml", inventory, {"exec_cmd": command})
    assert run.rc == 0, run.stdout
    result = run.task("Run the command of role web")["result"]
    assert result["rc"] == 0 and result["version"] == "v2" and result["image"] == f"{APP_IMAGE}:v2"
    assert result["container"].startswith("ops-web-exec-")
    assert result["stdout_lines"] == ["env=production version=v2", f"secret_length={len(SECRET)}", "leak=********"]
    assert result["stderr_lines"] == ["to-stderr"]
    assert "env=production version=v2" in run.stdout and "exited with 0" in run.stdout
    assert SECRET not in run.stdout and SECRET not in json.dumps(run.results)
    assert one_offs() == {}, "the one-off container must be removed"
    assert containers()["ops-web-v2"] == "running"
    new_lines = audit_log()[len(before):]
    assert "action=exec role=web mode=new version=v2 rc=0 command=" in new_lines and SECRET not in new_lines


def test_exec_given_version_and_role_pulls_the_image(inventory):
    assert "v3" not in images()
    run = playbook("app_exec.yml", inventory, {"exec_cmd": ["cat", "/app/version"], "exec_role": "job",
                                               "exec_version": "v3"})
    assert run.rc == 0, run.stdout
    result = run.task("Run the command of role job")["result"]
    assert result["stdout_lines"] == ["v3"] and result["container"].startswith("ops-job-exec-")
    assert "v3" in images()
    assert one_offs() == {}


def test_failing_command_fails_with_its_exit_code_and_output(inventory):
    run = playbook("app_exec.yml", inventory, {"exec_cmd": "sh -c 'echo about to fail; exit 3'"})
    assert run.rc != 0
    result = run.task("Run the command of role web")["result"]
    assert result["rc"] == 3 and result["kept"] is False
    assert "exited with 3" in result["msg"] and "about to fail" in result["msg"]
    assert one_offs() == {}
    assert "rc=3" in audit_log().splitlines()[-1]
    kept = playbook("app_exec.yml", inventory, {"exec_cmd": "false", "exec_keep_failed": "true"})
    assert kept.rc != 0
    assert "the container was kept for inspection" in kept.task("Run the command")["result"]["msg"]
    assert list(one_offs().values()) == ["exited"]  # prune.yml removes it below


def test_command_past_its_timeout_is_killed(inventory):
    started = time.monotonic()
    run = playbook("app_exec.yml", inventory, {"exec_cmd": "sleep 60", "exec_timeout": 2})
    assert run.rc != 0
    assert "did not finish within 2s and was killed and removed" in run.task("Run the command")["result"]["msg"]
    assert time.monotonic() - started < 40
    assert [status for status in one_offs().values() if status != "exited"] == []


def test_exec_in_the_running_container(inventory):
    run = playbook("app_exec.yml", inventory, {"exec_cmd": "sh -c 'cat /app/version; hostname'", "exec_mode": "running"})
    assert run.rc == 0, run.stdout
    result = run.task("Run the command of role web")["result"]
    assert without_boot_hash(result["container"]) == "ops-web-v2" and result["stdout_lines"][0] == "v2"
    assert result["stdout_lines"][1] == on_server(SERVER, "docker", "inspect", "-f", "{{.Config.Hostname}}",
                                                  name_of("ops-web-v2")).strip()
    failing = playbook("app_exec.yml", inventory, {"exec_cmd": "sh -c 'echo no; exit 5'", "exec_mode": "running"})
    assert failing.rc != 0 and failing.task("Run the command")["result"]["rc"] == 5


def test_exec_in_the_running_container_masks_the_secrets(inventory):
    command = "sh -c 'echo leak=$SECRET_KEY_BASE; echo to-stderr=$SECRET_KEY_BASE >&2; exit 4'"
    run = playbook("app_exec.yml", inventory, {"exec_cmd": command, "exec_mode": "running"})
    assert run.rc != 0
    result = run.task("Run the command of role web")["result"]
    assert result["rc"] == 4 and result["stdout_lines"] == ["leak=********"]
    assert result["stderr_lines"] == ["to-stderr=********"]
    assert SECRET not in run.stdout and SECRET not in json.dumps(run.results)
    assert SECRET not in audit_log()


def test_running_mode_survives_a_command_silent_longer_than_the_docker_timeout(inventory):
    run = run_tasks([{"name": "exec", "berth.deploy.app_exec": {
        "service": "ops", "role": "web", "mode": "running", "command": "sh -c 'sleep 4; echo done'",
        "docker_timeout": 2, "timeout": 30}}], inventory)
    assert run.rc == 0, run.stdout
    assert run.task("exec")["result"]["stdout_lines"] == ["done"]


def created_since(since: str) -> list[str]:
    """Containers the server's engine created since ``since`` (its own clock, epoch seconds)."""
    until = on_server(SERVER, "date", "+%s").strip()
    return on_server(SERVER, "docker", "events", "--since", since, "--until", until, "--filter", "type=container",
                     "--filter", "event=create", "--format", "{{.Actor.Attributes.name}}").split()


def test_check_mode_reports_and_runs_nothing(inventory):
    before = (containers(), audit_log())
    started = on_server(SERVER, "date", "+%s").strip()
    marker = "/tmp/ops-check-marker"
    for mode in ("new", "running"):
        run = playbook("app_exec.yml", inventory, {"exec_cmd": f"touch {marker}", "exec_mode": mode}, check=True)
        assert run.rc == 0, run.stdout
        result = run.task("Run the command of role web")["result"]
        assert result["changed"] is True and "rc" not in result
        assert result["msg"].startswith(f"would run `touch {marker}` in ops-web-")
    assert (containers(), audit_log()) == before
    assert created_since(started) == []
    assert on_server(SERVER, "docker", "exec", name_of("ops-web-v2"), "sh", "-c", f"test -e {marker} && echo yes || echo no"
                     ).strip() == "no"


def test_invalid_exec_parameters_fail_before_anything_runs(inventory):
    before = (containers(), audit_log())
    run = playbook("app_exec.yml", inventory, {"exec_mode": "fresh", "exec_role": "wbe"})
    assert run.rc != 0
    assert "exec_mode: 'fresh' is not allowed (new or running)" in run.stdout
    assert "exec_role: 'wbe' is not a role of berth_roles (web, job)" in run.stdout
    assert "exec_cmd: is required" in run.stdout
    assert only_validation_ran(run), [item["action"] for item in run.results]
    assert (containers(), audit_log()) == before


def shown_logs(run) -> list[str]:
    """The blocks logs.yml printed, one per role of the host."""
    assert run.rc == 0, run.stdout
    return [without_boot_hashes(item["result"]["msg"]) for item in run.results
            if item["task"] == "Show the logs" and "ops_logs_result" in item["result"]]


def test_logs_per_host_with_lines_grep_since_and_version(inventory):
    shown = shown_logs(playbook("logs.yml", inventory, {"logs_lines": 1}))
    assert len(shown) == 2  # web and job
    web = next(text for text in shown if "ops-web-v2" in text).splitlines()
    assert len(web) == 2 and web[0] == "==== ops1  ops-web-v2  (v2, running) ===="
    assert "app[v2] listening on 3000" in web[1]
    [grep] = shown_logs(playbook("logs.yml", inventory, {"logs_role": "web", "logs_grep": "booting|listening",
                                                         "logs_lines": 5}))
    assert [line.split(" ", 1)[1] for line in grep.splitlines()[1:]] == [
        "app[v2] booting v2", "app[v2] listening on 3000"]
    [future] = shown_logs(playbook("logs.yml", inventory, {"logs_role": "job",
                                                           "logs_since": str(int(time.time()) + 3600)}))
    assert future.splitlines()[1] == "(no log lines)"
    [stopped] = shown_logs(playbook("logs.yml", inventory, {"logs_role": "web", "logs_version": "v1",
                                                            "logs_grep": "SIGTERM"}))
    lines = stopped.splitlines()
    assert lines[0] == "==== ops1  ops-web-v1  (v1, exited) ====" and "SIGTERM received, draining" in lines[1]
    bad = playbook("logs.yml", inventory, {"logs_since": "yesterday", "logs_grep": "(", "logs_lines": 0})
    assert bad.rc != 0 and only_validation_ran(bad)
    for name in ("logs_since: 'yesterday'", "logs_grep: '('", "logs_lines: 0"):
        assert name in bad.stdout


def test_logs_follow_prints_new_lines_as_they_come_until_interrupted(inventory):
    command = ["ansible-playbook", "-i", str(inventory / "hosts.yml"), str(PLAYBOOKS / "logs.yml"),
               "-e", json.dumps({"logs_follow": True, "logs_role": "web", "logs_lines": 2})]
    follower = subprocess.Popen(command, cwd=REPO, env=ansible_env({"BERTH_VERSION": ""}), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(follower.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("app[v2] listening on 3000" in line for line in seen) and time.monotonic() < deadline:
            time.sleep(0.5)  # the first round: the last lines
        [web] = on_server(SERVER, "docker", "ps", "--filter", "label=berth.service=ops", "--filter",
                          "label=berth.role=web", "--format", "{{.Names}}").split()
        for number in range(3):
            on_server(SERVER, "docker", "exec", web, "sh", "-c", f"echo follow-marker-{number} > /proc/1/fd/1")
            time.sleep(1)
        while sum("follow-marker-" in line for line in seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        os.killpg(follower.pid, signal.SIGINT)  # Ctrl-C
        follower.wait(timeout=60)
    markers = [line for line in seen if "follow-marker-" in line]
    assert len(markers) == 3, "".join(seen)  # each new line once, in order
    assert [line.split("follow-marker-")[1][0] for line in markers] == ["0", "1", "2"]
    assert all("ops1 ops-web-v2-" in line for line in markers), markers  # where each line comes from


def test_prune_removes_old_versions_one_offs_and_unused_images_then_changes_nothing(inventory):
    keep_one = {"berth_retain_containers": 1}
    before = containers()
    assert "exited" in one_offs().values() and "v3" in images()
    check = playbook("prune.yml", inventory, keep_one, check=True)
    assert check.rc == 0 and check.changed() > 0, check.stdout
    assert containers() == before and "v3" in images()
    run = playbook("prune.yml", inventory, keep_one)
    assert run.rc == 0, run.stdout
    assert containers() == {"ops-web-v2": "running", "ops-job-v2": "running"}
    assert images() == ["v2"]
    assert "Removed containers: " in run.stdout and "ops-web-v1" in without_boot_hashes(run.stdout)
    again = playbook("prune.yml", inventory, keep_one)
    assert again.rc == 0 and again.changed() == 0, again.stdout
    assert not exists("/etc/berth/locks/ops-deploy.lock")


def test_remove_refuses_without_the_right_confirmation(inventory):
    before = (containers(), images())
    for extra in ({}, {"remove_confirm": "opz"}):
        run = playbook("remove.yml", inventory, extra)
        assert run.rc != 0
        assert "Not removing anything" in run.stdout and "remove_confirm" in run.stdout
        assert only_validation_ran(run), [item["action"] for item in run.results]
    assert (containers(), images()) == before
    assert exists("/etc/berth/proxy/dynamic/ops-web.yml")


def test_remove_leaves_nothing_of_the_service_and_a_second_run_changes_nothing(inventory):
    run = playbook("remove.yml", inventory, {"remove_confirm": "ops"})
    assert run.rc == 0, run.stdout
    assert containers() == {}
    assert images() == []
    assert not exists("/etc/berth/proxy/dynamic/ops-web.yml")
    assert not exists("/etc/berth/ops")
    assert not exists("/etc/berth/locks/ops-deploy.lock")
    assert get()[0] == 404, "the proxy must no longer route the service"
    assert "berth-proxy" in on_server(SERVER, "docker", "ps", "--format", "{{.Names}}").split()
    assert "berth" in on_server(SERVER, "docker", "network", "ls", "--format", "{{.Name}}").split()
    assert "action=remove result=ok" in audit_log().splitlines()[-1]
    again = playbook("remove.yml", inventory, {"remove_confirm": "ops"})
    assert again.rc == 0 and again.changed() == 0, again.stdout


def test_deploy_again_after_remove(inventory):
    run = playbook("deploy.yml", inventory, version="v2")
    assert run.rc == 0, run.stdout
    status, body = get()
    assert status == 200 and body.startswith("version=v2 ")


MIGRATIONS = {"berth_volumes": ["/srv/ops-migrations:/migrations"]}


def test_migration_runs_once_in_the_new_version_before_any_switch(inventory):
    migrate = {"cmd": ["sh", "-c", 'test -n "$SECRET_KEY_BASE" && cat /app/version >> /migrations/log && echo migrated']}
    run = playbook("deploy.yml", inventory, {**MIGRATIONS, "berth_migrate": migrate}, version="v3")
    assert run.rc == 0, run.stdout
    actions = [item["action"] for item in run.results]
    assert actions.count("berth.deploy.app_exec") == 1
    assert actions.index("berth.deploy.app_exec") < actions.index("berth.deploy.release")
    assert on_server(SERVER, "cat", "/srv/ops-migrations/log").split() == ["v3"]
    assert "exited with 0" in run.stdout and "migrated" in run.stdout
    assert get()[1].startswith("version=v3 ") and one_offs() == {}


def test_failed_migration_stops_the_deploy_with_the_old_version_serving(inventory):
    migrate = {"cmd": "sh -c 'echo cannot migrate; exit 3'"}
    run = playbook("deploy.yml", inventory, {**MIGRATIONS, "berth_migrate": migrate}, version="v4")
    assert run.rc != 0
    assert "The migration failed on ops1, so no host was switched" in run.stdout
    assert "exited with 3" in run.stdout and "cannot migrate" in run.stdout
    assert get()[1].startswith("version=v3 ")
    assert not [name for name in containers() if name.endswith("-v4")] and one_offs() == {}
    assert not exists("/etc/berth/locks/ops-deploy.lock")


def test_remove_proxy_refuses_while_other_services_are_routed_then_removes_it(inventory):
    other = "/etc/berth/proxy/dynamic/other-web.yml"
    on_server(SERVER, "sh", "-c", f"echo '# another service' > {other}")
    refused = playbook("remove.yml", inventory, {"remove_confirm": "ops", "remove_proxy": True})
    assert refused.rc != 0 and "still routes other-web.yml" in refused.stdout
    assert "running" in [state for name, state in containers().items() if name.startswith("ops-web-")]
    on_server(SERVER, "rm", other)
    run = playbook("remove.yml", inventory, {"remove_confirm": "ops", "remove_proxy": True})
    assert run.rc == 0, run.stdout
    assert containers() == {}
    assert "berth-proxy" not in on_server(SERVER, "docker", "ps", "-a", "--format", "{{.Names}}").split()
    assert "berth" not in on_server(SERVER, "docker", "network", "ls", "--format", "{{.Name}}").split()
    assert not exists("/etc/berth/proxy")
