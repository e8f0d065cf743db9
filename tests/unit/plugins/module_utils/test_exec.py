import re

from ansible_collections.berth.deploy.plugins.module_utils import _container, _exec, _naming


def params(**overrides):
    base = dict(service="myapp", role="web", destination="staging", command="bin/rails db:migrate",
                env={"RAILS_ENV": "production"}, secret_env={"SECRET_KEY_BASE": "s3cret"},
                volumes=["data:/data"], network="berth",
                options={"memory": "256m", "publish": ["8080:3000"], "labels": {"team": "shop"}},
                log_driver="json-file", log_options={"max-size": "10m"})
    base.update(overrides)
    return base


def test_one_off_names_are_unique_and_say_what_they_are():
    stamp = _exec.stamp(1_800_000_000)
    assert re.fullmatch(r"20270115080000-[0-9a-f]{4}", stamp)
    assert len({_exec.stamp(1_800_000_000) for _attempt in range(20)}) > 1  # same second, still distinct names
    name = _naming.exec_container_name("myapp", "web", stamp, "staging")
    assert name == f"myapp-web-staging-exec-{stamp}"


def test_one_off_spec_is_the_roles_container_without_ports_restarts_or_role_label():
    spec = _exec.one_off_spec(params(), "r/myapp:v3", "v3", "myapp-web-staging-exec-x")
    assert spec.image == "r/myapp:v3" and spec.command == "bin/rails db:migrate"
    assert spec.env == {"RAILS_ENV": "production"} and spec.secret_env == {"SECRET_KEY_BASE": "s3cret"}
    assert spec.volumes == ["data:/data"] and spec.network == "berth"
    assert "publish" not in spec.options and spec.options["memory"] == "256m"
    assert spec.restart_policy == "no"
    assert spec.labels == {"team": "shop", "berth.service": "myapp", "berth.exec-role": "web",
                           "berth.destination": "staging", "berth.version": "v3"}
    kwargs = _container.create_kwargs(spec, "hash")
    assert "restart_policy" not in kwargs and "ports" not in kwargs
    assert "berth.role" not in kwargs["labels"]


def test_one_off_labels_are_not_selected_as_the_roles_versions():
    labels = _naming.exec_labels("myapp", "web", "v3", "")
    role_filter = dict(item.split("=", 1) for item in _naming.role_filter("myapp", "web", ""))
    assert not all(labels.get(key) == value for key, value in role_filter.items())
    service_filter = dict(item.split("=", 1) for item in _naming.service_filter("myapp", ""))
    assert all(labels.get(key) == value for key, value in service_filter.items())
    assert _naming.is_exec(labels) and _naming.role_of(labels) == "web"


def test_streams_keep_stdout_stderr_and_their_order():
    streams = _exec._Streams(lines=3)
    streams.consume([(b"out 1\n", None), (None, b"err 1\n"), (b"out 2\n", None)])
    assert streams.error is None
    assert streams.stdout.finish() == ["out 1", "out 2"]
    assert streams.stderr.finish() == ["err 1"]
    assert streams.output.finish() == ["out 1", "err 1", "out 2"]


def test_streams_hand_errors_to_the_caller():
    def broken():
        yield b"x\n", None
        raise OSError("connection reset")
    streams = _exec._Streams(lines=3)
    streams.consume(broken())
    assert isinstance(streams.error, OSError)
