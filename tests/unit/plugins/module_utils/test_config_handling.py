"""berth_roles.<role>.proxy path_prefixes, strip_path_prefix and buffering, and how Traefik renders them."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan
from ansible_collections.berth.deploy.plugins.module_utils._proxy import Buffering, Route, Target, handling_of
from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import dynamic_config

BASE = {"berth_service": "myapp", "berth_image": "registry.example.com/acme/myapp", "berth_version": "v1"}


def plan_proxy(**route):
    return build_plan({**BASE, "berth_roles": {"web": {"proxy": {"app_port": 3000, **route}}}})["roles"]["web"]["proxy"]


def problems_of(**route):
    with pytest.raises(ConfigError) as caught:
        build_plan({**BASE, "berth_roles": {"web": {"proxy": {"app_port": 3000, **route}}}})
    return caught.value.problems


def test_defaults_change_nothing():
    proxy = plan_proxy(host="app.test")
    assert proxy["path_prefix"] == "/"
    assert proxy["handling"] == {"path_prefixes": [], "strip_path_prefix": False, "buffering": None, "error_pages": None}


def test_several_prefixes_stripped_and_buffering_with_limits():
    proxy = plan_proxy(host="app.test", path_prefix="/api", path_prefixes=["/v2", "/api"], strip_path_prefix=True,
                       buffering={"requests": True, "max_request_body": 1000000})
    assert proxy["path_prefix"] == "/api"
    assert proxy["handling"] == {"path_prefixes": ["/v2"], "strip_path_prefix": True,
                                 "buffering": {"max_request_body": 1000000, "max_response_body": 0}, "error_pages": None}
    assert plan_proxy(path_prefixes=["/docs"])["path_prefix"] == "/docs"  # a prefix is enough without a host


@pytest.mark.parametrize("route, expected", [
    ({"host": "app.test", "strip_path_prefix": True}, "strip_path_prefix: needs path_prefix"),
    ({"host": "app.test", "path_prefixes": ["api"]}, "path_prefixes: 'api' is not allowed (a URL path starting with /)"),
    ({"host": "app.test", "buffering": {"max_response_body": 10}}, "max_response_body: needs responses: true"),
    ({"host": "app.test", "buffering": {"requests": True, "max_request_body": -1}}, "max_request_body: -1 is not bytes"),
    ({"host": "app.test", "buffering": {"stream": True}}, "buffering.stream: unknown key"),
])
def test_bad_handling_is_named(route, expected):
    assert any(expected in problem for problem in problems_of(**route)), problems_of(**route)


def test_two_roles_on_one_host_may_split_it_by_prefix_but_not_share_one():
    roles = {"web": {"proxy": {"host": "app.test", "app_port": 3000}},
             "api": {"proxy": {"host": "app.test", "path_prefixes": ["/api", "/v2"], "app_port": 3000}},
             "v2": {"proxy": {"host": "app.test", "path_prefix": "/v2", "app_port": 3000}}}
    with pytest.raises(ConfigError) as caught:
        build_plan({**BASE, "berth_roles": roles})
    assert caught.value.problems == ["berth_roles.v2.proxy: takes the requests of berth_roles.api.proxy (app.test/v2); "
                                     "give it other hosts or a path_prefix of its own"]


def test_traefik_strips_the_prefixes_and_buffers_on_every_router_that_reaches_the_app():
    settings = {"path_prefixes": ["/v2"], "strip_path_prefix": True,
                "buffering": {"max_request_body": 10, "max_response_body": 0}}
    route = Route("myapp-api", (Target("http://a:3000"),), hosts=("app.test",), path_prefix="/api", **handling_of(settings))
    assert route.buffering == Buffering(10, 0)
    http = dynamic_config(route)["http"]
    assert http["routers"]["myapp-api"]["rule"] == "Host(`app.test`) && (PathPrefix(`/api`) || PathPrefix(`/v2`))"
    assert http["routers"]["myapp-api"]["middlewares"] == ["myapp-api_strip-prefix", "myapp-api_buffering"]
    assert http["middlewares"] == {"myapp-api_strip-prefix": {"stripPrefix": {"prefixes": ["/api", "/v2"]}},
                                   "myapp-api_buffering": {"buffering": {"maxRequestBodyBytes": 10,
                                                                         "maxResponseBodyBytes": 0}}}
    assert "middlewares" not in dynamic_config(Route("myapp-api", (Target("http://a:3000"),), hosts=("app.test",)))["http"]


def test_error_pages_from_a_controller_directory_served_by_the_page_server(tmp_path):
    (tmp_path / "502.html").write_text("<h1>down</h1>")
    (tmp_path / "503.html").write_text("<h1>busy</h1>")
    (tmp_path / "notes.txt").write_text("x")
    pages = plan_proxy(host="app.test", error_pages=str(tmp_path))["handling"]["error_pages"]
    assert pages == {"dir": str(tmp_path), "codes": [502, 503], "url": "http://berth-proxy-pages:8080",
                     "pages": {"502": "<h1>down</h1>", "503": "<h1>busy</h1>"}}
    (tmp_path / "504.html").write_bytes(b"\xff\xfe<h1>")
    assert "504.html' cannot be read as UTF-8 text" in problems_of(host="app.test", error_pages=str(tmp_path))[0]
    (tmp_path / "504.html").write_text("x" * (256 * 1024 + 1))
    assert "is larger than 256 KiB" in problems_of(host="app.test", error_pages=str(tmp_path))[0]
    (tmp_path / "504.html").unlink()
    assert "is not a directory on the controller" in problems_of(host="app.test", error_pages=str(tmp_path / "x"))[0]
    (tmp_path / "empty").mkdir()
    assert "holds no page named like 502.html" in problems_of(host="app.test", error_pages=str(tmp_path / "empty"))[0]
    assert "an absolute directory on the controller" in problems_of(host="app.test", error_pages="errors")[0]


def test_the_pages_are_written_with_the_route_and_go_with_it(tmp_path):
    from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import TraefikFileDriver

    driver = TraefikFileDriver(str(tmp_path))
    settings = {"error_pages": {"codes": [502, 503], "url": "http://berth-proxy-pages:8080",
                                "pages": {"502": "<h1>down</h1>", "503": "<h1>busy</h1>"}}}
    route = Route("myapp-web", (Target("http://a:3000"),), hosts=("app.test",), **handling_of(settings))
    assert driver.apply(route, check_mode=True) and not (tmp_path / "pages").exists()
    assert driver.apply(route, check_mode=False) and not driver.apply(route, check_mode=False)
    assert sorted(path.name for path in (tmp_path / "pages" / "myapp-web").iterdir()) == ["502.html", "503.html"]
    assert (tmp_path / "pages" / "myapp-web" / "502.html").stat().st_mode & 0o777 == 0o644
    settings["error_pages"]["pages"] = {"502": "<h1>back soon</h1>"}
    settings["error_pages"]["codes"] = [502]
    assert driver.apply(Route("myapp-web", route.targets, hosts=("app.test",), **handling_of(settings)), False)
    assert [path.read_text() for path in (tmp_path / "pages" / "myapp-web").iterdir()] == ["<h1>back soon</h1>"]
    assert driver.remove("myapp-web", check_mode=False) and not list((tmp_path / "pages" / "myapp-web").iterdir())


def test_traefik_replaces_error_bodies_but_not_the_maintenance_page():
    from ansible_collections.berth.deploy.plugins.module_utils._proxy import Maintenance

    settings = {"error_pages": {"codes": [502, 503], "url": "http://berth-proxy-pages:8080"}}
    route = Route("myapp-web", (Target("http://a:3000"),), hosts=("app.test",), **handling_of(settings))
    http = dynamic_config(route)["http"]
    assert http["routers"]["myapp-web"]["middlewares"] == ["myapp-web_error-pages"]
    assert http["middlewares"]["myapp-web_error-pages"] == {"errors": {
        "status": ["502", "503"], "service": "myapp-web_error-pages", "query": "/myapp-web/{status}.html"}}
    assert http["services"]["myapp-web_error-pages"]["loadBalancer"]["servers"] == [{"url": "http://berth-proxy-pages:8080"}]
    maintenance = dynamic_config(route, Maintenance(page_url="http://berth-proxy-pages:8080", health_path="/up"))["http"]
    assert maintenance["routers"]["myapp-web"]["middlewares"] == ["myapp-web_page-headers", "myapp-web_page"]
    assert maintenance["routers"]["myapp-web_health"]["middlewares"] == ["myapp-web_error-pages"]
