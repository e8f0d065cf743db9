"""The Rails path end to end on a fresh server, with a real Rails 6.1 app (Debian's ruby-rails, Puma,
ruby-pg, ruby-redis; tests/testbed/rails): Postgres and Redis accessories, a migration per deploy,
a signed-cookie session across deploys, zero failed requests while v2 and its migration roll out."""
from __future__ import annotations

import http.client
import json
import time
import urllib.parse

import pytest

from tests.integration.conftest import POSTGRES_IMAGE, RAILS_IMAGE, REDIS_IMAGE, TRAEFIK_IMAGE, on_server, throwaway_server, write_server_inventory
from tests.support.ansible_run import REPO, run_playbook
from tests.support.load import KeepAliveLoad

pytestmark = pytest.mark.slow
SERVER = "berth-rails1"
ADDRESS = "127.0.0.91"
HOST = "shop.test"
PG_PASSWORD = "shop-db-password-5151"
REDIS_PASSWORD = "shop-redis-password-5252"
SECRET_KEY_BASE = "f" * 64 + "rails-e2e-secret-key-base"
PLAYBOOKS = REPO / "playbooks"


@pytest.fixture(scope="module")
def server(testbed, ssh_key):
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, server, ssh_key):
    return write_server_inventory(tmp_path_factory.mktemp("rails-inventory"), {"rails1": ADDRESS}, ssh_key, {
        "berth_service": "shop",
        "berth_host_bootstrap": False,  # the test-bed server already has Docker
        "berth_image": RAILS_IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {"web": {"proxy": {"host": HOST, "app_port": 3000,
                                          "healthcheck": {"path": "/up", "interval": 0.5, "timeout": 2}}}},
        "berth_env": {
            "clear": {"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "1", "WEB_CONCURRENCY": 0,
                      "RAILS_MAX_THREADS": 5},
            "secret": {"SECRET_KEY_BASE": SECRET_KEY_BASE,
                       "DATABASE_URL": f"postgres://shop:{PG_PASSWORD}@shop-db:5432/shop",
                       "REDIS_URL": f"redis://:{REDIS_PASSWORD}@shop-redis:6379/0"}},
        "berth_postgres": {"image": f"{POSTGRES_IMAGE}:15", "password": PG_PASSWORD, "max_connections": 30},
        "berth_redis": {"image": REDIS_IMAGE, "password": REDIS_PASSWORD},
        "berth_migrate": {"cmd": "bin/rails db:migrate", "timeout": 300},
        "berth_deploy_timeout": 60, "berth_drain_timeout": 10,
    })


def playbook(name, inventory, extra_vars=None, version=""):
    return run_playbook(PLAYBOOKS / name, inventory, extra_vars=extra_vars, env={"BERTH_VERSION": version})


class Client:
    """One browser: a keep-alive connection through the proxy and its session cookie."""

    def __init__(self) -> None:
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(ADDRESS, 80, timeout=10)
        headers = {"Host": HOST}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            set_cookie = response.getheader("Set-Cookie")
            if set_cookie:
                self.cookie = set_cookie.split(";", 1)[0]
            return response.status, text
        finally:
            connection.close()


def psql(query: str) -> str:
    return on_server(SERVER, "docker", "exec", "shop-db", "psql", "-U", "shop", "-d", "shop", "-tAc", query).strip()


def test_the_connection_math_refuses_a_pool_that_does_not_fit_before_touching_the_server(inventory):
    # 12 Puma threads per container, x1 host, +12 for the deploy overlap, +5 headroom = 29 > 30 - 3
    run = playbook("setup.yml", inventory, {"berth_env": {
        "clear": {"RAILS_ENV": "production", "RAILS_MAX_THREADS": 12},
        "secret": {"SECRET_KEY_BASE": SECRET_KEY_BASE}}})
    assert run.rc != 0
    assert "steady 12 + old and new containers of one deploy batch 12 + headroom 5 = 29 > 27" in run.stdout
    assert on_server(SERVER, "docker", "ps", "-aq").strip() == ""


def test_setup_and_first_deploy_with_migration(inventory):
    run = playbook("setup.yml", inventory)
    assert run.rc == 0, run.stdout
    run = playbook("deploy.yml", inventory, version="v1")
    assert run.rc == 0, run.stdout
    assert "CreateNotes: migrated" in run.stdout or "create_table(:notes)" in run.stdout
    status, body = Client().request("GET", "/")
    assert status == 200 and body.startswith("version=v1 "), body
    for secret in (PG_PASSWORD, REDIS_PASSWORD, SECRET_KEY_BASE):
        assert secret not in run.stdout


def test_v2_with_its_migration_under_load_keeps_the_session_and_the_data(inventory):
    browser = Client()
    assert browser.request("POST", "/login", {"name": "ada"})[0] == 200
    assert browser.request("GET", "/me") == (200, "user=ada")
    assert browser.request("POST", "/notes", {"body": "written by v1"})[0] == 201
    assert browser.request("GET", "/count")[0] == 200
    with KeepAliveLoad(ADDRESS, 80, HOST, path="/", clients=4, max_seconds=300) as pages, \
            KeepAliveLoad(ADDRESS, 80, HOST, path="/notes", clients=2, max_seconds=300,
                          body_key=lambda body: "notes") as notes:
        time.sleep(1)
        run = playbook("deploy.yml", inventory, version="v2")
        time.sleep(1)
    assert run.rc == 0, run.stdout
    assert "AddAuthorToNotes: migrated" in run.stdout or "add_column(:notes, :author" in run.stdout
    print("pages:", pages.report.summary(), "\nnotes:", notes.report.summary())
    assert pages.report.failed == 0, pages.report.summary()
    assert notes.report.failed == 0, notes.report.summary()
    assert {"version=v1", "version=v2"} <= set(pages.report.bodies)
    assert browser.request("GET", "/")[1].startswith("version=v2 ")
    assert browser.request("GET", "/me") == (200, "user=ada"), "the v1 session cookie must still log in on v2"
    status, body = browser.request("GET", "/notes")
    assert status == 200 and "written by v1" in body
    assert "author" in psql("select column_name from information_schema.columns where table_name = 'notes'")
    assert int(browser.request("GET", "/count")[1]) >= 2  # Redis kept its counter


def test_restarting_postgres_keeps_the_data(inventory):
    run = playbook("accessory.yml", inventory, {"accessory_action": "reboot", "accessory": "db"})
    assert run.rc == 0, run.stdout
    browser = Client()
    deadline = time.monotonic() + 30
    while True:  # Rails reconnects on the next request after the database came back
        status, body = browser.request("GET", "/notes")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200 and "written by v1" in body
    assert json.loads(on_server(SERVER, "docker", "inspect", "-f", "{{json .State.Health.Status}}", "shop-db")) == "healthy"
