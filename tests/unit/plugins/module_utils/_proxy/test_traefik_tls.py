"""HTTPS routes in Traefik's file provider: ACME or own certificates, redirect, HSTS, with maintenance mode."""
import os

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils import _yaml
from ansible_collections.berth.deploy.plugins.module_utils._proxy import (
    TLS, Hsts, Maintenance, ProxyError, Route, Target, tls_of, with_certificate)
from ansible_collections.berth.deploy.plugins.module_utils._proxy.traefik import TraefikFileDriver, dynamic_config

from .test_traefik import FakeApi, traefik_answers

ACME = TLS(resolver="berth", health_path="/up")
MAINTENANCE = Maintenance(page_url="http://berth-proxy-pages:8080", health_path="/up")


def route(**overrides):
    settings = dict(name="myapp-web", targets=(Target("http://myapp-web-v2:3000"),), hosts=("app.example.com",), tls=ACME)
    settings.update(overrides)
    return Route(**settings)


def test_tls_of_the_plan():
    assert tls_of(None) is None and tls_of({"mode": "off", "redirect": True, "hsts": None}) is None
    assert tls_of({"mode": "acme", "redirect": True, "hsts": None}, "/up") == ACME
    assert tls_of({"mode": "certificate", "redirect": False, "hsts": {"max_age": 60, "include_subdomains": True,
                                                                      "preload": False}}) == \
        TLS(redirect=False, hsts=Hsts(60, True, False))


def test_acme_route_serves_https_and_redirects_plain_http_but_the_health_path():
    http = dynamic_config(route())["http"]
    assert http["routers"]["myapp-web"] == {"rule": "Host(`app.example.com`)", "entryPoints": ["websecure"],
                                            "service": "myapp-web", "tls": {"certResolver": "berth"}, "priority": 200023}
    assert http["routers"]["myapp-web_http"] == {"rule": "Host(`app.example.com`)", "entryPoints": ["web"],
                                                 "service": "noop@internal", "middlewares": ["myapp-web_https-redirect"],
                                                 "priority": 200023}
    assert http["routers"]["myapp-web_http-health"] == {
        "rule": "Host(`app.example.com`) && Path(`/up`)", "entryPoints": ["web"], "service": "myapp-web", "priority": 200038}
    assert http["middlewares"] == {"myapp-web_https-redirect": {"redirectScheme": {"scheme": "https", "permanent": True}}}
    config = dynamic_config(route())
    assert yaml.safe_load(_yaml.dump(config, header="x")) == config and "tls" not in config


def test_without_redirect_plain_http_serves_too_and_hsts_goes_on_https_only():
    http = dynamic_config(route(tls=TLS(resolver="berth", redirect=False, hsts=Hsts(600, True, True))))["http"]
    assert http["routers"]["myapp-web_http"] == {"rule": "Host(`app.example.com`)", "entryPoints": ["web"],
                                                 "service": "myapp-web", "priority": 200023}
    assert http["routers"]["myapp-web"]["middlewares"] == ["myapp-web_hsts"]
    assert http["middlewares"] == {"myapp-web_hsts": {"headers": {"stsSeconds": 600, "stsIncludeSubdomains": True,
                                                                  "stsPreload": True}}}


def test_own_certificate_is_referenced_from_the_routes_file():
    config = dynamic_config(route(tls=TLS(certificate="myapp-web-0123456789ab")))
    assert config["tls"] == {"certificates": [{"certFile": "/etc/traefik/certs/myapp-web-0123456789ab.crt",
                                               "keyFile": "/etc/traefik/certs/myapp-web-0123456789ab.key"}]}
    assert config["http"]["routers"]["myapp-web"]["tls"] == {}


def test_maintenance_covers_every_router_that_serves_the_app_and_keeps_tls_on_the_health_router():
    http = dynamic_config(route(tls=TLS(resolver="berth", redirect=False, hsts=Hsts())), MAINTENANCE)["http"]
    for name in ("myapp-web", "myapp-web_http"):
        assert http["routers"][name]["service"] == "myapp-web_unavailable"
        assert http["routers"][name]["middlewares"][-2:] == ["myapp-web_page-headers", "myapp-web_page"]
    assert http["routers"]["myapp-web"]["middlewares"][0] == "myapp-web_hsts"
    assert http["routers"]["myapp-web_health"]["tls"] == {"certResolver": "berth"}
    assert http["routers"]["myapp-web_http-health"]["entryPoints"] == ["web"]
    assert {"myapp-web_hsts", "myapp-web_page", "myapp-web_page-headers"} <= set(http["middlewares"])


