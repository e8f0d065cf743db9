"""canary.yml's parameters and the version a promote or abort acts on."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _canary, _ops


def test_canary_parameters():
    assert _ops.canary_settings({}, {"version": "v3", "canary_percent": 10}) == \
        {"action": "start", "percent": 10, "problems": []}
    assert _ops.canary_settings({"canary_action": "promote"}, {"version": None, "canary_percent": None})["problems"] == []
    problems = _ops.canary_settings({"canary_action": "start"}, {"version": None, "canary_percent": None})["problems"]
    assert problems[0].startswith("berth_canary_percent: is required to start a canary")
    assert problems[1].startswith("berth_version: is required to start a canary")
    assert _ops.canary_settings({"canary_action": "stop"}, {"version": "v1"})["problems"] == \
        ["canary_action: 'stop' is not allowed (start or promote or abort)"]


def canary(version):
    return {"canaries": {"shop-web": {"version": version, "percent": 10, "container": "c", "stable": ["s"]}}}


def test_the_running_version_is_read_from_every_host():
    skipped = {"skipped": True}
    assert _canary.running_version([canary("v3"), {"canaries": {}}, skipped], None) == {"version": "v3", "problem": ""}
    assert _canary.running_version([canary("v3")], "v3")["version"] == "v3"
    assert "not berth_version=v4" in _canary.running_version([canary("v3")], "v4")["problem"]
    assert "Canaries of v3, v4 run" in _canary.running_version([canary("v3"), canary("v4")], None)["problem"]
    assert "No canary runs on these hosts" in _canary.running_version([{"canaries": {}}], None)["problem"]


@pytest.mark.parametrize("percent", [0, 100, -5])
def test_a_share_is_1_to_99_percent(percent):
    with pytest.raises(ValueError):
        _canary.weights(percent)
