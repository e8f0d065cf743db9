from ansible_collections.berth.deploy.plugins.module_utils import _naming


def test_container_name_with_and_without_destination():
    assert _naming.container_name("myapp", "web", "v42") == "myapp-web-v42"
    assert _naming.container_name("myapp", "web", "v42", "staging") == "myapp-web-staging-v42"


def test_labels_and_filter_select_one_role():
    labels = _naming.labels("myapp", "job", "abc123", "production")
    assert labels == {"berth.service": "myapp", "berth.role": "job", "berth.destination": "production",
                      "berth.version": "abc123"}
    assert _naming.role_filter("myapp", "job", "production") == [
        "berth.service=myapp", "berth.role=job", "berth.destination=production"]
    assert _naming.version_of(labels) == "abc123"
    assert _naming.version_of(None) is None


def test_name_and_version_patterns():
    assert _naming.is_valid_name("my-app2")
    for bad in ("My-App", "-app", "app-", "app_1", ""):
        assert not _naming.is_valid_name(bad), bad
    assert _naming.is_valid_version("v1.2.3_rc-1")
    assert _naming.is_valid_version("0123456789abcdef")
    for bad in ("-v1", ".v1", "v 1", "v:1", "x" * 129):
        assert not _naming.is_valid_version(bad), bad
