"""HTTPS through the proxy on a server: certificates from a real ACME server (pebble, challenges really
validated over HTTP-01 and TLS-ALPN-01), kept across a proxy restart; your own certificate; the redirect."""
from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import time
import typing as t

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.integration.conftest import (APP_IMAGE, DAEMON_EXTRA, TESTBED, TRAEFIK_IMAGE, on_server, run_script,
                                        throwaway_server, write_server_inventory)
from tests.support.ansible_run import REPO, run_playbook
from tests.support.certificates import self_signed

pytestmark = pytest.mark.slow
ADDRESS = "127.0.0.61"
SERVER = "berth-srv-https"
HOST = "site.berth.test"
OWN = "own.berth.test"  # served with our own certificate
ACME_CA = "/var/lib/berth-test-acme/ca.pem"  # signs the ACME directory's own TLS certificate (tests/testbed/acme.sh)


@pytest.fixture(scope="module")
def acme(testbed) -> t.Iterator[None]:
    run_script(str(TESTBED / "acme.sh"), "up", ADDRESS)
    yield
    run_script(str(TESTBED / "acme.sh"), "down")


@pytest.fixture(scope="module")
def https_server(testbed, ssh_key, acme) -> t.Iterator[str]:
    yield from throwaway_server(SERVER, ADDRESS, ssh_key)


def group_vars(challenge: str = "http-01", hosts: list[str] | None = None, ssl_setting: t.Any = True) -> dict[str, t.Any]:
    return {
        "berth_service": "site", "berth_image": APP_IMAGE, "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE, "acme": {
            "email": "ops@berth.test", "ca_server": "https://172.17.0.1:14000/dir", "ca_certificate": ACME_CA,
            "challenge": challenge}},
        "berth_roles": {"web": {"proxy": {"hosts": hosts or [HOST], "app_port": 3000, "ssl": ssl_setting, "hsts": True,
                                          "healthcheck": {"path": "/up", "interval": 0.5, "timeout": 2}}}},
        "berth_deploy_timeout": 8, "berth_drain_timeout": 5,
        "berth_host_docker_daemon_extra": DAEMON_EXTRA,
    }


def inventory(tmp_path, ssh_key, **settings):
    return write_server_inventory(tmp_path, {"site1": ADDRESS}, ssh_key, group_vars(**settings)) / "hosts.yml"


def playbook(name: str, hosts_file, version: str = "v1"):
    run = run_playbook(REPO / "playbooks" / name, hosts_file, env={"BERTH_VERSION": version})
    assert run.rc == 0, run.stdout
    return run


def pebble_root() -> str:
    return subprocess.run(["curl", "-fsS", "--cacert", ACME_CA, "https://127.0.0.1:15000/roots/0"],
                          capture_output=True, text=True, check=True).stdout


def served_certificate(name: str, cadata: str | None) -> x509.Certificate:
    """The certificate the proxy serves for ``name`` (SNI), verified against ``cadata`` when given."""
    context = ssl.create_default_context(cadata=cadata) if cadata else ssl._create_unverified_context()  # noqa: S323
    with socket.create_connection((ADDRESS, 443), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def wait_for_issued(name: str, deadline: float = 90) -> x509.Certificate:
    """Traefik orders the certificate once the route exists; until then it serves its default one."""
    root, started, problem = pebble_root(), time.monotonic(), ""
    while time.monotonic() - started < deadline:
        try:
            return served_certificate(name, root)
        except (ssl.SSLError, OSError) as exc:
            problem = str(exc)
            time.sleep(1)
    logs = on_server(SERVER, "docker", "logs", "--tail", "30", "berth-proxy")
    raise AssertionError(f"no certificate from pebble for {name} within {deadline}s ({problem}); proxy log:\n{logs}")


def https_get(name: str, path: str, cadata: str | None) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cadata=cadata) if cadata else ssl._create_unverified_context()  # noqa: S323
    connection = http.client.HTTPSConnection(ADDRESS, 443, timeout=5, context=context)
    connection.sock = context.wrap_socket(socket.create_connection((ADDRESS, 443), timeout=5), server_hostname=name)
    connection.request("GET", path, headers={"Host": name})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def http_get(name: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(ADDRESS, 80, timeout=5)
    connection.request("GET", path, headers={"Host": name})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_http_01_certificate_serves_https_redirects_http_and_survives_a_proxy_restart(https_server, ssh_key, tmp_path):
    hosts_file = inventory(tmp_path, ssh_key)
    playbook("setup.yml", hosts_file)
    playbook("deploy.yml", hosts_file)
    issued = wait_for_issued(HOST)
    assert HOST in [name.value for name in issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
    response = https_get(HOST, "/", pebble_root())
    assert response.status == 200 and response.body.startswith(b"version=v1 ")
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
    redirect = http_get(HOST, "/some/page?x=1")
    assert redirect.status in (301, 308) and redirect.getheader("Location") == f"https://{HOST}/some/page?x=1"
    assert http_get(HOST, "/up").status == 200  # a load balancer may probe over plain HTTP
    assert on_server(SERVER, "stat", "-c", "%a", "/etc/berth/proxy/acme/acme.json").strip() == "600"

    on_server(SERVER, "docker", "restart", "berth-proxy")
    again = wait_for_issued(HOST, deadline=30)
    assert again.serial_number == issued.serial_number  # from acme.json, no new order
    playbook("setup.yml", hosts_file)  # a second setup changes nothing and keeps the certificate
    assert wait_for_issued(HOST, deadline=30).serial_number == issued.serial_number


def test_tls_alpn_01_validates_a_new_name(https_server, ssh_key, tmp_path):
    hosts_file = inventory(tmp_path, ssh_key, challenge="tls-alpn-01", hosts=[HOST, "alpn.berth.test"])
    playbook("setup.yml", hosts_file)  # the proxy is replaced with the new challenge; acme.json stays
    playbook("deploy.yml", hosts_file, "v2")
    issued = wait_for_issued("alpn.berth.test")
    names = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "alpn.berth.test" in names
    assert https_get("alpn.berth.test", "/", pebble_root()).body.startswith(b"version=v2 ")


def test_own_certificate_is_served_private_on_the_host_and_replaced_with_the_next(https_server, ssh_key, tmp_path):
    # a name of its own: for site.berth.test the proxy also holds the ACME certificate (acme.json), and
    # Traefik picks either of two certificates that match a name equally
    first, first_key = self_signed(OWN)
    hosts_file = inventory(tmp_path / "own", ssh_key, hosts=[OWN],
                           ssl_setting={"certificate": first, "private_key": first_key})
    run = playbook("deploy.yml", hosts_file, "v1")
    assert first_key.splitlines()[1] not in run.stdout
    served = served_certificate(OWN, first)
    assert served.public_bytes(serialization.Encoding.PEM).decode() == first
    keys = on_server(SERVER, "sh", "-c", "stat -c '%a %n' /etc/berth/proxy/certs/*").split("\n")
    assert [line.split()[0] for line in keys if line] == ["600", "600"]

    second, second_key = self_signed(OWN)
    hosts_file = inventory(tmp_path / "own2", ssh_key, hosts=[OWN],
                           ssl_setting={"certificate": second, "private_key": second_key})
    playbook("deploy.yml", hosts_file, "v2")
    assert served_certificate(OWN, second).public_bytes(serialization.Encoding.PEM).decode() == second
    assert len(on_server(SERVER, "sh", "-c", "ls /etc/berth/proxy/certs").split()) == 2  # the first one went
    assert https_get(OWN, "/", second).body.startswith(b"version=v2 ")
