from ansible_collections.berth.deploy.plugins.module_utils import _lock


def test_a_deploy_holder_says_which_version():
    holder = {"performer": "alice@laptop", "since": "2026-11-22T05:44:14Z", "version": "v42", "reason": "hotfix"}
    assert _lock.describe(holder) == "alice@laptop since 2026-11-22T05:44:14Z, deploying v42 (hotfix)"


def test_a_holder_without_version_says_what_it_does():
    holder = {"performer": "bob@ci", "since": "2026-11-22T05:44:14Z", "version": "",
              "reason": "pruning (playbooks/prune.yml)"}
    assert _lock.describe(holder) == "bob@ci since 2026-11-22T05:44:14Z, pruning (playbooks/prune.yml)"
