"""berth_proxy.acme and berth_roles.<role>.proxy.ssl / ssl_redirect / hsts, as the plan holds them."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan
from ansible_collections.berth.deploy.plugins.module_utils._https import LETS_ENCRYPT
from tests.support.certificates import self_signed

BASE = {"berth_service": "myapp", "berth_image": "registry.example.com/acme/myapp", "berth_version": "v1"}


def variables(proxy=None, **role_proxy):
    settings = {"host": "app.example.com", "app_port": 3000, **role_proxy}
    return {**BASE, "berth_roles": {"web": {"proxy": settings}}, **({"berth_proxy": proxy} if proxy else {})}


def problems_of(given):
    with pytest.raises(ConfigError) as caught:
        build_plan(given)
    return caught.value.problems


def test_plain_http_by_default_and_no_resolver():
    plan = build_plan(variables())
    assert plan["roles"]["web"]["proxy"]["tls"] == {"mode": "off", "redirect": False, "hsts": None, "port": 443}
    assert plan["proxy"]["acme"] is None


def test_ssl_true_asks_lets_encrypt_over_http_01_and_redirects():
    plan = build_plan(variables(ssl=True))
    assert plan["roles"]["web"]["proxy"]["tls"] == {"mode": "acme", "redirect": True, "hsts": None, "port": 443}
    acme = plan["proxy"]["acme"]
    assert acme["ca_server"] == LETS_ENCRYPT and acme["challenge"] == "http-01" and acme["resolver"] == "berth"


def test_acme_settings(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    proxy = {"acme": {"email": "ops@example.com", "ca_server": "https://acme.internal:14000/dir",
                      "ca_certificate": str(ca), "challenge": "tls-alpn-01"}}
    plan = build_plan(variables(proxy, ssl=True, ssl_redirect=False, hsts={"max_age": 600, "preload": True}))
    assert plan["proxy"]["acme"]["challenge"] == "tls-alpn-01" and plan["proxy"]["acme"]["ca_certificate"] == str(ca)
    assert plan["roles"]["web"]["proxy"]["tls"] == {
        "mode": "acme", "redirect": False, "hsts": {"max_age": 600, "include_subdomains": False, "preload": True},
        "port": 443}


def test_dns_01_credentials_stay_out_of_the_plan():
    proxy = {"acme": {"challenge": "dns-01", "dns": {"provider": "cloudflare", "env": {"CF_DNS_API_TOKEN": "tok-SECRET"},
                                                     "resolvers": ["1.1.1.1:53"], "delay": 10}}}
    plan = build_plan(variables(proxy, ssl=True, host="*.example.com"))
    acme = plan["proxy"]["acme"]
    assert acme["dns_provider"] == "cloudflare" and acme["dns_env_names"] == ["CF_DNS_API_TOKEN"]
    assert "tok-SECRET" not in repr(plan)


@pytest.mark.parametrize("given, expected", [
    (variables(ssl=True, host=None, path_prefix="/api"), "berth_roles.web.proxy.ssl: true needs host"),
    (variables(ssl=True, host="*.example.com"), "issues wildcards only through berth_proxy.acme.challenge: dns-01"),
    (variables(ssl="yes"), "berth_roles.web.proxy.ssl: is str, not true, false or {certificate, private_key}"),
    (variables(hsts=True), "berth_roles.web.proxy.hsts: needs ssl"),
    (variables({"acme": {"challenge": "http-02"}}, ssl=True), "berth_proxy.acme.challenge: 'http-02' is not allowed"),
    (variables({"acme": {"ca_server": "http://acme.test/dir"}}, ssl=True), "berth_proxy.acme.ca_server: 'http://acme.test/dir'"),
    (variables({"acme": {"ca_certificate": "/nonexistent/ca.pem"}}, ssl=True), "is not a file on the controller"),
    (variables({"acme": {"email": "ops"}}, ssl=True), "berth_proxy.acme.email: 'ops' is not allowed"),
    (variables({"acme": {"challenge": "dns-01"}}, ssl=True), "berth_proxy.acme.dns.provider: is required"),
    (variables({"acme": {"dns": {"provider": "x"}}}, ssl=True), "berth_proxy.acme.dns: is set but challenge is not dns-01"),
    (variables(ssl={"certificate": "nope", "private_key": "nope"}), "berth_roles.web.proxy.ssl.certificate: is required"),
])
def test_bad_https_settings_are_named(given, expected):
    assert any(expected in problem for problem in problems_of(given)), problems_of(given)


def test_a_bad_dns_credential_or_private_key_is_never_shown():
    proxy = {"acme": {"challenge": "dns-01", "dns": {"provider": "x", "env": {"TOKEN": ["tok-SECRET"]}}}}
    problems = problems_of(variables(proxy, ssl={"certificate": "x", "private_key": "key-SECRET"}))
    assert any(problem.startswith("berth_proxy.acme.dns.env.TOKEN:") for problem in problems)
    assert any(problem.startswith("berth_roles.web.proxy.ssl.private_key:") for problem in problems)
    assert "SECRET" not in "\n".join(problems)


def test_own_certificate_is_checked_against_its_key_expiry_and_hosts():
    certificate, key = self_signed("app.example.com")
    plan = build_plan(variables(ssl={"certificate": certificate, "private_key": key}))
    assert plan["roles"]["web"]["proxy"]["tls"]["mode"] == "certificate" and plan["proxy"]["acme"] is None
    assert key not in repr(plan) and certificate not in repr(plan) and not plan["warnings"]

    _other_certificate, other_key = self_signed("app.example.com")
    problems = problems_of(variables(ssl={"certificate": certificate, "private_key": other_key}))
    assert "berth_roles.web.proxy.ssl.private_key: does not belong to the certificate" in problems[0]
    expired, expired_key = self_signed("app.example.com", days=-1)
    assert "expired on" in problems_of(variables(ssl={"certificate": expired, "private_key": expired_key}))[0]
    wildcard, wildcard_key = self_signed("*.example.com")
    assert not build_plan(variables(ssl={"certificate": wildcard, "private_key": wildcard_key}))["warnings"]
    elsewhere, elsewhere_key = self_signed("other.test")
    warnings = build_plan(variables(ssl={"certificate": elsewhere, "private_key": elsewhere_key}))["warnings"]
    assert any("names other.test, not app.example.com" in warning for warning in warnings)


def test_two_roles_cannot_take_the_same_requests():
    roles = {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}},
             "api": {"proxy": {"hosts": ["APP.example.com"], "app_port": 3000}},
             "admin": {"proxy": {"host": "app.example.com", "path_prefix": "/admin"}}}
    given = {**BASE, "berth_roles": roles}
    assert problems_of(given) == ["berth_roles.api.proxy: takes the requests of berth_roles.web.proxy "
                                  "(app.example.com/); give it other hosts or a path_prefix of its own"]
