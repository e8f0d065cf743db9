"""Accessories over SSH on a fresh server: Postgres, Redis and a generic one, their data through
reboot, upgrade, a server restart and stop/remove/boot, and Postgres backup -> restore."""
from __future__ import annotations

import json
import stat
import subprocess
import time

import pytest

from tests.integration.conftest import APP_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE, TRAEFIK_IMAGE, on_server, throwaway_server, write_server_inventory
from tests.support.ansible_run import REPO, run_playbook

pytestmark = pytest.mark.slow
SERVER = "berth-acc1"
ADDRESS = "127.0.0.71"
PG_PASSWORD = "pg-password-never-shown-4242"
REDIS_PASSWORD = "redis-password-never-shown-4343"
PLAYBOOKS = REPO / "playbooks"
BACKUPS = "/var/backups/berth/acc-db"
SCRIPT = "/usr/local/sbin/berth-postgres-acc-db"
POSTGRES = {"image": f"{POSTGRES_IMAGE}:15", "password": PG_PASSWORD, "max_connections": 40,
            "settings": {"shared_buffers": "32MB"}, "backup": {"schedule": "daily", "keep": 2}}
REDIS = {"image": REDIS_IMAGE, "password": REDIS_PASSWORD, "maxmemory": "64mb", "maxmemory_policy": "allkeys-lru"}
ECHO = {"image": f"{APP_IMAGE}:v1", "port": "18090:3000",
        "files": [{"dest": "/app/extra.txt", "content": "hello {{ berth_service }}\n", "mode": "0640"},
                  {"dest": "/app/token.txt", "content": "token-never-world-readable\n"}],
        "directories": ["state:/state"],
        "healthcheck": {"cmd": "wget -q -O- http://127.0.0.1:3000/up", "interval": 0.5}}


@pytest.fixture(scope="module")
def server(testbed, ssh_key):
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, server, ssh_key):
    return write_server_inventory(tmp_path_factory.mktemp("acc-inventory"), {"acc1": ADDRESS}, ssh_key, {
        "berth_service": "acc",
        "berth_host_bootstrap": False,  # the test-bed server already has Docker
        "berth_image": APP_IMAGE,
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {"web": {"proxy": {"host": "acc.test", "app_port": 3000}}},
        "berth_postgres": POSTGRES,
        "berth_redis": REDIS,
        "berth_accessories": {"echo": ECHO},
    })


def playbook(name, inventory, extra_vars=None, **kwargs):
    return run_playbook(PLAYBOOKS / name, inventory, extra_vars=extra_vars, **kwargs)


def sql(query: str) -> str:
    return on_server(SERVER, "docker", "exec", "acc-db", "psql", "-U", "acc", "-d", "acc", "-tAc", query).strip()


def redis(*command: str) -> str:
    return on_server(SERVER, "docker", "exec", "-e", f"REDISCLI_AUTH={REDIS_PASSWORD}", "acc-redis",
                     "redis-cli", *command).strip()


def inspect(name: str) -> dict:
    return json.loads(on_server(SERVER, "docker", "inspect", name))[0]


def accessories() -> dict[str, str]:
    out = on_server(SERVER, "docker", "ps", "-a", "--filter", "label=berth.accessory-of=acc",
                    "--format", "{{.Names}} {{.State}}")
    return dict(line.split() for line in out.splitlines())


