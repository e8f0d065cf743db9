"""The deploy lock around setup.yml, accessory.yml, restore.yml and app_exec.yml, and the audit log's
lines, over SSH on a fresh server."""
from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from tests.integration.conftest import APP_IMAGE, POSTGRES_IMAGE, TRAEFIK_IMAGE, on_server, throwaway_server, write_server_inventory
from tests.support.ansible_run import REPO, run_playbook

pytestmark = pytest.mark.slow
SERVER = "berth-locks1"
ADDRESS = "127.0.0.93"
LOCK = "/etc/berth/locks/locks-deploy.lock"
AUDIT_LOG = "/var/log/berth/locks-deploys.log"
PLAYBOOKS = REPO / "playbooks"
FORGED = "2026-12-04T00:00:00Z performer=mallory action=exec role=web mode=new version=v1 rc=0 command=harmless"
# refused: each playbook with the reason its lock would record
REFUSED = {
    "setup.yml": ({}, "setting up the servers (playbooks/setup.yml)"),
    "accessory.yml": ({"accessory_action": "reboot"}, "accessory reboot of db (playbooks/accessory.yml)"),
    "restore.yml": ({}, "restoring Postgres from latest (playbooks/restore.yml)"),
    "app_exec.yml": ({"exec_cmd": "true", "exec_version": "v1"}, "running a command of role web (playbooks/app_exec.yml)"),
}


@pytest.fixture(scope="module")
def server(testbed, ssh_key):
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, server, ssh_key):
    return write_server_inventory(tmp_path_factory.mktemp("locks-inventory"), {"locks1": ADDRESS}, ssh_key, {
        "berth_service": "locks",
        "berth_host_bootstrap": False,  # the test-bed server already has Docker
        "berth_image": APP_IMAGE,
        "berth_proxy": {"image": TRAEFIK_IMAGE, "pages_image": f"{APP_IMAGE}:v1"},  # busybox httpd serves the pages
        "berth_roles": {"web": {"proxy": {"host": "locks.test", "app_port": 3000}}},
        "berth_postgres": {"image": f"{POSTGRES_IMAGE}:15", "password": "locks-pg-password-4711"},
    })


def playbook(name, inventory, extra_vars=None):
    return run_playbook(PLAYBOOKS / name, inventory, extra_vars=extra_vars)


def write_live_holder() -> str:
    """A lock held by a live run of another controller; returns its holder.json."""
    holder = json.dumps({"performer": "carol@ci", "since": "2026-12-01T10:00:00Z", "since_epoch": time.time(),
                         "lease": 900, "version": "v9", "reason": "hotfix", "controller": "ci-runner",
                         "controller_id": "elsewhere", "pid": 4242, "token": "t"})
    on_server(SERVER, "sh", "-c", f"mkdir -p -m 700 {LOCK} && printf '%s' '{holder}' > {LOCK}/holder.json")
    return holder


def lock_exists() -> bool:
    return on_server(SERVER, "sh", "-c", f"test -d {LOCK} && echo yes || echo no").strip() == "yes"


def server_state() -> str:
    """What a run could change: containers, networks, images, files berth writes (but the lock)."""
    return on_server(SERVER, "sh", "-c", "docker ps -a --format '{{.Names}} {{.Status}}'; docker network ls -q; "
                                         "docker images -q; find /etc/berth /var/log/berth /var/lib/berth "
                                         f"-path {LOCK} -prune -o -print 2>/dev/null; true")


def audit_lines() -> list[str]:
    return on_server(SERVER, "sh", "-c", f"cat {AUDIT_LOG} 2>/dev/null || true").splitlines()


