"""The modules against the real local engine: check -> real -> check -> real, then behaviours."""
from __future__ import annotations

import os
import stat
import time

import pytest

from tests.integration.conftest import APP_IMAGE
from tests.support.ansible_run import run_module, run_tasks
from tests.support.names import without_boot_hash


def assert_cycle(module, args, inventory, check_changes=True):
    """check -> real -> check -> real in one play: changes predicted, made, then nothing left to change."""
    steps = [("first check", True), ("real", False), ("second check", True), ("again", False)]
    tasks = [{"name": name, module: args, "check_mode": check, "ignore_errors": True} for name, check in steps]
    run = run_tasks(tasks, inventory)
    first_check, real, second_check, again = (run.task(name) for name, _check in steps)
    assert first_check["status"] == "ok", first_check
    assert first_check["result"]["changed"] is check_changes, first_check
    assert real["status"] == "ok", real
    assert real["result"]["changed"] is check_changes, real
    assert second_check["result"]["changed"] is False, second_check
    assert again["status"] == "ok" and again["result"]["changed"] is False, again
    return real["result"]


def test_network_cycle(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    assert_cycle("berth.deploy.network", {"name": unique}, local_inventory)
    assert engine.networks.get(unique).attrs["Driver"] == "bridge"
    assert_cycle("berth.deploy.network", {"name": unique, "state": "absent"}, local_inventory)
    assert not [n for n in engine.networks.list(names=[unique]) if n.name == unique]


def unused_app_tag(engine, candidates):
    """The first candidate tag of the app image, pulled here, that no container on this engine uses."""
    used = {container.attrs["Image"] for container in engine.containers.list(all=True)}
    for tag in candidates:
        image = engine.images.pull(APP_IMAGE, tag=tag)
        if image.id not in used:
            return tag, image
    pytest.fail(f"every candidate tag {candidates} is used by a container on this engine")


def test_image_pull_reports_change_only_when_the_id_moves(engine, local_inventory):
    tag, _image = unused_app_tag(engine, ("v1", "v2", "v3"))
    reference = f"{APP_IMAGE}:{tag}"
    engine.images.remove(reference)
    result = assert_cycle("berth.deploy.image", {"name": APP_IMAGE, "tag": tag}, local_inventory)
    assert result["previous_id"] is None and result["id"] == engine.images.get(reference).id


def test_image_load_from_archive(engine, local_inventory, tmp_path):
    tag, image = unused_app_tag(engine, ("v6", "v7", "v1"))
    reference = f"{APP_IMAGE}:{tag}"
    archive = tmp_path / f"app-{tag}.tar"
    with archive.open("wb") as stream:
        for chunk in image.save(named=True):
            stream.write(chunk)
    engine.images.remove(reference)
    result = assert_cycle("berth.deploy.image", {"name": APP_IMAGE, "tag": tag, "archive_path": str(archive)},
                          local_inventory)
    assert result["id"] == image.id
    wrong = run_module("berth.deploy.image", {"name": APP_IMAGE, "tag": "v5", "archive_path": str(archive)},
                       local_inventory)
    assert wrong["status"] == "failed"
    assert f"does not hold {APP_IMAGE}:v5" in wrong["result"]["msg"]


def test_image_prune_keeps_tags_that_containers_use(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v4")
    engine.images.pull(APP_IMAGE, tag="v5")
    engine.containers.create(f"{APP_IMAGE}:v4", name=unique)
    used_elsewhere = {c.attrs["Image"] for c in engine.containers.list(all=True)}
    # a tag that moved: v5's old image stays behind untagged, known only by its digest
    stale = engine.images.get(f"{APP_IMAGE}:v5")
    engine.images.get(f"{APP_IMAGE}:v6").tag(APP_IMAGE, "v5")
    stale_digests = [d for d in stale.attrs["RepoDigests"] if d.startswith(APP_IMAGE)]
    result = run_module("berth.deploy.image", {"name": APP_IMAGE, "state": "pruned"}, local_inventory)
    assert result["status"] == "ok", result
    assert f"{APP_IMAGE}:v4" not in result["result"]["removed"]
    remaining = {tag for image in engine.images.list(name=APP_IMAGE) for tag in image.tags}
    assert f"{APP_IMAGE}:v4" in remaining
    for tag in result["result"]["removed"]:
        assert tag not in remaining
    pinned = set(result["result"]["pinned"])  # pulled by an earlier test's run that created no container
    for image in engine.images.list(name=APP_IMAGE):
        if image.id not in used_elsewhere and not pinned & set(image.tags + image.attrs["RepoDigests"]):
            pytest.fail(f"{image.tags or image.attrs['RepoDigests']} is unused and unpinned but was kept")
    if stale.id not in used_elsewhere and stale_digests:
        assert set(stale_digests) <= set(result["result"]["removed"])
    if f"{APP_IMAGE}:v5" in remaining:  # the moved tag, if something uses v6: drop it so v5 is real again
        engine.images.remove(f"{APP_IMAGE}:v5")


def container_args(unique, version, **extra):
    args = {"service": unique, "role": "web", "version": version, "image": f"{APP_IMAGE}:{version}",
            "env": {"GREETING": "hello"}, "secret_env": {"SECRET_KEY_BASE": f"{unique}-secret-value"},
            "options": {"memory": "64m"}, "stop_timeout": 10}
    args.update(extra)
    return args


def only_container(engine, unique, **filters):
    """The one container of service ``unique`` (names carry a spec hash, so it is found by its labels)."""
    found = engine.containers.list(all=True, filters={"label": f"berth.service={unique}", **filters})
    assert len(found) == 1, [item.name for item in found]
    return found[0]


def test_container_cycle_secrets_and_labels(engine, local_inventory, unique, cleanup, tmp_path):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v2")
    env_file = tmp_path / "env" / "web.env"
    args = container_args(unique, "v2", env_file=str(env_file))
    result = assert_cycle("berth.deploy.container", args, local_inventory)
    container = only_container(engine, unique)
    assert container.name.startswith(f"{unique}-web-v2-") and container.name == result["container"]["name"]
    labels = container.labels
    assert labels["berth.service"] == unique and labels["berth.version"] == "v2" and labels["berth.role"] == "web"
    assert all("secret-value" not in value for value in labels.values())
    assert container.attrs["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m"}}
    assert container.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    assert f"SECRET_KEY_BASE={unique}-secret-value" in env_file.read_text()
    assert "secret-value" not in repr(result)


def test_secret_never_reaches_ansible_output(local_inventory, unique, cleanup, engine):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v2")
    task = {"name": "boot", "berth.deploy.container": container_args(unique, "v2")}
    run = run_tasks([task], local_inventory, env={"ANSIBLE_VERBOSITY": "3"})
    assert run.rc == 0, run.stdout
    assert f"{unique}-secret-value" not in run.stdout


def test_changed_spec_on_a_serving_version_boots_beside_it(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v2")
    first = run_module("berth.deploy.container", container_args(unique, "v2"), local_inventory)
    changed = run_module("berth.deploy.container", container_args(unique, "v2", env={"GREETING": "bye"}),
                         local_inventory)
    assert changed["result"]["changed"] is True, changed
    assert not [action for action in changed["result"]["actions"] if action.startswith("renamed")]
    running = {c.name for c in engine.containers.list(filters={"label": f"berth.service={unique}"})}
    assert running == {first["result"]["container"]["name"], changed["result"]["container"]["name"]}
    assert all(name.startswith(f"{unique}-web-v2-") for name in running), "a name of its own, the version in it"
    assert changed["result"]["container"]["id"] != first["result"]["container"]["id"]
    secret_changed = run_module("berth.deploy.container",
                                container_args(unique, "v2", env={"GREETING": "bye"},
                                               secret_env={"SECRET_KEY_BASE": "rotated"}), local_inventory)
    assert secret_changed["result"]["changed"] is True
    assert secret_changed["result"]["container"]["name"] == changed["result"]["container"]["name"] + "-2"


def accessory_args(unique, **extra):
    args = {"service": unique, "accessory": "db", "image": f"{APP_IMAGE}:v2", "replace": "stop_first",
            "secret_env": {"DB_PASSWORD": f"{unique}-secret-value"}, "volumes": [f"{unique}-data:/state"],
            "options": {"healthcheck": {"cmd": "wget -q -O- http://127.0.0.1:3000/up", "interval": 0.5}},
            "stop_timeout": 10}
    args.update(extra)
    return args


def test_accessory_cycle_is_replaced_stop_first_and_restarts_on_request(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v2")
    engine.images.pull(APP_IMAGE, tag="v3")
    name = f"{unique}-db"
    assert_cycle("berth.deploy.container", accessory_args(unique), local_inventory)
    container = engine.containers.get(name)
    assert container.labels["berth.accessory"] == "db" and container.labels["berth.accessory-of"] == unique
    assert "berth.service" not in container.labels and container.labels["berth.destination"] == ""
    assert container.attrs["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "wget -q -O- http://127.0.0.1:3000/up"]
    assert container.attrs["Config"]["Healthcheck"]["Interval"] == 500_000_000
    container.exec_run(["sh", "-c", "echo kept > /state/file"])
    upgraded = run_module("berth.deploy.container", accessory_args(unique, image=f"{APP_IMAGE}:v3"), local_inventory)
    assert upgraded["status"] == "ok", upgraded
    assert upgraded["result"]["actions"] == [f"stopped {name}", f"removed {name}", f"created {name}", f"started {name}"]
    assert [c.name for c in engine.containers.list(all=True, filters={"label": f"berth.accessory-of={unique}"})] == [name]
    new = engine.containers.get(name)
    assert new.exec_run(["cat", "/state/file"]).output == b"kept\n"  # same volume
    started_at = new.attrs["State"]["StartedAt"]
    restarted = run_module("berth.deploy.container", accessory_args(unique, image=f"{APP_IMAGE}:v3", restart=True),
                           local_inventory)
    assert restarted["result"]["actions"] == [f"restarted {name}"]
    new.reload()
    assert new.id == engine.containers.get(name).id and new.attrs["State"]["StartedAt"] != started_at
    checked = run_module("berth.deploy.container", accessory_args(unique, image=f"{APP_IMAGE}:v3", restart=True),
                         local_inventory, check=True)
    assert checked["result"]["changed"] is True and checked["result"]["actions"] == [f"restarted {name}"]
    new.remove(force=True)
    engine.volumes.get(f"{unique}-data").remove()


def test_active_stops_others_gracefully_and_retain_prunes(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    for version in ("v1", "v2", "v3", "v4"):
        engine.images.pull(APP_IMAGE, tag=version)
        booted = run_module("berth.deploy.container", container_args(unique, version), local_inventory)
        assert booted["status"] == "ok", booted
    args = {"service": unique, "role": "web", "version": "v4", "state": "active", "retain": 2, "stop_timeout": 20}
    check = run_module("berth.deploy.container", args, local_inventory, check=True)
    assert check["result"]["changed"] is True
    assert len(engine.containers.list(filters={"label": f"berth.service={unique}"})) == 4
    started = time.monotonic()
    real = run_module("berth.deploy.container", args, local_inventory)
    assert real["status"] == "ok", real
    assert sorted(without_boot_hash(name) for name in real["result"]["stopped"]) == [
        f"{unique}-web-v{n}" for n in (1, 2, 3)]
    assert time.monotonic() - started < 15, "the stop waited for SIGKILL instead of a graceful exit"
    remaining = {c.name: c.status for c in engine.containers.list(all=True, filters={"label": f"berth.service={unique}"})}
    assert {without_boot_hash(name): status for name, status in remaining.items()} == {
        f"{unique}-web-v4": "running", f"{unique}-web-v3": "exited"}
    for name in remaining:
        exit_code = engine.containers.get(name).attrs["State"]["ExitCode"]
        assert exit_code == 0, f"{name} did not exit gracefully ({exit_code})"
    assert run_module("berth.deploy.container", args, local_inventory)["result"]["changed"] is False


def test_active_refuses_a_version_that_is_not_running(local_inventory, unique):
    result = run_module("berth.deploy.container",
                        {"service": unique, "role": "web", "version": "v9", "state": "active"}, local_inventory)
    assert result["status"] == "failed"
    assert f"{unique}-web-v9 is not running" in result["result"]["msg"]


def test_healthcheck_reports_attempts_and_timing(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v3")
    engine.containers.run(f"{APP_IMAGE}:v3", name=unique, detach=True, environment={"BOOT_DELAY": "6"})
    result = run_module("berth.deploy.healthcheck", {"container": unique, "port": 3000, "interval": 0.25},
                        local_inventory)
    assert result["status"] == "ok", result
    outcome = result["result"]
    assert outcome["healthy"] and outcome["status"] == 200 and outcome["attempts"] > 1
    assert 0.2 * (outcome["attempts"] - 1) <= outcome["elapsed"] < 10


def test_healthcheck_failure_says_why_with_logs(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="bad")
    engine.containers.run(f"{APP_IMAGE}:bad", name=unique, detach=True)
    result = run_module("berth.deploy.healthcheck",
                        {"container": unique, "port": 3000, "interval": 0.5, "deadline": 3}, local_inventory)
    assert result["status"] == "failed"
    outcome = result["result"]
    assert outcome["status"] == 503 and "database unreachable" in outcome["body"]
    assert "did not become healthy within 3s" in outcome["msg"] and "Last" in outcome["msg"]
    assert any("database unreachable" in line for line in outcome["logs"])


def test_healthcheck_stops_early_when_the_container_exits(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.containers.run(f"{APP_IMAGE}:v3", name=unique, detach=True, command=["sh", "-c", "echo boom; exit 3"])
    started = time.monotonic()
    result = run_module("berth.deploy.healthcheck", {"container": unique, "port": 3000, "deadline": 30},
                        local_inventory)
    assert result["status"] == "failed"
    assert "exit code 3" in result["result"]["body"]
    assert time.monotonic() - started < 15


def test_healthcheck_docker_mode_needs_a_healthcheck(engine, local_inventory, unique, cleanup):
    cleanup.append(unique)
    engine.containers.run(f"{APP_IMAGE}:v3", name=unique, detach=True)
    result = run_module("berth.deploy.healthcheck", {"container": unique, "mode": "docker", "deadline": 5},
                        local_inventory)
    assert result["status"] == "failed" and "defines no HEALTHCHECK" in result["result"]["msg"]
    engine.containers.run(f"{APP_IMAGE}:v3", name=f"{unique}-hc", detach=True,
                          healthcheck={"test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:3000/up"],
                                       "interval": 500_000_000, "start_period": 0})
    cleanup.append(f"{unique}-hc")
    healthy = run_module("berth.deploy.healthcheck", {"container": f"{unique}-hc", "mode": "docker", "deadline": 20,
                                                      "interval": 0.5}, local_inventory)
    assert healthy["status"] == "ok" and healthy["result"]["status"] == "healthy", healthy


def test_container_command_volumes_and_published_ports(engine, local_inventory, unique, cleanup, tmp_path):
    cleanup.append(unique)
    engine.images.pull(APP_IMAGE, tag="v3")
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("from the host\n")
    args = {"service": unique, "role": "job", "version": "v3", "image": f"{APP_IMAGE}:v3",
            "command": ["sh", "-c", "cat /data/hello.txt; echo $MODE; exec /app/start"],
            "env": {"MODE": "worker"}, "volumes": [f"{data}:/data:ro", f"{unique}-cache:/cache"],
            "options": {"publish": ["127.0.0.1::3000"], "init": True, "labels": {"team": "payments"}},
            "restart_policy": "on-failure"}
    assert_cycle("berth.deploy.container", args, local_inventory)
    container = only_container(engine, unique)
    assert container.name.startswith(f"{unique}-job-v3-")
    assert container.attrs["Config"]["Cmd"][0:2] == ["sh", "-c"]
    mounts = {mount["Destination"]: mount for mount in container.attrs["Mounts"]}
    assert mounts["/data"]["RW"] is False and mounts["/cache"]["Type"] == "volume"
    binding = container.attrs["HostConfig"]["PortBindings"]["3000/tcp"][0]
    assert binding["HostIp"] == "127.0.0.1"
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert container.labels["team"] == "payments"
    time.sleep(1)
    logs = container.logs().decode()
    assert "from the host" in logs and "worker" in logs
    container.remove(force=True)
    engine.volumes.get(f"{unique}-cache").remove()


def test_image_pull_with_registry_credentials(engine, local_inventory):
    from tests.integration.conftest import AUTH_IMAGE, AUTH_PASSWORD, AUTH_USER

    for image in engine.images.list(name=AUTH_IMAGE):
        for tag in image.tags:
            engine.images.remove(tag)
    refused = run_module("berth.deploy.image", {"name": AUTH_IMAGE, "tag": "v1"}, local_inventory)
    assert refused["status"] == "failed"
    assert f"Docker engine error for {AUTH_IMAGE}:v1" in refused["result"]["msg"]
    args = {"name": AUTH_IMAGE, "tag": "v1", "username": AUTH_USER, "password": AUTH_PASSWORD}
    run = run_tasks([{"name": "pull", "berth.deploy.image": args, "check_mode": True},
                     {"name": "really pull", "berth.deploy.image": args},
                     {"name": "check again", "berth.deploy.image": args, "check_mode": True}],
                    local_inventory, env={"ANSIBLE_VERBOSITY": "3"})
    assert run.rc == 0, run.stdout
    assert run.task("pull")["result"]["changed"] is True
    assert run.task("really pull")["result"]["changed"] is True
    assert run.task("check again")["result"]["changed"] is False
    assert AUTH_PASSWORD not in run.stdout
    engine.images.remove(f"{AUTH_IMAGE}:v1")


def release_args(unique, proxy, version, **extra):
    args = {"service": unique, "version": version, "image": APP_IMAGE, "pull": "missing", "network": proxy["network"],
            "roles": [{"name": "web", "route": f"{unique}-web", "env": {"GREETING": "hello"},
                       "secret_names": ["SECRET_KEY_BASE"], "stop_timeout": 10,
                       "proxy": {"hosts": [f"{unique}.test"], "app_port": 3000,
                                 "healthcheck": {"interval": 0.2, "timeout": 2}}}],
            "secret_env": {"web": {"SECRET_KEY_BASE": f"{unique}-secret-value"}},
            "proxy": {"config_dir": proxy["config_dir"], "api_url": proxy["api_url"], "drain_settle": 0.2}}
    args.update(extra)
    return args


def served_through(proxy, unique) -> str:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", proxy["http_port"], timeout=5)
    connection.request("GET", "/", headers={"Host": f"{unique}.test"})
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, (response.status, body)
    return body.split()[0]


def test_release_cycle_then_a_new_version_then_a_restore(engine, local_proxy, local_inventory, unique, cleanup):
    cleanup.append(unique)
    for tag in ("v2", "v3"):
        engine.images.pull(APP_IMAGE, tag=tag)
    first = assert_cycle("berth.deploy.release", release_args(unique, local_proxy, "v2"), local_inventory)
    assert served_through(local_proxy, unique) == "version=v2"
    assert first["roles"]["web"]["container"].startswith(f"{unique}-web-v2-")
    assert f"{unique}-secret-value" not in repr(first)
    second = run_module("berth.deploy.release", release_args(unique, local_proxy, "v3"), local_inventory, diff=True)
    assert second["status"] == "ok", second
    report = second["result"]["roles"]["web"]
    assert report["previous"] == ["v2"] and report["previous_container"] == first["roles"]["web"]["container"]
    assert served_through(local_proxy, unique) == "version=v3"
    assert set(report["seconds"]) == {"pull", "boot", "health", "switch", "drain", "stop"}
    assert second["result"]["diff"]["before"]["web"]["running"] == ["v2"]
    restored = run_module("berth.deploy.release", release_args(unique, local_proxy, "v3",
                                                               restore={"web": report["previous_container"]}),
                          local_inventory)
    assert restored["status"] == "ok", restored
    assert served_through(local_proxy, unique) == "version=v2"
    running = [item.name for item in engine.containers.list(filters={"label": f"berth.service={unique}"})]
    assert running == [report["previous_container"]]
    run_module("berth.deploy.proxy_route", {"name": f"{unique}-web", "state": "absent",
                                            "config_dir": local_proxy["config_dir"], "api_url": local_proxy["api_url"]},
               local_inventory)


def test_release_refuses_a_missing_secret_before_touching_anything(engine, local_proxy, local_inventory, unique):
    result = run_module("berth.deploy.release", release_args(unique, local_proxy, "v2", secret_env={}), local_inventory)
    assert result["status"] == "failed"
    assert "roles.web: secret_env has no value for SECRET_KEY_BASE" in result["result"]["msg"]
    assert not engine.containers.list(all=True, filters={"label": f"berth.service={unique}"})