def wait_healthy(name: str, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if (inspect(name)["State"].get("Health") or {}).get("Status") == "healthy":
                return
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{name} did not become healthy: {inspect(name)['State']}")


def test_bad_accessory_settings_fail_before_anything_changes(inventory):
    no_password = {key: value for key, value in REDIS.items() if key != "password"}
    run = playbook("setup.yml", inventory, {"berth_postgres": {**POSTGRES, "password": ""}, "berth_redis": no_password,
                                            "berth_accessories": {"echo": {**ECHO, "port": "99999"}}})
    assert run.rc != 0
    assert "berth_postgres.password: is required" in run.stdout
    # Redis on the network every app and accessory shares is never run without a password
    assert "berth_redis.password: is required" in run.stdout
    assert "berth_accessories.echo.port: entry '99999' has a port out of range" in run.stdout
    assert accessories() == {}


def test_check_mode_setup_changes_nothing(inventory):
    run = playbook("setup.yml", inventory, check=True)
    assert run.rc == 0, run.stdout
    assert accessories() == {}


def test_setup_runs_the_accessories_on_the_deploy_network_with_their_secrets_kept(inventory):
    run = playbook("setup.yml", inventory)
    assert run.rc == 0, run.stdout
    assert accessories() == {"acc-db": "running", "acc-redis": "running", "acc-echo": "running"}
    for name in ("acc-db", "acc-redis", "acc-echo"):
        assert (inspect(name)["State"].get("Health") or {}).get("Status") == "healthy", name
        assert "berth" in inspect(name)["NetworkSettings"]["Networks"]
    db = inspect("acc-db")
    assert db["Config"]["Cmd"] == ["postgres", "-c", "max_connections=40", "-c", "shared_buffers=32MB"]
    assert sql("show max_connections") == "40"
    # published on loopback only; nothing else published
    assert inspect("acc-echo")["HostConfig"]["PortBindings"] == {"3000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18090"}]}
    assert db["HostConfig"]["PortBindings"] in ({}, None)
    assert on_server(SERVER, "docker", "exec", "acc-echo", "cat", "/app/extra.txt") == "hello acc\n"
    for secret in (PG_PASSWORD, REDIS_PASSWORD):
        assert secret not in run.stdout and secret not in json.dumps(run.results)
        assert secret not in json.dumps(db["Config"]["Labels"]) + json.dumps(inspect("acc-redis")["Config"]["Labels"])
        assert secret not in json.dumps(db["Config"]["Cmd"]) + json.dumps(inspect("acc-redis")["Config"]["Cmd"])
    env_file = on_server(SERVER, "stat", "-c", "%a %U", "/etc/berth/acc/env/acc-db.env").split()
    assert env_file == ["600", "root"]
    conf = on_server(SERVER, "stat", "-c", "%a %u", "/etc/berth/acc/accessories/acc-redis/redis.conf").split()
    assert conf == ["600", "999"]
    assert redis("CONFIG", "GET", "maxmemory-policy").split() == ["maxmemory-policy", "allkeys-lru"]
    assert redis("CONFIG", "GET", "appendonly").split() == ["appendonly", "yes"]
    assert "NOAUTH" in on_server(SERVER, "docker", "exec", "acc-redis", "sh", "-c", "unset REDISCLI_AUTH; redis-cli GET x")
    assert redis("CONFIG", "GET", "protected-mode").split() == ["protected-mode", "yes"]
    # another container on the deploy network: refused without the password, served with it
    client = ["docker", "run", "--rm", "--network", "berth", "--entrypoint", "redis-cli"]
    assert "NOAUTH" in on_server(SERVER, *client, REDIS_IMAGE, "-h", "acc-redis", "ping")
    assert on_server(SERVER, *client, "-e", f"REDISCLI_AUTH={REDIS_PASSWORD}", REDIS_IMAGE, "-h", "acc-redis",
                     "ping").strip() == "PONG"
    # an accessory file without a mode is private
    token = "/etc/berth/acc/accessories/acc-echo/files/app/token.txt"
    assert on_server(SERVER, "stat", "-c", "%a %U", token).split() == ["600", "root"]
    assert on_server(SERVER, "systemctl", "is-active", "berth-backup-acc-db.timer").strip() == "active"


def test_second_setup_changes_nothing(inventory):
    run = playbook("setup.yml", inventory)
    assert run.rc == 0, run.stdout
    assert run.changed("acc1") == 0, [item["task"] for item in run.results if item.get("changed")]


def test_status_lists_each_accessory_with_its_health_and_image(inventory):
    run = playbook("status.yml", inventory)
    assert run.rc == 0, run.stdout
    table = [line.split() for line in run.task("Table")["result"]["msg"]]
    accessories_table = table[table.index(["HOST", "ACCESSORY", "STATUS", "IMAGE"]) + 1:]
    assert sorted(accessories_table) == [["acc1", "db", "running", "(healthy)", POSTGRES["image"]],
                                         ["acc1", "echo", "running", "(healthy)", ECHO["image"]],
                                         ["acc1", "redis", "running", "(healthy)", REDIS["image"]]]


