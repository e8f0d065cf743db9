"""playbooks/maintenance.yml over SSH on a fresh server: 503 with the page and message, health path kept,
maintenance kept across a deploy, and no failed health request while it is switched on and off."""
from __future__ import annotations

import http.client
import json
import subprocess
import typing as t
from pathlib import Path

import pytest

from tests.integration.conftest import APP_IMAGE, TRAEFIK_IMAGE, on_server, throwaway_server, write_server_inventory
from tests.integration.test_modules import assert_cycle
from tests.support.ansible_run import REPO, PlaybookRun, run_module, run_playbook
from tests.support.load import KeepAliveLoad
from tests.support.names import without_boot_hash, without_boot_hashes

pytestmark = pytest.mark.slow
SERVER = "berth-maint1"
ADDRESS = "127.0.0.61"
HOST = "shop.test"
MAINTENANCE = REPO / "playbooks" / "maintenance.yml"
MESSAGE = 'Upgrading <b>the database</b> & "orders", back at 14:00 UTC'
ESCAPED = "Upgrading &lt;b&gt;the database&lt;/b&gt; &amp; &quot;orders&quot;, back at 14:00 UTC"
ROUTE_FILE = "/etc/berth/proxy/dynamic/shop-web.yml"
PAGE_FILE = "/etc/berth/proxy/pages/shop-web.html"
STATE_FILE = "/etc/berth/proxy/maintenance/shop-web.json"


@pytest.fixture(scope="module")
def server(testbed: None, ssh_key: Path) -> t.Iterator[str]:
    """This file's own throwaway server (systemd + sshd + dockerd) on 127.0.0.61."""
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, server, ssh_key):
    group_vars = {
        "berth_service": "shop",
        "berth_image": APP_IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        # No Docker Hub here: the test app image is busybox too, so its httpd serves the pages.
        "berth_proxy": {"image": TRAEFIK_IMAGE, "pages_image": f"{APP_IMAGE}:v1"},
        "berth_roles": {"web": {"proxy": {"host": HOST, "app_port": 3000,
                                          "healthcheck": {"path": "/up", "interval": 0.5, "timeout": 2}}}},
        "berth_deploy_timeout": 8,
        "berth_drain_timeout": 5,
        "berth_host_bootstrap": False,  # the test-bed server already has Docker
    }
    return write_server_inventory(tmp_path_factory.mktemp("maint-inventory"), {"maint1": ADDRESS}, ssh_key, group_vars)


def maintenance(inventory, switch: str | None, message: str | None = None, check: bool = False) -> PlaybookRun:
    extra: dict[str, t.Any] = {}
    if switch is not None:
        extra["maintenance"] = switch
    if message is not None:
        extra["maintenance_message"] = message
    return run_playbook(MAINTENANCE, inventory, extra_vars=extra, check=check)


def deploy(inventory, version: str) -> PlaybookRun:
    return run_playbook(REPO / "playbooks" / "deploy.yml", inventory, env={"BERTH_VERSION": version})


def get(path: str = "/", method: str = "GET", headers: dict[str, str] | None = None, host: str = HOST
        ) -> tuple[int, str, http.client.HTTPMessage]:
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request(method, path, body=b"x=1" if method == "POST" else None, headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body, response.headers


def server_file(path: str) -> str | None:
    probe = subprocess.run(["docker", "exec", SERVER, "cat", path], capture_output=True, text=True, check=False)
    return probe.stdout if probe.returncode == 0 else None


def traefik(path: str) -> dict[str, t.Any] | None:
    probe = subprocess.run(["docker", "exec", SERVER, "curl", "-fsS", f"http://127.0.0.1:8080{path}"],
                           capture_output=True, text=True, check=False)
    return json.loads(probe.stdout) if probe.returncode == 0 else None


def changed_tasks(run: PlaybookRun) -> list[str]:
    return [item["task"] for item in run.results if item["result"].get("changed")]


def health_load() -> KeepAliveLoad:
    return KeepAliveLoad(ADDRESS, 80, HOST, path="/up", clients=4, max_seconds=120, max_requests=50_000)


def test_setup_and_first_deploy(inventory):
    setup = run_playbook(REPO / "playbooks" / "setup.yml", inventory)
    assert setup.rc == 0, setup.stdout
    first = deploy(inventory, "v1")
    assert first.rc == 0, first.stdout
    status, body, _headers = get()
    assert (status, body.split()[0]) == (200, "version=v1")


@pytest.mark.parametrize("switch, expected", [
    (None, "maintenance: is required (on or off)"),
    ("maybe", 'maintenance: "maybe" is not allowed (on or off)'),
])
def test_a_bad_switch_fails_before_touching_the_host(inventory, switch, expected):
    run = maintenance(inventory, switch)
    assert run.rc != 0
    assert expected in run.stdout, run.stdout
    assert "-e maintenance=on" in run.stdout
    assert {item["action"] for item in run.results if item["status"] != "skipped"} == {"ansible.builtin.fail"}


def test_check_mode_changes_nothing(server, inventory):
    route_before = server_file(ROUTE_FILE)
    run = maintenance(inventory, "on", MESSAGE, check=True)
    assert run.rc == 0, run.stdout
    assert run.task("Switch maintenance mode of each web role")["result"]["changed"] is True
    assert server_file(ROUTE_FILE) == route_before
    assert server_file(PAGE_FILE) is None and server_file(STATE_FILE) is None
    assert "berth-proxy-pages" not in on_server(server, "docker", "ps", "-a", "--format", "{{.Names}}").split()
    assert get()[0] == 200


def test_on_answers_503_with_the_page_and_keeps_the_health_path(server, inventory):
    with health_load() as load:
        run = maintenance(inventory, "on", MESSAGE)
    assert run.rc == 0, run.stdout
    print(f"/up during maintenance on: {load.report.summary()}")
    assert load.report.failed == 0 and load.report.requests > 100, load.report.summary()
    assert "shop web: maintenance on: 503 with the page, /up still reaches http://shop-web-v1:3000" in \
        without_boot_hashes(run.stdout)
    for method, path in (("GET", "/"), ("GET", "/orders/42?x=1"), ("POST", "/orders"), ("HEAD", "/")):
        status, body, headers = get(path, method)
        assert status == 503, (method, path, status, body)
        assert headers["Content-Type"].startswith("text/html") and headers["Cache-Control"] == "no-store"
        assert method == "HEAD" or ESCAPED in body, body
    # a browser revalidating or resuming still gets the whole page, not a 304 or a part of it
    status, body, headers = get("/", headers={"If-None-Match": "*", "If-Modified-Since": "Tue, 01 Jan 2030 00:00:00 GMT",
                                              "Range": "bytes=0-9"})
    assert status == 503 and ESCAPED in body and "ETag" not in headers and "Accept-Ranges" not in headers
    assert get("/up")[:2] == (200, "ok\n")
    assert "<script" not in server_file(PAGE_FILE) and ESCAPED in server_file(PAGE_FILE)
    assert json.loads(server_file(STATE_FILE)) == {"health_path": "/up", "page_url": "http://berth-proxy-pages:8080"}
    pages = on_server(server, "docker", "inspect", "-f", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}",
                      "berth-proxy-pages").split()
    assert pages == ["65534:65534", "true"]
    audit = on_server(server, "cat", "/var/log/berth/shop-deploys.log")
    assert "maintenance=on result=ok roles=web" in audit


