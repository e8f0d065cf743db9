"""proxy_route against a real Traefik: check -> real -> check -> real, weights, confirmation, restore."""
from __future__ import annotations

import collections
import http.client
import time
from pathlib import Path

from tests.integration.conftest import APP_IMAGE
from tests.integration.test_modules import assert_cycle
from tests.support.ansible_run import run_module


def backends(engine, unique, cleanup, network, versions):
    names = []
    for version in versions:
        name = f"{unique}-{version}"
        cleanup.append(name)
        engine.images.pull(APP_IMAGE, tag=version)
        engine.containers.run(f"{APP_IMAGE}:{version}", name=name, detach=True, network=network)
        names.append(name)
    return names


def answers(port, host, count):
    seen = collections.Counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for _request in range(count):
        connection.request("GET", "/", headers={"Host": host})
        response = connection.getresponse()
        body = response.read().decode()
        seen[body.split()[0] if response.status == 200 else response.status] += 1
    return seen


def route_args(proxy, name, host, targets, **extra):
    args = {"name": name, "hosts": [host], "targets": targets, "config_dir": proxy["config_dir"],
            "api_url": proxy["api_url"], "drain_settle": 0}
    args.update(extra)
    return args


def test_route_cycle_and_switch(engine, local_inventory, local_proxy, unique, cleanup):
    one, two = backends(engine, unique, cleanup, local_proxy["network"], ["v1", "v2"])
    host = f"{unique}.test"
    args = route_args(local_proxy, unique, host, [{"container": one, "port": 3000}])
    result = assert_cycle("berth.deploy.proxy_route", args, local_inventory)
    assert result["previous_targets"] == [] and result["targets"] == [f"http://{one}:3000"]
    assert result["confirm_seconds"] < 5
    assert answers(local_proxy["http_port"], host, 5) == {"version=v1": 5}
    switch = run_module("berth.deploy.proxy_route", route_args(local_proxy, unique, host,
                                                               [{"container": two, "port": 3000}]), local_inventory)
    assert switch["status"] == "ok", switch
    assert switch["result"]["removed_targets"] == [f"http://{one}:3000"]
    assert answers(local_proxy["http_port"], host, 5) == {"version=v2": 5}
    file = Path(local_proxy["config_dir"]) / "dynamic" / f"{unique}.yml"
    assert file.stat().st_mode & 0o777 == 0o644
    assert not [path for path in file.parent.iterdir() if path.name.endswith(".tmp")]
    assert_cycle("berth.deploy.proxy_route", {**args, "state": "absent"}, local_inventory)
    assert answers(local_proxy["http_port"], host, 1) == {404: 1}


def test_weights_split_traffic(engine, local_inventory, local_proxy, unique, cleanup):
    one, two = backends(engine, unique, cleanup, local_proxy["network"], ["v3", "v4"])
    host = f"{unique}.test"
    targets = [{"container": one, "port": 3000, "weight": 3}, {"container": two, "port": 3000, "weight": 1}]
    result = run_module("berth.deploy.proxy_route", route_args(local_proxy, unique, host, targets), local_inventory)
    assert result["status"] == "ok", result
    seen = answers(local_proxy["http_port"], host, 40)
    assert seen == {"version=v3": 30, "version=v4": 10}
    run_module("berth.deploy.proxy_route", route_args(local_proxy, unique, host, targets, state="absent"),
               local_inventory)


def test_unconfirmed_switch_puts_the_previous_route_back(engine, local_inventory, local_proxy, unique, cleanup):
    one, = backends(engine, unique, cleanup, local_proxy["network"], ["v5"])
    host = f"{unique}.test"
    good = route_args(local_proxy, unique, host, [{"container": one, "port": 3000}])
    assert run_module("berth.deploy.proxy_route", good, local_inventory)["status"] == "ok"
    file = Path(local_proxy["config_dir"]) / "dynamic" / f"{unique}.yml"
    before = file.read_text()
    unconfirmed = {**good, "targets": [{"container": "nowhere", "port": 3000}],
                   "api_url": "http://127.0.0.1:9", "confirm_timeout": 1}
    result = run_module("berth.deploy.proxy_route", unconfirmed, local_inventory)
    assert result["status"] == "failed"
    assert "did not confirm" in result["result"]["msg"] and "previous route configuration was put back" in \
        result["result"]["msg"]
    assert file.read_text() == before
    # the API is unreachable on purpose, so nobody can confirm the restore: Traefik reloads it within ~0.3 s
    deadline = time.monotonic() + 5
    while answers(local_proxy["http_port"], host, 1) != {"version=v5": 1} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answers(local_proxy["http_port"], host, 3) == {"version=v5": 3}
    run_module("berth.deploy.proxy_route", {**good, "state": "absent"}, local_inventory)


def test_empty_targets_are_refused(local_inventory, local_proxy, unique):
    result = run_module("berth.deploy.proxy_route", route_args(local_proxy, unique, "x.test", []), local_inventory)
    assert result["status"] == "failed" and "targets is empty" in result["result"]["msg"]


def api_status_from_a_container(engine, network: str, proxy: str, path: str = "/api/http/routers") -> str:
    """The status line the proxy's API port (8080 on the network) gives a container on the deploy network."""
    request = f"printf 'GET {path} HTTP/1.0\\r\\nHost: {proxy}\\r\\n\\r\\n' | nc -w 3 {proxy} 8080 | head -n 1"
    output = engine.containers.run(f"{APP_IMAGE}:v1", ["-c", request], entrypoint="sh", network=network, remove=True)
    return output.decode().strip()


def test_app_containers_cannot_read_the_proxy_api(engine, local_inventory, local_proxy, unique, cleanup):
    """Issue 12, item 5: the API answers the host (127.0.0.1:api_port) but not containers on the shared network."""
    status = api_status_from_a_container(engine, local_proxy["network"], "berth-local-proxy")
    assert status.startswith("HTTP/1.") and " 403 " in status, status
    connection = http.client.HTTPConnection("127.0.0.1", local_proxy["api_port"], timeout=5)
    connection.request("GET", "/api/http/routers")
    assert connection.getresponse().status == 200
    # and a switch is still confirmed through the API
    one, = backends(engine, unique, cleanup, local_proxy["network"], ["v6"])
    route = route_args(local_proxy, unique, f"{unique}.test", [{"container": one, "port": 3000}])
    switched = run_module("berth.deploy.proxy_route", route, local_inventory)
    assert switched["status"] == "ok" and switched["result"]["confirm_seconds"] < 5, switched
    run_module("berth.deploy.proxy_route", {**route, "state": "absent"}, local_inventory)
