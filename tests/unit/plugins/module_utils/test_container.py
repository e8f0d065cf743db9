import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _container


def params(**overrides):
    base = dict(service="myapp", role="web", version="v2", destination="", image="r/myapp:v2",
                env={"RAILS_ENV": "production"}, secret_env={"SECRET_KEY_BASE": "s3cret"}, options={"memory": "1g"},
                network="berth", log_driver="json-file", log_options={"max-size": "10m"})
    base.update(overrides)
    return base


def test_spec_names_and_labels_the_container():
    spec = _container.build_spec(params(destination="staging"))
    assert spec.name == "myapp-web-staging-v2"
    assert spec.labels["berth.version"] == "v2" and spec.labels["berth.destination"] == "staging"


def test_hash_ignores_secret_values_but_not_secret_names():
    one = _container.build_spec(params())
    other_value = _container.build_spec(params(secret_env={"SECRET_KEY_BASE": "changed"}))
    other_name = _container.build_spec(params(secret_env={"OTHER": "s3cret"}))
    assert one.spec_hash("sha256:1") == other_value.spec_hash("sha256:1")
    assert one.spec_hash("sha256:1") != other_name.spec_hash("sha256:1")
    assert one.spec_hash("sha256:1") != one.spec_hash("sha256:2")
    assert "s3cret" not in repr(one.public_view("sha256:1"))


def test_env_file_holds_everything_sorted():
    spec = _container.build_spec(params(env={"B": 1, "A": True}))
    assert _container.env_file_content(spec) == "A=true\nB=1\nSECRET_KEY_BASE=s3cret\n"


def test_volumes_keep_their_container_path_whatever_it_ends_with():
    spec = _container.build_spec(params(volumes=["/srv/app/tmp:/app/tmp/dir", "cache:/var/cache/or:ro"]))
    assert _container.create_kwargs(spec, "hash")["volumes"] == {
        "/srv/app/tmp": {"bind": "/app/tmp/dir", "mode": "rw"}, "cache": {"bind": "/var/cache/or", "mode": "ro"}}


@pytest.mark.parametrize("volumes, message", [
    (["data"], "'data' is not SOURCE:/container/path"),
    (["data:/a:rx"], "'data:/a:rx' is not SOURCE"),
    (["data:/a", "data:/b"], "data is mounted twice"),
])
def test_bad_volumes_are_refused(volumes, message):
    with pytest.raises(_container.SpecError, match=message):
        _container.build_spec(params(volumes=volumes))


def test_newlines_in_env_are_refused():
    with pytest.raises(_container.SpecError, match="SECRET_KEY_BASE holds a newline"):
        _container.build_spec(params(secret_env={"SECRET_KEY_BASE": "a\nb"}))


def test_name_needs_service_role_version():
    with pytest.raises(_container.SpecError, match="missing: version"):
        _container.container_name(dict(service="myapp", role="web"))
    assert _container.container_name(dict(name="berth-proxy")) == "berth-proxy"


class FakeContainer:
    def __init__(self, ident, running):
        self.id = ident
        self.attrs = {"State": {"Running": running}}


def test_retention_keeps_newest_and_every_running_one():
    newest_first = [FakeContainer("new", True), FakeContainer("c1", False), FakeContainer("c2", False),
                    FakeContainer("odd-running", True), FakeContainer("c3", False)]
    kept, removable = _container.retained_split(newest_first, keep=2, active_id="new")
    assert [item.id for item in kept] == ["new", "c1", "odd-running"]
    assert [item.id for item in removable] == ["c2", "c3"]
