"""One proxy, several services: two apps deploy at the same time under load; a host name another service
takes is refused; a canary splits new clients, keeps each on its side, and is promoted or aborted under load."""
from __future__ import annotations

import collections
import concurrent.futures
import http.client
import time
import typing as t

import pytest

from tests.integration.conftest import (APP_IMAGE, DAEMON_EXTRA, REGISTRY, TRAEFIK_IMAGE, on_server, throwaway_server,
                                        write_server_inventory)
from tests.support.ansible_run import REPO, run_playbook
from tests.support.load import KeepAliveLoad
from tests.support.websocket import WebSocket

pytestmark = pytest.mark.slow
ADDRESS = "127.0.0.62"
SERVER = "berth-srv-services"


WS_IMAGE = f"{REGISTRY}/berth-test/ws"  # a WebSocket echo app and an event stream (tests/testbed/ws)


def service_vars(service: str, host: str, pages: str = "") -> dict[str, t.Any]:
    extra = {"error_pages": pages} if service == "blog" else {}
    other_proxy = {"access_log": True} if service == "tinkerer" else {}
    return {
        "berth_service": service, "berth_image": WS_IMAGE if service == "chat" else APP_IMAGE, "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE, "pages_image": f"{APP_IMAGE}:v1", **other_proxy},  # busybox httpd serves the pages
        "berth_roles": {"web": {"proxy": {"host": host, "app_port": 3000, **extra,
                                          "healthcheck": {"path": "/up", "interval": 0.5, "timeout": 2}}}},
        "berth_deploy_timeout": 8, "berth_drain_timeout": 5, "berth_retain_containers": 3,
        "berth_host_docker_daemon_extra": DAEMON_EXTRA,
    }


@pytest.fixture(scope="module")
def services(testbed, ssh_key, tmp_path_factory) -> t.Iterator[dict[str, t.Any]]:
    """Inventories of services on one server: shop (shop.test), blog (blog.test), copycat (shop.test too),
    chat (chat.test, WebSockets and server-sent events), and tinkerer (tinker.test, another berth_proxy)."""
    pages = tmp_path_factory.mktemp("error-pages")
    (pages / "404.html").write_text("<h1>blog: no such page</h1>\n")
    (pages / "502.html").write_text("<h1>blog: back in a minute</h1>\n")
    for _attempt in throwaway_server(SERVER, ADDRESS, ssh_key):
        yield {"error_pages": pages, **{
            name: write_server_inventory(tmp_path_factory.mktemp(name), {"srv": ADDRESS}, ssh_key,
                                         service_vars(name, host, str(pages))) / "hosts.yml"
            for name, host in (("shop", "shop.test"), ("blog", "blog.test"), ("copycat", "shop.test"),
                               ("chat", "chat.test"), ("tinkerer", "tinker.test"))}}


def playbook(name: str, inventory, version: str = "", extra: dict[str, t.Any] | None = None):
    return run_playbook(REPO / "playbooks" / name, inventory, extra, env={"BERTH_VERSION": version})


def ok(run):
    assert run.rc == 0, run.stdout
    return run


def get(host: str, cookie: str = "") -> tuple[str, str]:
    """(version served, Set-Cookie) for one request on a fresh connection."""
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/", headers={"Host": host, **({"Cookie": cookie} if cookie else {})})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    assert response.status == 200, (response.status, body)
    return body.split()[0].split("=")[1], response.getheader("Set-Cookie") or ""


def test_two_services_share_the_proxy_and_deploy_at_the_same_time_under_load(services):
    ok(playbook("setup.yml", services["shop"]))
    ok(playbook("deploy.yml", services["shop"], "v1"))
    setup = ok(playbook("setup.yml", services["blog"]))
    assert setup.task("Run the proxy")["result"]["changed"] is False  # the same proxy serves both services
    ok(playbook("deploy.yml", services["blog"], "v1"))
    with KeepAliveLoad(ADDRESS, 80, "shop.test", clients=4, max_seconds=300) as shop, \
            KeepAliveLoad(ADDRESS, 80, "blog.test", clients=4, max_seconds=300) as blog, \
            concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda name: playbook("deploy.yml", services[name], "v2"), ["shop", "blog"]))
    for run in runs:
        ok(run)
    for load in (shop.report, blog.report):
        print(f"two services at once: {load.summary()}")
        assert load.failed == 0 and load.requests > 100, load.summary()
        assert {"version=v1", "version=v2"} <= set(load.bodies), load.summary()
    assert get("shop.test")[0] == "v2" and get("blog.test")[0] == "v2"