def test_data_survives_reboot(inventory):
    sql("create table if not exists notes (id serial primary key, body text)")
    sql("insert into notes (body) values ('kept through everything')")
    assert redis("SET", "counter", "41") == "OK"
    started = {name: inspect(name)["State"]["StartedAt"] for name in ("acc-db", "acc-redis")}
    run = playbook("accessory.yml", inventory, {"accessory_action": "reboot"})
    assert run.rc == 0, run.stdout
    for name in ("acc-db", "acc-redis"):
        assert inspect(name)["State"]["StartedAt"] != started[name]
    assert sql("select body from notes") == "kept through everything"
    assert redis("INCR", "counter") == "42"


def test_upgrade_backs_up_then_replaces_postgres_keeping_its_data(inventory):
    old_id = inspect("acc-db")["Id"]
    run = playbook("accessory.yml", inventory, {"accessory_action": "upgrade", "accessory": "db",
                                                "berth_postgres": {**POSTGRES, "image": f"{POSTGRES_IMAGE}:15-b"}})
    assert run.rc == 0, run.stdout
    db = inspect("acc-db")
    assert db["Id"] != old_id and db["Config"]["Image"] == f"{POSTGRES_IMAGE}:15-b"
    assert sql("select body from notes") == "kept through everything"
    backups = on_server(SERVER, "/usr/local/sbin/berth-postgres-acc-db", "list").split()
    assert len(backups) == 1 and backups[0].startswith("/var/backups/berth/acc-db/acc-")
    assert on_server(SERVER, "stat", "-c", "%a", backups[0]).strip() == "600"
    assert accessories()["acc-redis"] == "running"  # only db was named


def test_another_major_version_of_postgres_is_refused_before_anything_changes(inventory):
    # The same server under another PG_MAJOR (what a postgres:16 image declares), built on the server.
    major16 = f"{POSTGRES_IMAGE}:16-test"
    on_server(SERVER, "sh", "-c", f"printf 'FROM {POSTGRES_IMAGE}:15-b\\nENV PG_MAJOR=16\\n' | "
                                  f"DOCKER_BUILDKIT=0 docker build -q -t {major16} -")
    before = inspect("acc-db")
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot", "accessory": "db",
                                                "berth_postgres": {**POSTGRES, "image": major16}})
    assert run.rc != 0
    assert (f"{major16} is Postgres 16, but the data of acc-db was written by Postgres 15, which the new version "
            "cannot read. Nothing was changed") in " ".join(run.stdout.split())
    after = inspect("acc-db")
    assert after["Id"] == before["Id"] and after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert sql("select body from notes") == "kept through everything"


def test_data_survives_a_server_restart(inventory):
    subprocess.run(["docker", "restart", "-t", "20", SERVER], check=True, capture_output=True)
    for name in ("acc-db", "acc-redis", "acc-echo"):
        wait_healthy(name, deadline=120)
    assert sql("select body from notes") == "kept through everything"
    assert redis("GET", "counter") == "42"


def test_backup_then_restore_round_trips_a_table(inventory):
    sql("insert into notes (body) values ('in the backup')")
    on_server(SERVER, "systemctl", "start", "berth-backup-acc-db.service")  # what the timer runs
    backups = on_server(SERVER, "/usr/local/sbin/berth-postgres-acc-db", "list").split()
    assert len(backups) == 2  # the upgrade's and this one
    sql("delete from notes")
    sql("insert into notes (body) values ('after the backup')")
    run = playbook("restore.yml", inventory, {"restore_backup": backups[-1].rsplit("/", 1)[-1]})
    assert run.rc == 0, run.stdout
    assert sql("select body from notes order by id") == "kept through everything\nin the backup"
    # the restore took a backup of what was there first; keep: 2 dropped the oldest
    after = on_server(SERVER, "/usr/local/sbin/berth-postgres-acc-db", "list").split()
    assert len(after) == 2 and after[0] == backups[-1]
    run = playbook("restore.yml", inventory, {"restore_backup": "acc-nothing.dump"})
    assert run.rc != 0 and "no backup acc-nothing.dump" in run.stdout


