"""daemon.json: berth's keys merged into the server's, data-root moves off containers refused (issue 12, item 10)."""
import json

import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _daemon

MANAGED = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": True}


def test_keys_berth_does_not_manage_stay_and_keep_their_order():
    server = {"insecure-registries": ["registry.internal:5000"], "log-opts": {"compress": "true", "max-size": "1m"},
              "data-root": "/srv/docker"}
    merged = _daemon.merge(server, MANAGED)
    assert merged == {"insecure-registries": ["registry.internal:5000"],
                      "log-opts": {"compress": "true", "max-size": "10m", "max-file": "3"},
                      "data-root": "/srv/docker", "log-driver": "json-file", "live-restore": True}
    assert list(json.loads(_daemon.render(merged))) == ["insecure-registries", "log-opts", "data-root", "log-driver",
                                                        "live-restore"]


def test_lists_are_replaced_and_null_removes_a_key():
    server = {"insecure-registries": ["old:5000"], "bip": "10.1.0.1/24", "log-opts": {"max-size": "1m"}}
    merged = _daemon.merge(server, {"insecure-registries": ["new:5000"], "bip": None, "debug": None,
                                    "log-opts": {"max-size": None, "max-file": "3"}})
    assert merged == {"insecure-registries": ["new:5000"], "log-opts": {"max-file": "3"}}


def test_merging_again_changes_nothing():
    once = _daemon.merge({"registry-mirrors": ["https://mirror.example"]}, MANAGED)
    assert _daemon.merge(once, MANAGED) == once


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_a_missing_or_blank_file_is_an_empty_configuration(text):
    assert _daemon.parse(text, "/etc/docker/daemon.json") == {}


@pytest.mark.parametrize("text, message", [
    ('{"debug": true,}', "/etc/docker/daemon.json is not valid JSON"),
    ('["debug"]', "/etc/docker/daemon.json holds a JSON list, not an object"),
])
def test_a_file_that_is_not_a_json_object_is_refused(text, message):
    with pytest.raises(_daemon.DaemonConfigError, match=message):
        _daemon.parse(text, "/etc/docker/daemon.json")


def test_data_root_moves_off_containers_are_refused_naming_both_values(tmp_path):
    old = tmp_path / "docker"
    (old / "containers" / "3f2a1c9d").mkdir(parents=True)
    before = {"data-root": str(old)}
    with pytest.raises(_daemon.DaemonConfigError) as caught:
        _daemon.refuse_data_root_move(before, {"data-root": "/srv/docker"})
    message = str(caught.value)
    assert f"from {str(old)!r} to '/srv/docker'" in message and "1 container(s)" in message


def test_data_root_may_move_when_no_container_lives_there(tmp_path):
    (tmp_path / "containers").mkdir()
    _daemon.refuse_data_root_move({"data-root": str(tmp_path)}, {"data-root": "/srv/docker"})
    _daemon.refuse_data_root_move({}, {"data-root": "/srv/docker"}, count=lambda root: 0)


def test_the_default_data_root_counts_and_a_trailing_slash_is_no_move():
    seen = []
    with pytest.raises(_daemon.DaemonConfigError, match="from '/var/lib/docker' to '/srv/docker'"):
        _daemon.refuse_data_root_move({}, {"data-root": "/srv/docker"}, count=lambda root: seen.append(root) or 2)
    assert seen == ["/var/lib/docker"]
    _daemon.refuse_data_root_move({"data-root": "/srv/docker/"}, {"data-root": "/srv/docker"}, count=lambda root: 9)


@pytest.mark.parametrize("extra, problem", [
    ({"data-root": "srv/docker"}, "berth_host_docker_daemon_extra.data-root: 'srv/docker' is not an absolute path"),
    ({"data-root": "/"}, "berth_host_docker_daemon_extra.data-root: '/' is not an absolute path other than /"),
    ({"data-root": "/srv/docker\n"}, "berth_host_docker_daemon_extra.data-root: '/srv/docker\\n' is not an absolute"),
    ({1: "x"}, "berth_host_docker_daemon_extra: {1: 'x'} is not a mapping of daemon.json keys"),
])
def test_daemon_extra_is_checked(extra, problem):
    from ansible_collections.berth.deploy.plugins.module_utils import _checks, _config

    check = _checks.Checker()
    _config._host(check, {**_config.DEFAULTS, "berth_host_docker_daemon_extra": extra})
    assert [found for found in check.problems if found.startswith(problem)], check.problems


def test_daemon_extra_may_remove_keys_with_null():
    from ansible_collections.berth.deploy.plugins.module_utils import _checks, _config

    check = _checks.Checker()
    extra = {"bip": None, "data-root": None, "insecure-registries": ["r:5000"]}
    assert _config._host(check, {**_config.DEFAULTS, "berth_host_docker_daemon_extra": extra})["docker_daemon_extra"] == extra
    assert not check.problems