def test_error_pages_replace_the_bodies_of_the_apps_errors_only(services):
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/no/such/page", headers={"Host": "blog.test"})
    response = connection.getresponse()
    assert (response.status, response.read()) == (404, b"<h1>blog: no such page</h1>\n")
    connection.close()
    assert get("blog.test")[0] == "v2"  # a 200 stays the app's
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/no/such/page", headers={"Host": "shop.test"})  # a service without error pages
    response = connection.getresponse()
    assert response.status == 404 and response.read() == b"not found\n"
    (services["error_pages"] / "404.html").write_text("<h1>blog: moved?</h1>\n")
    ok(playbook("deploy.yml", services["blog"], "v2"))  # the same version: only the page changed
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/no/such/page", headers={"Host": "blog.test"})
    response = connection.getresponse()
    assert (response.status, response.read()) == (404, b"<h1>blog: moved?</h1>\n")


def test_a_host_another_service_takes_is_refused_before_anything_changes(services):
    routes = on_server(SERVER, "ls", "/etc/berth/proxy/dynamic").split()
    run = playbook("deploy.yml", services["copycat"], "v3")
    assert run.rc != 0
    assert "Route copycat-web would take requests another route on this proxy already takes " \
           "(shop-web.yml routes shop.test/)" in run.stdout
    assert "Nothing was changed on this host" in run.stdout
    assert on_server(SERVER, "ls", "/etc/berth/proxy/dynamic").split() == routes
    assert "copycat" not in on_server(SERVER, "docker", "ps", "-a", "--format", "{{.Names}}")
    assert get("shop.test")[0] == "v2"


def test_a_setup_that_would_change_the_proxy_others_use_is_refused_before_anything_changes(services):
    proxy = on_server(SERVER, "docker", "inspect", "-f", "{{.Id}}", "berth-proxy")
    run = playbook("setup.yml", services["tinkerer"])
    assert run.rc != 0
    assert "The proxy on this host also serves blog-web.yml, shop-web.yml" in run.stdout
    assert "berth_proxy.access_log: False on the host, True here" in run.stdout
    assert "pass -e berth_proxy_force=true to replace it anyway. Nothing was changed." in run.stdout
    assert on_server(SERVER, "docker", "inspect", "-f", "{{.Id}}", "berth-proxy") == proxy
    assert get("shop.test")[0] == "v2" and get("blog.test")[0] == "v2"


def test_a_canary_takes_its_share_keeps_clients_on_their_side_and_is_aborted_under_load(services):
    ok(playbook("canary.yml", services["shop"], "v3", {"berth_canary_percent": 10}))
    fresh = collections.Counter(get("shop.test")[0] for _attempt in range(2000))
    print(f"2,000 fresh clients: {dict(fresh)}")
    assert set(fresh) == {"v2", "v3"} and 140 <= fresh["v3"] <= 260, fresh  # 7-13% of 2,000
    for _attempt in range(200):
        version, cookie = get("shop.test")
        assert cookie.startswith("berth_shop_web=") and "HttpOnly" in cookie
        assert {get("shop.test", cookie.split(";")[0])[0] for _attempt in range(3)} == {version}
    status = ok(playbook("status.yml", services["shop"]))
    assert "shop-web" in status.stdout and "v3 10%" in status.stdout

    refused = playbook("deploy.yml", services["shop"], "v4")
    assert refused.rc != 0 and "A canary runs on this host (role web: v3 for 10% of clients)" in refused.stdout
    assert "canary_action=promote" in refused.stdout

    with KeepAliveLoad(ADDRESS, 80, "shop.test", clients=4, max_seconds=300) as load:
        ok(playbook("canary.yml", services["shop"], extra={"canary_action": "abort"}))
    print(f"abort: {load.report.summary()}")
    assert load.report.failed == 0 and load.report.requests > 50, load.report.summary()
    assert {get("shop.test")[0] for _attempt in range(50)} == {"v2"}
    assert "shop-web-v3" not in on_server(SERVER, "docker", "ps", "-a", "--format", "{{.Names}}")
    assert not on_server(SERVER, "sh", "-c", "ls /etc/berth/proxy/canary 2>/dev/null || true").split()