def test_restoring_the_oldest_backup_keeps_it(inventory):
    # the safety backup's retention (keep: 2) must not remove the file being restored
    backups = on_server(SERVER, SCRIPT, "list").split()
    assert len(backups) == 2
    sql("insert into notes (body) values ('in no backup')")
    run = playbook("restore.yml", inventory, {"restore_backup": backups[0].rsplit("/", 1)[-1]})
    assert run.rc == 0, run.stdout
    assert sql("select body from notes order by id") == "kept through everything\nin the backup"
    after = on_server(SERVER, SCRIPT, "list").split()
    assert backups[0] in after and backups[1] in after and len(after) == 3
    # the next backup prunes to keep: 2 again
    on_server(SERVER, SCRIPT, "backup")
    assert on_server(SERVER, SCRIPT, "list").split()[:1] == [after[2]]


def test_restoring_latest_with_keep_1_keeps_it(inventory):
    upgraded = {**POSTGRES, "image": f"{POSTGRES_IMAGE}:15-b"}  # what runs since the upgrade
    keep_1 = {"berth_postgres": {**upgraded, "backup": {**POSTGRES["backup"], "keep": 1}}}
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot", "accessory": "db", **keep_1})
    assert run.rc == 0, run.stdout
    latest = on_server(SERVER, SCRIPT, "backup").strip()
    assert on_server(SERVER, SCRIPT, "list").split() == [latest]
    sql("insert into notes (body) values ('in no backup')")
    run = playbook("restore.yml", inventory, {"restore_backup": "latest", **keep_1})
    assert run.rc == 0, run.stdout
    assert sql("select body from notes order by id") == "kept through everything\nin the backup"
    after = on_server(SERVER, SCRIPT, "list").split()
    assert after[0] == latest and len(after) == 2
    assert run.task("Report the restore")["result"]["msg"] == (
        f"Restored {latest} into acc on acc-db; what was there before is in {after[1]}.")
    # back to keep: 2 (the inventory's)
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot", "accessory": "db", "berth_postgres": upgraded})
    assert run.rc == 0, run.stdout


def test_a_failed_backup_leaves_no_partial_file_and_a_backup_removes_stale_ones():
    before = on_server(SERVER, SCRIPT, "list").split()
    on_server(SERVER, "docker", "pause", "acc-db")  # docker exec fails on a paused container
    try:
        with pytest.raises(subprocess.CalledProcessError) as failed:
            on_server(SERVER, SCRIPT, "backup")
    finally:
        on_server(SERVER, "docker", "unpause", "acc-db")
    assert on_server(SERVER, "find", BACKUPS, "-name", "*.partial") == ""
    assert on_server(SERVER, SCRIPT, "list").split() == before
    assert "pg_dump of acc in acc-db failed: no backup written" in failed.value.stderr
    # a dump killed on the way (a reboot, the OOM killer) left one behind: the next backup removes it
    on_server(SERVER, "sh", "-c", f"echo half > {BACKUPS}/acc-20000101T000000Z.dump.partial")
    on_server(SERVER, SCRIPT, "backup")
    assert on_server(SERVER, "find", BACKUPS, "-name", "*.partial") == ""


def test_an_image_volume_without_a_mount_is_refused_before_anything_changes(inventory):
    # an image that keeps its data in a VOLUME, built on the server
    image = f"{APP_IMAGE}:with-volume"
    on_server(SERVER, "sh", "-c", f"printf 'FROM {APP_IMAGE}:v1\\nVOLUME /var/lib/thing /var/cache/thing\\n' | "
                                  f"DOCKER_BUILDKIT=0 docker build -q -t {image} -")
    thing = {"image": image, "cmd": ECHO.get("cmd"), "healthcheck": ECHO["healthcheck"]}
    thing = {key: value for key, value in thing.items() if value is not None}
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot", "accessory": "thing",
                                                "berth_accessories": {"echo": ECHO, "thing": thing}})
    assert run.rc != 0
    assert (f"berth_accessories.thing: the image {image} declares VOLUME /var/cache/thing, /var/lib/thing, which no "
            "entry of volumes or directories mounts") in " ".join(run.stdout.split())
    assert "acc-thing" not in accessories()
    assert on_server(SERVER, "ls", "/etc/berth/acc/env") and "acc-thing.env" not in on_server(SERVER, "ls", "/etc/berth/acc/env")
    # with a volume and a directory it runs, and a replaced container finds the data
    mounted = {**thing, "volumes": ["acc-thing-data:/var/lib/thing"], "directories": ["cache:/var/cache/thing"]}
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot", "accessory": "thing",
                                                "berth_accessories": {"echo": ECHO, "thing": mounted}})
    assert run.rc == 0, run.stdout
    on_server(SERVER, "docker", "exec", "acc-thing", "sh", "-c", "echo kept > /var/lib/thing/data")
    old_id = inspect("acc-thing")["Id"]
    replaced = {**mounted, "env": {"clear": {"SOMETHING": "new"}}}
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot", "accessory": "thing",
                                                "berth_accessories": {"echo": ECHO, "thing": replaced}})
    assert run.rc == 0, run.stdout
    assert inspect("acc-thing")["Id"] != old_id
    assert on_server(SERVER, "docker", "exec", "acc-thing", "cat", "/var/lib/thing/data") == "kept\n"
    run = playbook("accessory.yml", inventory, {"accessory_action": "remove", "accessory": "thing",
                                                "berth_accessories": {"echo": ECHO, "thing": replaced}})
    assert run.rc == 0, run.stdout
    assert "acc-thing" not in accessories()


