from ansible_collections.berth.deploy.plugins.module_utils import _lock


def test_a_deploy_holder_says_which_version():
    holder = {"performer": "alice@laptop", "since": "2026-11-22T05:44:14Z", "version": "v42", "reason": "hotfix"}
    assert _lock.describe(holder) == "alice@laptop since 2026-11-22T05:44:14Z, deploying v42 (hotfix)"


def test_a_holder_without_version_says_what_it_does():
    holder = {"performer": "bob@ci", "since": "2026-11-22T05:44:14Z", "version": "",
              "reason": "pruning (playbooks/prune.yml)"}
    assert _lock.describe(holder) == "bob@ci since 2026-11-22T05:44:14Z, pruning (playbooks/prune.yml)"


import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402


def holder(**overrides):
    found = _lock.new_holder("alice@laptop", "v42", "", 900, "laptop", "ctl-1", 4711, "123")
    found.update(overrides)
    return found


def test_a_fresh_holder_is_live_and_an_old_one_is_stale():
    now = time.time()
    assert not _lock.lease_expired(holder(since_epoch=now - 10), 900, now)
    assert _lock.lease_expired(holder(since_epoch=now - 901), 900, now)
    assert _lock.lease_expired(holder(since_epoch=now - 61, lease=60), 900, now), "the holder's own lease counts"


def test_a_holder_written_before_leases_expires_from_its_since():
    old = {"performer": "bob", "since": "2020-01-01T00:00:00Z", "version": "v1", "token": "x"}
    assert _lock.lease_expired(old, 900, time.time())
    assert not _lock.lease_expired({"performer": "bob"}, 900, time.time()), "no time: never stale"


def test_take_over_must_name_exactly_this_holder():
    current = holder()
    named = {key: current[key] for key in _lock.IDENTITY_KEYS}
    assert _lock.is_named(current, named)
    assert not _lock.is_named(current, {**named, "pid": 4712})
    assert not _lock.is_named({**current, "pid": 0, "controller_id": ""}, {"pid": 0, "controller_id": "", "since": current["since"]})


def test_acquire_takes_over_a_named_holder_and_refuses_a_live_one(tmp_path):
    path = str(tmp_path / "shop-deploy.lock")
    first = holder()
    assert _lock.acquire(path, "shop-deploy", first, 0)[1] is None
    second = holder(pid=99)
    with pytest.raises(_lock.LockHeld, match=r"held by alice@laptop since .*, deploying v42 \[process 4711 on laptop"):
        _lock.acquire(path, "shop-deploy", second, 0)
    _waited, taken = _lock.acquire(path, "shop-deploy", second, 0, {key: first[key] for key in _lock.IDENTITY_KEYS})
    assert taken["token"] == first["token"]
    assert _lock.read_holder(path)["token"] == second["token"]
    assert not [name for name in os.listdir(tmp_path) if "taken-over" in name]


def test_a_corrupt_holder_file_is_a_clear_error(tmp_path):
    path = tmp_path / "shop-deploy.lock"
    path.mkdir()
    (path / "holder.json").write_text("{not json")
    with pytest.raises(_lock.CorruptHolder, match="is not a lock holder written by berth.deploy.*lock_action=release"):
        _lock.read_holder(str(path))
    (path / "holder.json").write_text(json.dumps(["a list"]))
    with pytest.raises(_lock.CorruptHolder, match="holds list"):
        _lock.read_holder(str(path))
