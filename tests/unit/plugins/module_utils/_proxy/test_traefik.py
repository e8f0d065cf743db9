import json

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils import _yaml
from ansible_collections.berth.deploy.plugins.module_utils._proxy import Maintenance, ProxyError, Route, Target
from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import (
    TraefikFileDriver, dynamic_config, health_rule, rule_for)


def route(**overrides):
    settings = dict(name="myapp-web", targets=(Target("http://myapp-web-v2:3000"),), hosts=("app.example.com",))
    settings.update(overrides)
    return Route(**settings)


def test_rules():
    assert rule_for(route()) == "Host(`app.example.com`)"
    assert rule_for(route(hosts=("a.test", "b.test"), path_prefix="/api")) == \
        "(Host(`a.test`) || Host(`b.test`)) && PathPrefix(`/api`)"
    assert rule_for(route(hosts=(), path_prefix="/api")) == "PathPrefix(`/api`)"


def test_dynamic_config_round_trips_through_yaml():
    config = dynamic_config(route(targets=(Target("http://a:3000", 3), Target("http://b:3000", 1)),
                                  response_timeout=45, pass_host_header=False))
    assert yaml.safe_load(_yaml.dump(config, header="managed")) == config
    service = config["http"]["services"]["myapp-web"]["loadBalancer"]
    assert service["servers"] == [{"url": "http://a:3000", "weight": 3}, {"url": "http://b:3000", "weight": 1}]
    assert service["passHostHeader"] is False
    assert config["http"]["serversTransports"]["myapp-web"]["forwardingTimeouts"]["responseHeaderTimeout"] == "45s"


def test_yaml_quotes_anything_that_could_change_structure():
    tricky = {"on": "yes", "k": "a: b # c", "list": ["- x", True, None, 1.5], "empty": {}, "none": []}
    assert yaml.safe_load(_yaml.dump(tricky)) == tricky


MAINTENANCE = Maintenance(page_url="http://berth-proxy-pages:8080", health_path="/up")


def test_without_maintenance_the_route_file_is_what_it_always_was():
    config = dynamic_config(route())
    assert list(config["http"]) == ["routers", "services", "serversTransports"]
    assert config["http"]["routers"] == {"myapp-web": {"rule": "Host(`app.example.com`)", "entryPoints": ["web"],
                                                       "service": "myapp-web", "priority": 200023}}
    assert list(config["http"]["services"]) == ["myapp-web"]


def test_maintenance_sends_the_route_to_a_503_with_the_page_and_keeps_the_health_path():
    app = dynamic_config(route())["http"]
    http = dynamic_config(route(), MAINTENANCE)["http"]
    main = http["routers"]["myapp-web"]
    assert main["service"] == "myapp-web_unavailable"
    assert main["middlewares"] == ["myapp-web_page-headers", "myapp-web_page"]
    assert http["services"]["myapp-web_unavailable"] == {"loadBalancer": {"servers": []}}
    assert http["services"]["myapp-web_page"]["loadBalancer"]["servers"] == [{"url": "http://berth-proxy-pages:8080"}]
    assert http["middlewares"]["myapp-web_page"] == {"errors": {"status": ["503"], "service": "myapp-web_page",
                                                                "query": "/myapp-web.html"}}
    headers = http["middlewares"]["myapp-web_page-headers"]["headers"]
    assert headers["customRequestHeaders"]["If-None-Match"] == "" and headers["customRequestHeaders"]["Range"] == ""
    assert headers["customResponseHeaders"]["Cache-Control"] == "no-store"
    assert headers["customResponseHeaders"]["ETag"] == ""
    health = http["routers"]["myapp-web_health"]
    assert health == {"rule": "Host(`app.example.com`) && Path(`/up`)", "entryPoints": ["web"], "service": "myapp-web",
                      "priority": 200000 + len(health["rule"])}
    assert health["priority"] > main["priority"]  # the health router wins over the main one
    # the app keeps its service and timeouts, for the health path and for the way back
    assert http["services"]["myapp-web"] == app["services"]["myapp-web"]
    assert http["serversTransports"] == app["serversTransports"]


def test_health_rule_keeps_the_route_narrowing_and_drops_the_query():
    narrowed = route(hosts=("a.test", "b.test"), path_prefix="/api")
    assert health_rule(narrowed, "/api/up?full=1") == \
        "(Host(`a.test`) || Host(`b.test`)) && PathPrefix(`/api`) && Path(`/api/up`)"


def test_maintenance_without_targets_or_health_path_has_no_health_router():
    never_deployed = dynamic_config(route(targets=()), MAINTENANCE)["http"]
    assert list(never_deployed["routers"]) == ["myapp-web"]
    assert "myapp-web" not in never_deployed["services"] and "serversTransports" not in never_deployed
    no_health = dynamic_config(route(), Maintenance(page_url="http://p:8080"))["http"]
    assert list(no_health["routers"]) == ["myapp-web"]


def test_maintenance_config_round_trips_through_yaml():
    config = dynamic_config(route(), MAINTENANCE)
    assert yaml.safe_load(_yaml.dump(config, header="managed")) == config


@pytest.fixture
def driver(tmp_path):
    return TraefikFileDriver(str(tmp_path))