def test_stop_remove_and_boot_keep_the_data(inventory):
    run = playbook("accessory.yml", inventory, {"accessory_action": "stop", "accessory": "redis"})
    assert run.rc == 0, run.stdout
    assert accessories()["acc-redis"] == "exited"
    run = playbook("accessory.yml", inventory, {"accessory_action": "remove"})
    assert run.rc == 0, run.stdout
    assert accessories() == {}
    volumes = on_server(SERVER, "docker", "volume", "ls", "--format", "{{.Name}}").split()
    assert "acc-db-data" in volumes and "acc-redis-data" in volumes
    run = playbook("accessory.yml", inventory, {"accessory_action": "boot"})
    assert run.rc == 0, run.stdout
    assert set(accessories().values()) == {"running"}
    assert sql("select count(*) from notes") == "2"
    assert redis("GET", "counter") == "42"


def test_exec_and_logs_like_kamal_accessory_exec_and_logs(inventory):
    run = playbook("accessory.yml", inventory, {"accessory_action": "exec", "accessory": "db",
                                                "accessory_cmd": "psql -U acc -d acc -tAc 'select count(*) from notes'"})
    assert run.rc == 0, run.stdout
    assert run.task("Show the command's output")["result"]["msg"] == ["2"]
    assert not [item for item in run.results if item["action"] == "berth.deploy.lock" and item["status"] != "skipped"]
    failed = playbook("accessory.yml", inventory, {"accessory_action": "exec", "accessory": "db",
                                                   "accessory_cmd": "psql -U acc -d acc -c 'select nope'"})
    assert failed.rc != 0 and "The command in acc-db exited with 1" in failed.stdout
    assert PG_PASSWORD not in run.stdout + failed.stdout
    unnamed = playbook("accessory.yml", inventory, {"accessory_action": "exec", "accessory_cmd": "true"})
    assert unnamed.rc != 0 and "exec runs in one accessory: name it" in unnamed.stdout
    logs = playbook("accessory.yml", inventory, {"accessory_action": "logs", "accessory": "db", "accessory_lines": 5})
    assert logs.rc == 0, logs.stdout
    lines = logs.task("Show the logs")["result"]["msg"]["db"]
    assert 0 < len(lines) <= 5, lines


def test_accessory_parameters_are_checked(inventory):
    run = playbook("accessory.yml", inventory, {"accessory_action": "explode", "accessory": "nope"})
    assert run.rc != 0
    assert "accessory_action: 'explode' is not allowed (boot or reboot or upgrade or stop or remove or logs or exec)" \
        in run.stdout
    assert "accessory: 'nope' is not an accessory (echo, db, redis or all)" in run.stdout


def test_env_and_conf_files_are_private():
    for path in ("/etc/berth/acc/env/acc-redis.env", "/etc/berth/acc/accessories/acc-redis/redis.conf"):
        mode = int(on_server(SERVER, "stat", "-c", "%a", path).strip(), 8)
        assert not mode & (stat.S_IRWXG | stat.S_IRWXO), path