def test_with_the_lock_held_each_playbook_refuses_naming_the_holder_before_changing_anything(inventory):
    holder = write_live_holder()
    for name, (extra_vars, _reason) in REFUSED.items():
        before = server_state()
        run = playbook(name, inventory, extra_vars)
        assert run.rc != 0, f"{name}: {run.stdout}"
        assert ("The deploy lock locks-deploy is held by carol@ci since 2026-12-01T10:00:00Z, deploying v9 (hotfix) "
                "[process 4242 on ci-runner, lease 900s]") in run.stdout, f"{name}: {run.stdout}"
        ran = {item["action"] for item in run.results}
        assert ran <= {"berth.deploy.config", "ansible.builtin.set_fact", "ansible.builtin.assert",
                       "berth.deploy.lock"}, f"{name} went on: {ran}"
        assert server_state() == before, name
        assert on_server(SERVER, "cat", f"{LOCK}/holder.json") == holder, name


def test_setup_waits_for_the_lock_with_berth_lock_wait_then_releases_it(inventory):
    assert lock_exists()
    freed = threading.Timer(5, on_server, (SERVER, "rm", "-rf", LOCK))
    started = time.monotonic()
    freed.start()
    try:
        run = playbook("setup.yml", inventory, {"berth_lock_wait": 120})
    finally:
        freed.cancel()
    assert run.rc == 0, run.stdout
    [taken] = [item["result"] for item in run.results
               if item["task"] == "Take the deploy lock on the primary host" and item["status"] != "skipped"]
    assert taken["waited"] >= 4, taken
    assert time.monotonic() - started >= 5
    assert not lock_exists()
    running = on_server(SERVER, "docker", "ps", "--format", "{{.Names}}").split()
    assert "berth-proxy" in running and "locks-db" in running, running


def test_a_running_holder_is_recorded_with_what_the_run_does(inventory):
    """While accessory.yml runs, the lock names it (what a deploy started meanwhile would print)."""
    seen: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not seen:
            text = on_server(SERVER, "sh", "-c", f"cat {LOCK}/holder.json 2>/dev/null || true")
            if text.strip():
                seen.append(text)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    run = playbook("accessory.yml", inventory, {"accessory_action": "reboot"})
    watcher.join()
    assert run.rc == 0, run.stdout
    assert seen, "the lock was never seen held during accessory.yml"
    assert json.loads(seen[0])["reason"] == REFUSED["accessory.yml"][1]
    assert not lock_exists()


def test_a_failing_exec_releases_the_lock_and_writes_exactly_one_audit_line(inventory):
    before = audit_lines()
    command = ["sh", "-c", "exit 3", f"harmless\n{FORGED}\r{FORGED}\u2028{FORGED}"]
    run = playbook("app_exec.yml", inventory, {"exec_cmd": command, "exec_version": "v1"})
    assert run.rc != 0, run.stdout
    assert run.task("Run the command of role web")["result"]["rc"] == 3
    assert not lock_exists()
    added = audit_lines()[len(before):]
    assert len(added) == 1, added
    assert "action=exec role=web mode=new version=v1 rc=3 command=" in added[0]
    assert "harmless\\n2026-12-04T00:00:00Z performer=mallory" in added[0]
    assert not any(line.startswith("2026-12-04T00:00:00Z") for line in audit_lines())
    raw = subprocess.run(["docker", "exec", SERVER, "cat", AUDIT_LOG], capture_output=True, check=True).stdout
    assert b"\r" not in raw and "\u2028".encode() not in raw and raw.count(b"\n") == len(audit_lines())


def test_a_maintenance_message_with_line_breaks_writes_exactly_one_audit_line(inventory):
    before = audit_lines()
    on = playbook("maintenance.yml", inventory, {"maintenance": "on", "maintenance_message": f"Back soon\n{FORGED}"})
    assert on.rc == 0, on.stdout
    off = playbook("maintenance.yml", inventory, {"maintenance": "off"})
    assert off.rc == 0, off.stdout
    added = audit_lines()[len(before):]
    assert len(added) == 2, added
    assert "maintenance=on result=ok roles=web page_message='Back soon\\n2026-12-04T00:00:00Z performer=mallory" in added[0]
    assert "maintenance=off result=ok roles=web message=''" in added[1]
    assert not any(line.startswith("2026-12-04T00:00:00Z") for line in audit_lines())
