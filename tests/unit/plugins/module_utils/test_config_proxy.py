"""berth_proxy.publish_address and berth_proxy.trusted_ips are checked before anything changes (issue 12, item 13)."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan

MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}},
}


def problems_of(proxy):
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, "berth_proxy": proxy}, mode="setup")
    return caught.value.problems


@pytest.mark.parametrize("address", ["0.0.0.0 ", "example.com", "10.0.0.1:80", "10.0.0.0/8", "::1]"])
def test_a_publish_address_that_is_no_ip_address_is_refused(address):
    assert problems_of({"publish_address": address}) == [
        f"berth_proxy.publish_address: {address!r} is not an IP address of the host (e.g. 203.0.113.10 or "
        "2001:db8::10), or empty for every address"]


def test_a_publish_address_with_a_line_break_is_refused():
    assert problems_of({"publish_address": "1.2.3.4\n"}) == [
        "berth_proxy.publish_address: '1.2.3.4\\n' holds a line break or another control character"]


@pytest.mark.parametrize("trusted", [["10.0.0.0/8", "lb.example.com"], ["10.0.0.0/8,192.168.0.0/16"],
                                     ["10.0.0.0/33"], ["10.0.0.0/8 "]])
def test_trusted_ips_must_be_addresses_or_cidrs(trusted):
    bad = trusted[-1]
    assert problems_of({"trusted_ips": trusted}) == [
        f"berth_proxy.trusted_ips[{len(trusted) - 1}]: {bad!r} is not an address or CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)"]


def test_trusted_ips_must_be_a_list_of_strings():
    assert problems_of({"trusted_ips": [10]}) == ["berth_proxy.trusted_ips: [10] is not a list of strings"]


@pytest.mark.parametrize("address, publish", [
    ("", ["80:80", "443:443", "127.0.0.1:8080:8080"]),
    ("203.0.113.10", ["203.0.113.10:80:80", "203.0.113.10:443:443", "127.0.0.1:8080:8080"]),
    ("2001:DB8::10", ["[2001:db8::10]:80:80", "[2001:db8::10]:443:443", "127.0.0.1:8080:8080"]),
])
def test_the_proxy_publishes_on_the_address_and_its_api_on_loopback_only(address, publish):
    plan = build_plan({**MINIMAL, "berth_proxy": {"publish_address": address, "trusted_ips": ["10.0.0.0/8", "::1"]}},
                      mode="setup")
    assert plan["proxy"]["publish"] == publish
    assert plan["proxy"]["trusted_ips"] == ["10.0.0.0/8", "::1"]
