import pytest

from ansible_collections.berth.deploy.plugins.module_utils._options import OptionError, normalize_options, parse_publish


def test_options_are_normalized():
    options, problems = normalize_options({"memory": "1G", "cpus": 0.5, "init": True, "ulimits": {"nofile": 1024}})
    assert problems == []
    assert options["memory"] == "1g"
    assert options["cpus"] == 500_000_000
    assert options["ulimits"] == [{"name": "nofile", "soft": 1024, "hard": 1024}]


def test_bad_options_name_what_is_allowed():
    _options, problems = normalize_options({"memory": "1.5g", "cpus": "many", "init": "yes", "nope": 1})
    problems = dict(problems)
    assert "is not a size" in problems["memory"]
    assert "is not a number of CPUs" in problems["cpus"]
    assert "is not true or false" in problems["init"]
    assert "is not a known option" in problems["nope"]


@pytest.mark.parametrize("entry, expected", [
    ("9090", ("9090/tcp", ("", None))),
    ("8080:9090", ("9090/tcp", ("", 8080))),
    ("127.0.0.1:8080:9090/udp", ("9090/udp", ("127.0.0.1", 8080))),
    ("127.0.0.1::9090", ("9090/tcp", ("127.0.0.1", None))),
    ("[::1]:8080:9090", ("9090/tcp", ("::1", 8080))),
    ("localhost:8080:9090", None),
    ("8080:", None),
])
def test_publish_entries(entry, expected):
    if expected is None:
        with pytest.raises(OptionError):
            parse_publish(entry)
    else:
        assert parse_publish(entry) == expected


def test_publish_port_range_checked():
    with pytest.raises(OptionError, match="out of range"):
        parse_publish("70000:80")