def test_confirm_checks_tls_and_that_the_redirect_routers_left_with_tls():
    https = dynamic_config(route())["http"]
    assert FakeApi(traefik_answers(https)).confirm(route(), 1) >= 0
    no_resolver = traefik_answers(https)
    del no_resolver["/api/http/routers/myapp-web@file"]["tls"]
    with pytest.raises(ProxyError, match="has TLS None, expected"):
        FakeApi(no_resolver).confirm(route(), 0.1)
    plain = route(tls=None)
    left = {**traefik_answers(dynamic_config(plain)["http"]),
            "/api/http/routers/myapp-web_http@file": {"status": "enabled"}}
    with pytest.raises(ProxyError, match="router myapp-web_http@file is still loaded"):
        FakeApi(left).confirm(plain, 0.1)


def test_own_certificates_are_private_change_their_stem_and_the_old_ones_go(tmp_path):
    driver = TraefikFileDriver(str(tmp_path))
    stem, changed = driver.install_certificate("myapp-web", "CERT-1", "KEY-1", check_mode=True)
    assert changed and not (tmp_path / "certs").exists()
    stem, changed = driver.install_certificate("myapp-web", "CERT-1", "KEY-1", check_mode=False)
    assert changed and stem.startswith("myapp-web-") and len(stem) == len("myapp-web-") + 12
    key = tmp_path / "certs" / f"{stem}.key"
    assert key.read_text() == "KEY-1\n" and os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "certs").st_mode & 0o777 == 0o700
    assert driver.install_certificate("myapp-web", "CERT-1", "KEY-1", check_mode=False) == (stem, False)
    driver.install_certificate("myapp-web-staging", "CERT-S", "KEY-S", check_mode=False)
    second, _changed = driver.install_certificate("myapp-web", "CERT-2", "KEY-2", check_mode=False)
    assert second != stem and set(driver.installed_certificates("myapp-web")) == {stem, second}
    assert driver.remove_certificates("myapp-web", second, check_mode=False)
    assert driver.installed_certificates("myapp-web") == [second]
    assert len(driver.installed_certificates("myapp-web-staging")) == 1  # another route's stays


def test_with_certificate_installs_or_reuses_and_says_when_there_is_none(tmp_path):
    driver = TraefikFileDriver(str(tmp_path))
    own = route(tls=TLS())
    with pytest.raises(ProxyError, match="none was given"):
        with_certificate(driver, own, None, check_mode=False)
    installed = with_certificate(driver, own, ("CERT", "KEY"), check_mode=False)
    assert installed.tls.certificate.startswith("myapp-web-")
    assert with_certificate(driver, own, None, check_mode=False) == installed
    assert with_certificate(driver, route(), None, check_mode=False) == route()


def test_claims_read_from_route_files_of_other_services(tmp_path):
    driver = TraefikFileDriver(str(tmp_path))
    blog = Route("blog-web", (Target("http://blog:3000"),), hosts=("blog.test", "Shop.test"), tls=ACME)
    driver.apply(blog, check_mode=False, maintenance=MAINTENANCE)
    (tmp_path / "dynamic" / "berth_api.yml").write_text("http: {routers: {a: {rule: 'PathPrefix(`/`)'}}}\n")
    (tmp_path / "dynamic" / "hand.yaml").write_text("http:\n  routers:\n    x:\n      rule: Host(`docs.test`) && PathPrefix(`/v1`)\n")
    shop = Route("shop-web", (), hosts=("shop.test",))
    assert driver.claimed_elsewhere(shop) == {"blog-web.yml": ["shop.test/"]}
    assert driver.claimed_elsewhere(Route("shop-web", (), hosts=("shop.test",), path_prefix="/api")) == {}
    assert driver.claimed_elsewhere(Route("docs-web", (), hosts=("docs.test",), path_prefix="/v1")) == \
        {"hand.yaml": ["docs.test/v1"]}
    assert driver.claimed_elsewhere(blog) == {}  # its own file


def test_canary_state_is_recorded_idempotently_and_a_damaged_one_is_reported(tmp_path):
    from ansible_collections.berth.deploy.plugins.module_utils._proxy import Canary

    driver = TraefikFileDriver(str(tmp_path))
    canary = Canary("v3", 10, "shop-web-v3-ab", ("shop-web-v2-cd",))
    assert driver.canary("shop-web") is None
    assert driver.set_canary("shop-web", canary, check_mode=True) and driver.canary("shop-web") is None
    assert driver.set_canary("shop-web", canary, check_mode=False)
    assert not driver.set_canary("shop-web", canary, check_mode=False) and driver.canary("shop-web") == canary
    (tmp_path / "canary" / "shop-web.json").write_text('{"version": "v3"}')
    with pytest.raises(ProxyError, match="is not a canary state written by berth.deploy .* abort the canary"):
        driver.canary("shop-web")
    assert driver.set_canary("shop-web", None, check_mode=False) and driver.canary("shop-web") is None


