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


def sh(script, stdin=""):
    """Run one of the lock's scripts with the real sh, as the action does on the host."""
    import subprocess

    done = subprocess.run(["sh", "-c", script], input=stdin, capture_output=True, text=True, check=True)
    return _lock.parse_reply(done.stdout)


def test_acquire_writes_the_holder_with_the_hosts_clock_and_refuses_when_held(tmp_path):
    path = str(tmp_path / "locks" / "shop-deploy.lock")
    first = holder()
    reply = sh(_lock.acquire_script(path), _lock.holder_text(first))
    assert reply.what == "acquired" and abs(reply.now - time.time()) < 5
    written = _lock.read_holder(path)
    assert written["token"] == first["token"] and written["since_epoch"] == reply.now
    assert oct(os.stat(path).st_mode & 0o777) == "0o700" and oct(os.stat(os.path.join(path, "holder.json")).st_mode & 0o777) == "0o600"
    reply = sh(_lock.acquire_script(path), _lock.holder_text(holder(pid=99)))
    assert reply.what == "held" and _lock.parse_holder(reply.holder_text, path)["token"] == first["token"]


def test_take_over_replaces_exactly_the_holder_that_was_judged(tmp_path):
    path = str(tmp_path / "shop-deploy.lock")
    sh(_lock.acquire_script(path), _lock.holder_text(holder()))
    judged = sh(_lock.peek_script(path))
    assert len(judged.holder_digest) == 64
    assert sh(_lock.acquire_script(path, "0" * 64), _lock.holder_text(holder(pid=7))).what == "held", \
        "another holder than the one judged stays"
    second = holder(pid=8)
    assert sh(_lock.acquire_script(path, judged.holder_digest), _lock.holder_text(second)).what == "acquired"
    assert _lock.read_holder(path)["token"] == second["token"]
    assert not [name for name in os.listdir(tmp_path) if "taken-over" in name]


def test_only_the_token_releases_unless_forced(tmp_path):
    path = str(tmp_path / "shop-deploy.lock")
    mine = holder()
    sh(_lock.acquire_script(path), _lock.holder_text(mine))
    assert sh(_lock.release_script(path, force=False), "not-the-token\n").what == "held"
    assert sh(_lock.release_script(path, force=False), mine["token"] + "\n").what == "released"
    assert not os.path.exists(path)
    assert sh(_lock.release_script(path, force=False), mine["token"] + "\n").what == "free"
    sh(_lock.acquire_script(path), _lock.holder_text(holder()))
    assert sh(_lock.release_script(path, force=True), "\n").what == "released"


def test_peek_reads_without_changing(tmp_path):
    path = str(tmp_path / "shop-deploy.lock")
    assert sh(_lock.peek_script(path)).what == "free" and not os.path.exists(path)


def test_a_corrupt_holder_file_is_a_clear_error(tmp_path):
    path = tmp_path / "shop-deploy.lock"
    path.mkdir()
    (path / "holder.json").write_text("{not json")
    with pytest.raises(_lock.CorruptHolder, match="is not a lock holder written by berth.deploy.*lock_action=release"):
        _lock.read_holder(str(path))
    (path / "holder.json").write_text(json.dumps(["a list"]))
    with pytest.raises(_lock.CorruptHolder, match="holds list"):
        _lock.read_holder(str(path))
    assert sh(_lock.release_script(str(path), force=True), "\n").what == "released", "force releases a corrupt lock"


def test_a_holder_file_without_a_final_newline_can_be_taken_over(tmp_path):
    """Written by hand or by another tool: the digest the host computed names it, whatever its bytes."""
    path = tmp_path / "shop-deploy.lock"
    path.mkdir()
    (path / "holder.json").write_text(json.dumps(holder(since_epoch=1)))  # no newline at the end
    seen = sh(_lock.peek_script(str(path)))
    assert _lock.lease_expired(_lock.parse_holder(seen.holder_text, str(path)), 900, seen.now)
    mine = holder(pid=9)
    assert sh(_lock.acquire_script(str(path), seen.holder_digest), _lock.holder_text(mine)).what == "acquired"
    assert _lock.read_holder(str(path))["token"] == mine["token"]