def test_maintenance_state_and_page_are_recorded_idempotently(driver, tmp_path):
    assert driver.maintenance("myapp-web") is None
    assert driver.set_maintenance("myapp-web", MAINTENANCE, "<p>page</p>\n", check_mode=True) is True
    assert not (tmp_path / "pages").exists() and driver.maintenance("myapp-web") is None
    assert driver.set_maintenance("myapp-web", MAINTENANCE, "<p>page</p>\n", check_mode=False) is True
    assert driver.set_maintenance("myapp-web", MAINTENANCE, "<p>page</p>\n", check_mode=False) is False
    assert driver.maintenance("myapp-web") == MAINTENANCE
    page = tmp_path / "pages" / "myapp-web.html"
    assert page.read_text() == "<p>page</p>\n" and page.stat().st_mode & 0o777 == 0o644
    assert json.loads((tmp_path / "maintenance" / "myapp-web.json").read_text()) == \
        {"health_path": "/up", "page_url": "http://berth-proxy-pages:8080"}
    assert driver.set_maintenance("myapp-web", MAINTENANCE, "<p>new message</p>\n", check_mode=False) is True
    assert driver.set_maintenance("myapp-web", None, "", check_mode=True) is True
    assert driver.maintenance("myapp-web") == MAINTENANCE
    assert driver.set_maintenance("myapp-web", None, "", check_mode=False) is True
    assert driver.maintenance("myapp-web") is None and not page.exists()
    assert driver.set_maintenance("myapp-web", None, "", check_mode=False) is False


def test_apply_renders_the_recorded_maintenance_and_remove_ends_it(driver, tmp_path):
    driver.set_maintenance("myapp-web", MAINTENANCE, "page\n", check_mode=False)
    assert driver.apply(route(), check_mode=False, maintenance=driver.maintenance("myapp-web")) is True
    assert "myapp-web_unavailable" in (tmp_path / "dynamic" / "myapp-web.yml").read_text()
    assert driver.remove("myapp-web", check_mode=False) is True
    assert driver.maintenance("myapp-web") is None and driver.current_page("myapp-web") is None
    assert not (tmp_path / "dynamic" / "myapp-web.yml").exists()


def test_a_damaged_maintenance_state_is_reported(driver, tmp_path):
    (tmp_path / "maintenance").mkdir()
    (tmp_path / "maintenance" / "myapp-web.json").write_text('{"page": 1}')
    with pytest.raises(ProxyError, match="is not a maintenance state written by berth.deploy"):
        driver.maintenance("myapp-web")


class FakeApi(TraefikFileDriver):
    """Answers API paths from a dict, shaped like Traefik 3.7's answers (references qualified with @file)."""

    def __init__(self, answers):
        super().__init__("/nonexistent")
        self.answers = answers

    def _get(self, path):
        return self.answers.get(path)


def traefik_answers(http):
    answers = {}
    for name, router in http["routers"].items():
        answers[f"/api/http/routers/{name}@file"] = {
            "rule": router["rule"], "service": router["service"], "status": "enabled",
            **({"middlewares": [f"{m}@file" for m in router["middlewares"]]} if "middlewares" in router else {}),
            **({"tls": router["tls"]} if "tls" in router else {})}
    for name, service in http["services"].items():
        servers = [{"url": server["url"], **({"weight": server["weight"]} if "weight" in server else {})}
                   for server in service["loadBalancer"]["servers"]]
        answers[f"/api/http/services/{name}@file"] = {"loadBalancer": {"servers": servers} if servers else {}}
    return answers


def test_confirm_checks_every_router_and_service_of_the_rendered_file():
    on = dynamic_config(route(), MAINTENANCE)["http"]
    off = dynamic_config(route())["http"]
    assert FakeApi(traefik_answers(on)).confirm(route(), 1, MAINTENANCE) >= 0
    assert FakeApi(traefik_answers(off)).confirm(route(), 1) >= 0
    # Traefik still serving maintenance when it should not, or not yet
    still_on = FakeApi(traefik_answers(on))
    with pytest.raises(ProxyError, match="router myapp-web still uses service 'myapp-web_unavailable'"):
        still_on.confirm(route(), 0.1)
    with pytest.raises(ProxyError, match="router myapp-web still uses service 'myapp-web'"):
        FakeApi(traefik_answers(off)).confirm(route(), 0.1, MAINTENANCE)
    no_health = traefik_answers(on)
    del no_health["/api/http/routers/myapp-web_health@file"]
    with pytest.raises(ProxyError, match="router myapp-web_health@file not loaded"):
        FakeApi(no_health).confirm(route(), 0.1, MAINTENANCE)
    health_left = FakeApi({**traefik_answers(off), "/api/http/routers/myapp-web_health@file": {"status": "enabled"}})
    with pytest.raises(ProxyError, match="router myapp-web_health@file is still loaded"):
        health_left.confirm(route(), 0.1)
    no_middlewares = traefik_answers(on)
    del no_middlewares["/api/http/routers/myapp-web@file"]["middlewares"]
    with pytest.raises(ProxyError, match="router myapp-web has middlewares"):
        FakeApi(no_middlewares).confirm(route(), 0.1, MAINTENANCE)