def test_a_promoted_canary_serves_everyone_under_load(services):
    ok(playbook("canary.yml", services["shop"], "v3", {"berth_canary_percent": 20}))
    with KeepAliveLoad(ADDRESS, 80, "shop.test", clients=4, max_seconds=300) as load:
        promoted = ok(playbook("canary.yml", services["shop"], extra={"canary_action": "promote"}))
    print(f"promote: {load.report.summary()}")
    assert load.report.failed == 0 and load.report.requests > 50, load.report.summary()
    assert {"version=v2", "version=v3"} <= set(load.report.bodies), load.report.summary()
    assert {get("shop.test")[0] for _attempt in range(50)} == {"v3"}
    assert get("shop.test")[1] == ""  # no canary: no cookie
    running = on_server(SERVER, "docker", "ps", "--format", "{{.Names}}").split()
    assert [name for name in running if name.startswith("shop-web-")][0].startswith("shop-web-v3-")
    assert len([name for name in running if name.startswith("shop-web-")]) == 1
    again = playbook("canary.yml", services["shop"], extra={"canary_action": "promote"})
    assert again.rc != 0 and "No canary runs on these hosts" in again.stdout
    assert get("blog.test")[0] == "v2"  # the other service never moved
    assert promoted.rc == 0


def exchange(socket: WebSocket, text: str) -> str:
    socket.send(text)
    return socket.receive()


def test_a_websocket_to_one_service_lives_through_another_services_deploy(services):
    ok(playbook("deploy.yml", services["chat"], "v1"))
    socket = WebSocket(ADDRESS, 80, "chat.test")
    assert exchange(socket, "before") == "version=v1 echo=before"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        deploy = pool.submit(playbook, "deploy.yml", services["blog"], "v3")
        during = []
        while not deploy.done():
            during.append(exchange(socket, f"during {len(during)}"))
            time.sleep(0.2)
    ok(deploy.result())
    assert len(during) > 5 and all(answer.startswith("version=v1 echo=during ") for answer in during)
    assert exchange(socket, "after") == "version=v1 echo=after"  # the same connection, never reconnected
    assert get("blog.test")[0] == "v3"
    socket.close()


def test_server_sent_events_stream_through_the_proxy_unbuffered():
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", "/events", headers={"Host": "chat.test"})
    response = connection.getresponse()
    started = time.monotonic()
    events = [response.readline() for _line in range(6)]  # three events, each "data: ..." and a blank line
    assert response.getheader("Content-Type") == "text/event-stream"
    assert [line for line in events if line.strip()] == [f"data: tick {tick} version=v1\n".encode() for tick in range(3)]
    assert time.monotonic() - started < 2  # each tick arrives as it is sent, not when the stream ends (4 s)
    connection.close()


def test_a_websocket_to_the_old_version_closes_only_with_its_graceful_stop(services):
    socket = WebSocket(ADDRESS, 80, "chat.test")
    assert exchange(socket, "old") == "version=v1 echo=old"
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        deploy = pool.submit(playbook, "deploy.yml", services["chat"], "v2")
        answers, closed_after = [], None
        while closed_after is None:
            try:
                answers.append(exchange(socket, "ping"))
                time.sleep(0.2)
            except (ConnectionError, OSError):
                closed_after = time.monotonic() - started
    ok(deploy.result())
    assert set(answers) == {"version=v1 echo=ping"}  # the switch moved new connections only
    fresh = WebSocket(ADDRESS, 80, "chat.test")
    assert exchange(fresh, "new") == "version=v2 echo=new"
    fresh.close()
    # kept open through the switch and the drain until docker stop's timeout (berth_drain_timeout: 5 s) ended it
    assert closed_after > 5, closed_after


def test_proxy_logs_and_restart_keep_every_route(services):
    started = on_server(SERVER, "docker", "inspect", "-f", "{{.State.StartedAt}}", "berth-proxy").strip()
    logs = playbook("proxy.yml", services["shop"], extra={"proxy_action": "logs", "proxy_lines": 20})
    assert logs.rc == 0, logs.stdout
    assert isinstance(logs.task("Show them")["result"]["msg"], list)
    restart = playbook("proxy.yml", services["shop"], extra={"proxy_action": "restart"})
    assert restart.rc == 0, restart.stdout
    assert on_server(SERVER, "docker", "inspect", "-f", "{{.State.StartedAt}}", "berth-proxy").strip() != started
    assert get("shop.test")[0] and get("blog.test")[0]  # both services' routes serve again