def test_on_again_changes_nothing_and_a_new_message_only_rewrites_the_page(inventory):
    again = maintenance(inventory, "on", MESSAGE)
    assert again.rc == 0, again.stdout
    assert changed_tasks(again) == ["Write the audit log line on this host"], again.stdout
    assert "maintenance on (unchanged)" in again.stdout
    route_before = server_file(ROUTE_FILE)
    new = maintenance(inventory, "on", "Almost done")
    assert new.rc == 0, new.stdout
    assert new.task("Switch maintenance mode of each web role")["result"]["changed"] is True
    assert server_file(ROUTE_FILE) == route_before
    status, body, _headers = get()
    assert status == 503 and "<p>Almost done</p>" in body and ESCAPED not in body


def test_a_deploy_keeps_maintenance_on_and_the_health_path_on_the_new_version(server, inventory):
    with health_load() as load:
        run = deploy(inventory, "v2")
    assert run.rc == 0, run.stdout
    print(f"/up during a deploy in maintenance mode: {load.report.summary()}")
    assert load.report.failed == 0 and load.report.requests > 100, load.report.summary()
    assert "Route shop-web is in maintenance mode" in run.stdout
    assert run.task("Release on this host v2 (")["result"]["roles"]["web"]["maintenance"] is True
    status, body, _headers = get()
    assert status == 503 and "Almost done" in body
    assert get("/up")[:2] == (200, "ok\n")
    servers = traefik("/api/http/services/shop-web@file")["loadBalancer"]["servers"]
    assert [without_boot_hashes(entry["url"]) for entry in servers] == ["http://shop-web-v2:3000"]
    assert traefik("/api/http/routers/shop-web_health@file")["service"] == "shop-web"
    running = [without_boot_hash(name) for name in on_server(server, "docker", "ps", "--format", "{{.Names}}").split()]
    assert "shop-web-v2" in running and "shop-web-v1" not in running


def test_off_serves_the_new_version_again(inventory):
    with health_load() as load:
        run = maintenance(inventory, "off")
    assert run.rc == 0, run.stdout
    print(f"/up during maintenance off: {load.report.summary()}")
    assert load.report.failed == 0 and load.report.requests > 100, load.report.summary()
    status, body, _headers = get()
    assert (status, body.split()[0]) == (200, "version=v2")
    assert server_file(PAGE_FILE) is None and server_file(STATE_FILE) is None
    assert traefik("/api/http/routers/shop-web_health@file") is None
    assert "_unavailable" not in server_file(ROUTE_FILE)
    again = maintenance(inventory, "off")
    assert again.rc == 0, again.stdout
    assert changed_tasks(again) == ["Write the audit log line on this host"], again.stdout


def test_a_route_never_deployed_gets_the_page_and_turning_it_off_removes_the_route(inventory):
    args = {"name": "launch-web", "hosts": ["launch.test"], "state": "enabled", "health_path": "/up",
            "page_template": "<h1>Soon</h1><p>%MESSAGE%</p>", "page_message": "Opening on Monday",
            "page_url": "http://berth-proxy-pages:8080"}
    result = assert_cycle("berth.deploy.maintenance", args, inventory)
    assert result["maintenance"] is True and result["targets"] == [] and result["confirm_seconds"] < 5
    for path in ("/", "/up"):  # nothing to keep the health path on
        status, body, _headers = get(path, host="launch.test")
        assert (status, body) == (503, "<h1>Soon</h1><p>Opening on Monday</p>\n")
    diff = run_module("berth.deploy.maintenance", {**args, "state": "disabled"}, inventory, check=True, diff=True)
    assert diff["result"]["changed"] is True
    assert [entry["after"] for entry in diff["result"]["diff"]] == ["", ""]
    assert_cycle("berth.deploy.maintenance", {**args, "state": "disabled"}, inventory)
    assert get(host="launch.test")[0] == 404
    assert server_file("/etc/berth/proxy/dynamic/launch-web.yml") is None
    assert server_file("/etc/berth/proxy/pages/launch-web.html") is None
