from ansible_collections.berth.deploy.plugins.module_utils import _naming, _service


class FakeContainer:
    def __init__(self, name, labels, running=False):
        self.id = self.name = name
        self.attrs = {"State": {"Running": running}, "Config": {"Labels": labels}}


def role(name, role_name, running=False):
    return FakeContainer(name, _naming.labels("myapp", role_name, name.rsplit("-", 1)[-1]), running)


def one_off(name, running=False):
    return FakeContainer(name, _naming.exec_labels("myapp", "web", "v3"), running)


def test_prune_keeps_the_newest_per_role_and_every_running_one():
    newest_first = [
        role("myapp-web-v5", "web", running=True), one_off("myapp-web-exec-2", running=True),
        role("myapp-job-v5", "job", running=True), role("myapp-web-v4", "web"), one_off("myapp-web-exec-1"),
        role("myapp-job-v4", "job"), role("myapp-web-v3", "web"), role("myapp-old-v1", "old"),
        role("myapp-old-v0", "old"),
    ]
    kept, removable = _service.prune_split(newest_first, keep=2)
    assert sorted(item.name for item in kept) == sorted([
        "myapp-web-exec-2", "myapp-web-v5", "myapp-web-v4", "myapp-job-v5", "myapp-job-v4",
        "myapp-old-v1", "myapp-old-v0"])
    assert sorted(item.name for item in removable) == ["myapp-web-exec-1", "myapp-web-v3"]


def test_prune_twice_removes_nothing_more():
    containers = [role("myapp-web-v3", "web", True), role("myapp-web-v2", "web"), role("myapp-web-v1", "web")]
    kept, removable = _service.prune_split(containers, keep=2)
    assert [item.name for item in removable] == ["myapp-web-v1"]
    assert _service.prune_split(kept, keep=2)[1] == []


def test_roles_of_includes_one_off_containers():
    assert _service.roles_of([role("myapp-job-v1", "job"), one_off("myapp-web-exec-1")]) == ["job", "web"]
