"""The proxy's shared settings: what a setup may not change while other services' routes are on the proxy."""
from __future__ import annotations

import json

from ansible_collections.berth.deploy.plugins.module_utils._config import build_plan
from ansible_collections.berth.deploy.plugins.module_utils._proxy.host import (SETTINGS_LABEL, conflict, differences,
                                                                               label_value, settings_of)


def plan(proxy=None, ssl=False, **extra):
    variables = {"berth_service": "shop", "berth_image": "registry.test/shop", "berth_version": "v1",
                 "berth_roles": {"web": {"proxy": {"host": "shop.test", "ssl": ssl}}}, **extra}
    if proxy is not None:
        variables["berth_proxy"] = proxy
    return build_plan(variables, group_names=["web"], groups={"web": ["srv"]}, host="srv")


DNS = {"email": "ops@example.com", "challenge": "dns-01",
       "dns": {"provider": "cloudflare", "env": {"CF_DNS_API_TOKEN": "token-that-must-not-leak"}}}


def test_the_settings_hold_the_acme_resolver_but_no_secret():
    shared = plan({"acme": DNS}, ssl=True)["proxy"]["shared"]
    assert shared["acme"] == {"email": "ops@example.com", "ca_server": "https://acme-v02.api.letsencrypt.org/directory",
                              "challenge": "dns-01", "dns_provider": "cloudflare", "dns_env_names": ["CF_DNS_API_TOKEN"]}
    assert "token-that-must-not-leak" not in label_value(shared)
    assert settings_of({SETTINGS_LABEL: label_value(shared)}) == json.loads(json.dumps(shared))


def test_a_service_without_acme_would_take_the_resolver_from_one_with_it():
    with_acme = plan({"acme": {"email": "ops@example.com"}}, ssl=True)["proxy"]["shared"]
    without = plan()["proxy"]["shared"]
    found = differences(with_acme, without)
    assert len(found) == 1 and found[0].startswith('berth_proxy.acme: {"ca_server": ') and found[0].endswith(", none here")
    message = conflict(with_acme, without, ["blog-web.yml"])
    assert message.startswith("The proxy on this host also serves blog-web.yml, and this setup would restart it")
    assert "-e berth_proxy_force=true" in message and message.endswith("Nothing was changed.")


def test_the_same_settings_or_no_other_routes_or_an_unlabelled_proxy_are_no_conflict():
    shared = plan({"access_log": True})["proxy"]["shared"]
    assert conflict(shared, plan({"access_log": True})["proxy"]["shared"], ["blog-web.yml"]) == ""
    assert conflict(shared, plan()["proxy"]["shared"], []) == ""  # only this service's routes: its own to change
    assert conflict(None, shared, ["blog-web.yml"]) == ""  # started before the label: replaced as before
    assert differences(shared, plan()["proxy"]["shared"]) == ["berth_proxy.access_log: True on the host, False here"]


def test_run_options_are_compared_by_digest_and_the_plan_names_its_routes():
    proxy = plan({"options": {"memory": "256m"}})["proxy"]
    assert proxy["shared"]["options"].startswith("sha256:") and "256m" not in label_value(proxy["shared"])
    assert proxy["routes"] == ["shop-web"] and proxy["force"] is False
    assert plan(berth_proxy_force=True)["proxy"]["force"] is True


def test_the_proxy_container_carries_its_settings_in_a_label():
    from ansible_collections.berth.deploy.plugins.module_utils._container import build_spec

    shared = plan()["proxy"]["shared"]
    spec = build_spec({"name": "berth-proxy", "image": "traefik:v3.7", "proxy_settings": shared})
    assert settings_of(spec.labels) == json.loads(json.dumps(shared))
    assert SETTINGS_LABEL not in build_spec({"name": "other", "image": "traefik:v3.7"}).labels
