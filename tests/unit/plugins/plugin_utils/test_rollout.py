"""The rollout's state across hosts: gate, finish, summary and verdict."""
from ansible_collections.berth.deploy.plugins.plugin_utils import _rollout
from ansible_collections.berth.deploy.plugins.plugin_utils._rollout import HostState

SECONDS = {"pull": 0.2, "boot": 0.5, "health": 0.05, "switch": 0.3, "drain": 1.0, "stop": 0.6}


def released(version="v2", previous="v1", changed=True):
    return {"changed": changed, "roles": {"web": {
        "container": f"shop-web-{version}-aaaaaaa", "version": version, "previous": [previous] if previous else [],
        "previous_container": f"shop-web-{previous}-bbbbbbb" if previous else None, "changed": changed,
        "seconds": SECONDS}}}


def test_the_first_batch_starts_and_a_later_one_does_not_after_a_failure():
    failed = HostState("h1", started=True, release={"failed": True, "msg": "shop-web-v2-a failed its health check"})
    assert _rollout.gate([HostState("h1"), HostState("h2")], ["h1"]) == ""
    reason = _rollout.gate([failed, HostState("h2")], ["h2"])
    assert "h1" in reason and "later batches do not start" in reason


def test_hosts_of_the_same_batch_do_not_stop_each_other():
    starting = HostState("h1", started=True)  # its release has not run yet
    assert _rollout.gate([starting, HostState("h2")], ["h1", "h2"]) == ""


def test_an_unreachable_host_counts_as_failed():
    state = HostState("h1", started=True, release={"unreachable": True, "msg": "ssh: connect to host timed out"})
    assert _rollout.host_failure(state) == "unreachable: ssh: connect to host timed out"
    assert _rollout.gate([state, HostState("h2")], ["h2"])


def test_a_host_that_started_and_left_no_result_failed():
    assert _rollout.host_failure(HostState("h1", started=True)) == _rollout.UNFINISHED


def test_a_pre_deploy_or_migration_failure_aborts_before_any_host():
    aborted = HostState("h1", abort="The migration failed on h1, so no host was switched: exit 1")
    assert _rollout.gate([aborted, HostState("h2")], ["h1", "h2"]).startswith("The migration failed")
    assert _rollout.finish([aborted, HostState("h2")])["hook"] == "on_failure"


def test_after_a_failure_hosts_that_switched_roll_back_and_the_failed_one_does_not():
    states = [HostState("h1", started=True, release=released()),
              HostState("h2", started=True, release={"failed": True, "msg": "health check failed"}),
              HostState("h3")]
    found = _rollout.finish(states)
    assert found["run_failed"] and found["error"] == "h2: health check failed" and found["hook"] == "on_failure"
    # h2's release put itself back, h3 never started
    assert found["rollbacks"] == {"h1": {"web": "shop-web-v1-bbbbbbb"}}


def test_a_host_whose_hook_failed_after_its_release_rolls_back_too():
    states = [HostState("h1", started=True, release=released(), failure="post_app_boot hook failed")]
    assert _rollout.finish(states)["rollbacks"] == {"h1": {"web": "shop-web-v1-bbbbbbb"}}


def test_a_successful_run_rolls_nothing_back_and_runs_post_deploy():
    states = [HostState("h1", started=True, release=released()), HostState("h2", started=True, release=released())]
    assert _rollout.finish(states) == {"run_failed": False, "error": "", "rollbacks": {}, "hook": "post_deploy"}
    assert _rollout.verdict(states[0]) == []


def test_the_summary_has_one_line_per_host_and_role_failures_first():
    states = [HostState("h1", started=True, release=released(), rolled_back=False),
              HostState("h2", started=True, release={"failed": True, "msg": "health check failed"})]
    lines = _rollout.summary(states, "shop")
    assert lines[0] == "FAILED h2: health check failed"
    assert lines[1] == ("h1: shop web: v1 -> v2 in 2.65s (pull 0.2, boot 0.5, health 0.05, switch 0.3, drain 1, "
                        "stop 0.6)")


def test_an_unchanged_role_says_so_and_a_rolled_back_host_shows_the_rollback():
    unchanged = HostState("h1", started=True, release=released(version="v2", previous="", changed=False))
    rolled = HostState("h2", started=True, release=released(version="v1", previous="v2"), rolled_back=True)
    lines = _rollout.summary([unchanged, rolled], "shop (staging)")
    assert lines[0].startswith("h1: shop (staging) web: none -> v2 (unchanged) in")
    assert lines[1].startswith("h2: shop (staging) web: v2 -> v1 in") and lines[1].endswith("(rolled back)")


def test_a_failed_rollback_is_reported_and_fails_the_host():
    state = HostState("h1", started=True, release={"failed": True, "msg": "Cannot put shop-web-v1-b back"},
                      rolled_back=True)
    assert _rollout.host_failure(state) is None  # its deploy had succeeded
    assert _rollout.summary([state], "shop") == ["FAILED h1: the rollback failed: Cannot put shop-web-v1-b back"]
    assert _rollout.verdict(state) == ["the rollback failed: Cannot put shop-web-v1-b back"]


def test_the_verdict_names_this_host_failure_and_its_hook_failures():
    state = HostState("h1", started=True, release=released(),
                      hook_failures={"post_deploy": "The post_deploy hook notify.yml failed"})
    assert _rollout.verdict(state) == ["The post_deploy hook notify.yml failed"]


def test_a_batch_starts_its_hosts_with_a_berth_role_unless_the_gate_closed():
    assert _rollout.starting([HostState("h1"), HostState("db")], ["h1", "db"], ["h1"]) == (["h1"], "")
    failed = HostState("h1", started=True, release={"failed": True, "msg": "boom"})
    started, reason = _rollout.starting([failed, HostState("h2")], ["h2"], ["h2"])
    assert started == [] and "h1" in reason
