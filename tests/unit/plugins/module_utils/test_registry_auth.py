"""berth_registry's credentials go only to the registry they belong to (issue 12, item 1)."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan
from ansible_collections.berth.deploy.plugins.module_utils._image import on_registry, registry_host

MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}},
}
CREDENTIALS = {"server": "registry.example.com", "username": "deploy", "password": "s3cret-pass"}


@pytest.mark.parametrize("reference, host", [
    ("postgres:17", "docker.io"),
    ("acme/app", "docker.io"),
    ("library/busybox:1.36", "docker.io"),
    ("docker.io/library/traefik:v3", "docker.io"),
    ("index.docker.io/acme/app:v1", "docker.io"),
    ("registry-1.docker.io/acme/app", "docker.io"),
    ("ghcr.io/acme/app:v1", "ghcr.io"),
    ("Registry.Example.com:5000/acme/app", "registry.example.com:5000"),
    ("localhost/app", "localhost"),
    ("127.0.0.1:5001/berth-test/private:v1", "127.0.0.1:5001"),
])
def test_registry_host_is_the_one_docker_pulls_from(reference, host):
    assert registry_host(reference) == host


def test_on_registry_compares_hosts_not_prefixes():
    assert on_registry("registry.example.com/acme/app", "registry.example.com")
    assert not on_registry("registry.example.com.evil.test/acme/app", "registry.example.com")
    assert not on_registry("registry.example.com:5000/acme/app", "registry.example.com")
    assert on_registry("postgres:17", "docker.io") and on_registry("postgres:17", "index.docker.io")
    assert not on_registry("postgres:17", "") and not on_registry("ghcr.io/a/b", "registry.example.com")


def test_only_images_of_berth_registry_get_its_credentials():
    plan = build_plan({**MINIMAL, "berth_registry": CREDENTIALS,
                       "berth_proxy": {"image": "registry.example.com/mirror/traefik:v3.7"}})
    assert plan["registry_auth"] == {"app": True, "proxy": True, "pages": False}
    default_proxy = build_plan({**MINIMAL, "berth_registry": CREDENTIALS})
    assert default_proxy["registry_auth"] == {"app": True, "proxy": False, "pages": False}


def test_without_credentials_nothing_gets_them():
    plan = build_plan({**MINIMAL, "berth_registry": {"server": "registry.example.com"}})
    assert plan["registry_auth"] == {"app": False, "proxy": False, "pages": False}
    assert build_plan(MINIMAL)["registry_auth"] == {"app": False, "proxy": False, "pages": False}


def test_an_app_image_on_another_registry_with_credentials_is_refused_without_the_password():
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, "berth_image": "ghcr.io/acme/myapp", "berth_registry": CREDENTIALS})
    problem = "\n".join(caught.value.problems)
    assert "berth_image: ghcr.io/acme/myapp is not on berth_registry.server (registry.example.com)" in problem
    assert "s3cret-pass" not in problem


def test_an_accessory_on_docker_hub_is_pulled_without_credentials():
    plan = build_plan({**MINIMAL, "berth_registry": CREDENTIALS,
                       "berth_accessories": {"cache": {"image": "redis:7"},
                                             "look": {"image": "registry.example.com.evil.test/x:1"}}})
    assert plan["accessories"]["cache"]["registry_auth"] is False
    assert plan["accessories"]["look"]["registry_auth"] is False