def test_a_longer_prefix_wins_over_a_longer_rule_and_wildcards_match():
    web = Route("shop-web", (Target("http://w:3000"),), hosts=("shop.example.com", "www.shop.example.com"))
    api = Route("shop-api", (Target("http://a:3000"),), hosts=("shop.example.com",), path_prefix="/api")
    web_router, api_router = (dynamic_config(item)["http"]["routers"][item.name] for item in (web, api))
    assert len(web_router["rule"]) > len(api_router["rule"]) and api_router["priority"] > web_router["priority"]
    wildcard = Route("shop-web", (Target("http://w:3000"),), hosts=("*.shop.example.com", "shop.example.com"), tls=ACME)
    router = dynamic_config(wildcard)["http"]["routers"]["shop-web"]
    assert router["rule"] == r"(HostRegexp(`(?i)^[^.]+\.shop\.example\.com$`) || Host(`shop.example.com`))"
    assert router["tls"]["domains"] == [{"main": "*.shop.example.com"}, {"main": "shop.example.com"}]


def test_named_hosts_win_over_a_wildcard_and_a_wildcard_over_any_host():
    named = Route("shop-web", (Target("http://w:3000"),), hosts=("a.example.com",))
    wildcard = Route("tenants-web", (Target("http://t:3000"),), hosts=("*.example.com",))
    anyhost = Route("catchall-web", (Target("http://c:3000"),), path_prefix="/")
    named_api = Route("shop-api", (Target("http://a:3000"),), hosts=("a.example.com",), path_prefix="/api")
    wildcard_api = Route("tenants-api", (Target("http://t:3000"),), hosts=("*.example.com",), path_prefix="/api")
    ranks = [dynamic_config(item)["http"]["routers"][item.name]["priority"]
             for item in (named_api, wildcard_api, named, wildcard, anyhost)]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)


def test_a_wildcard_route_in_another_file_is_a_claim(tmp_path):
    driver = TraefikFileDriver(str(tmp_path))
    tenants = Route("tenants-web", (Target("http://t:3000"),), hosts=("*.my-shop.example.com",))
    driver.apply(tenants, check_mode=False)
    other = Route("other-web", (Target("http://o:3000"),), hosts=("*.MY-shop.example.com", "x.test"))
    assert driver.claimed_elsewhere(other) == {"tenants-web.yml": ["*.my-shop.example.com/"]}
    assert driver.claimed_elsewhere(Route("one-web", (), hosts=("a.my-shop.example.com",))) == {}  # named wins


def test_a_route_is_not_written_over_a_claim_made_since_the_release_checked(tmp_path):
    driver = TraefikFileDriver(str(tmp_path))
    blog = Route("blog-web", (Target("http://b:3000"),), hosts=("shared.test",))
    shop = Route("shop-web", (Target("http://s:3000"),), hosts=("shared.test",))
    assert driver.claimed_elsewhere(shop) == {}  # the release's check, before anything changes
    driver.apply(blog, check_mode=False)  # another service's release, meanwhile
    for check_mode in (True, False):
        with pytest.raises(ProxyError, match=r"blog-web.yml routes shared.test/"):
            driver.apply(shop, check_mode=check_mode)
    assert not os.path.exists(driver.path("shop-web"))


def test_the_certificate_the_route_serves_comes_first_not_one_a_failed_switch_left(tmp_path):
    driver = TraefikFileDriver(str(tmp_path))
    serving = with_certificate(driver, route(tls=TLS()), ("CERT-1", "KEY-1"), check_mode=False)
    driver.apply(serving, check_mode=False)
    driver.install_certificate("myapp-web", "CERT-2", "KEY-2", check_mode=False)  # its switch was not confirmed
    assert driver.installed_certificates("myapp-web")[0] == serving.tls.certificate
    assert with_certificate(driver, route(tls=TLS()), None, check_mode=False) == serving


def test_the_redirect_points_at_the_hosts_https_port():
    assert tls_of({"mode": "acme", "redirect": True, "hsts": None, "port": 8443}).port == 8443
    http = dynamic_config(route(tls=TLS(resolver="berth", port=8443)))["http"]
    assert http["middlewares"]["myapp-web_https-redirect"] == {"redirectScheme": {"scheme": "https", "permanent": True,
                                                                                  "port": "8443"}}
