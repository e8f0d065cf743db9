import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _ops
from ansible_collections.berth.deploy.plugins.module_utils._config import build_plan

NOW = 1_800_000_000.0


def plan(destination="", roles=None):
    return build_plan({
        "berth_service": "myapp", "berth_image": "r.example.com/acme/myapp", "berth_destination": destination,
        "berth_roles": roles or {"job": {"cmd": "bin/jobs"}, "web": {"proxy": {"host": "app.example.com"}}},
    }, mode="setup")


def test_exec_defaults_pick_the_first_web_role():
    settings = _ops.exec_settings({"exec_cmd": "bin/rails db:migrate"}, plan())
    assert settings == {"cmd": "bin/rails db:migrate", "role": "web", "mode": "new", "hosts": "primary",
                        "version": None, "timeout": 3600, "keep_failed": False, "problems": []}


def test_exec_without_web_role_takes_the_first_role():
    settings = _ops.exec_settings({"exec_cmd": ["bin/jobs", "--once"]}, plan(roles={"job": {}, "cron": {}}))
    assert settings["role"] == "job" and settings["cmd"] == ["bin/jobs", "--once"]


def test_exec_reads_strings_as_given_with_minus_e():
    settings = _ops.exec_settings({"exec_cmd": "true", "exec_role": "job", "exec_mode": "new", "exec_hosts": "all",
                                   "exec_version": "v41", "exec_timeout": "60", "exec_keep_failed": "yes"}, plan())
    assert settings["problems"] == []
    assert (settings["role"], settings["hosts"], settings["version"], settings["timeout"], settings["keep_failed"]) == (
        "job", "all", "v41", 60, True)


def test_exec_lists_every_problem_naming_variable_value_and_allowed():
    settings = _ops.exec_settings({"exec_cmd": "echo 'unclosed", "exec_role": "wbe", "exec_mode": "fresh",
                                   "exec_hosts": "some", "exec_version": "v 1", "exec_timeout": 0,
                                   "exec_keep_failed": "maybe"}, plan())
    assert settings["problems"] == [
        "exec_mode: 'fresh' is not allowed (new or running)",
        "exec_version: 'v 1' is not an image tag (letters, digits, _ . -, max 128), e.g. v42",
        "exec_cmd: \"echo 'unclosed\" cannot be split into arguments like a shell would (No closing quotation)",
        "exec_role: 'wbe' is not a role of berth_roles (job, web)",
        "exec_hosts: 'some' is not allowed (primary or all)",
        "exec_timeout: 0 is not a number of seconds (1-86400)",
        "exec_keep_failed: 'maybe' is not true or false",
    ]


@pytest.mark.parametrize("command", [None, "", "   ", [], ["bin/rails", ""], 42])
def test_exec_needs_a_command(command):
    problems = _ops.exec_settings({"exec_cmd": command}, plan())["problems"]
    assert len(problems) == 1 and problems[0].startswith("exec_cmd: ")


def test_exec_version_is_for_new_containers_only():
    problems = _ops.exec_settings({"exec_cmd": "true", "exec_mode": "running", "exec_version": "v1"}, plan())["problems"]
    assert problems == ["exec_version: 'v1' applies to exec_mode=new only (exec_mode=running uses the running container)"]


def test_logs_defaults_and_values():
    assert _ops.logs_settings({}, plan(), NOW) == {"role": None, "lines": 100, "since": None, "grep": None,
                                                   "version": None, "timestamps": False, "follow": False,
                                                   "problems": []}
    settings = _ops.logs_settings({"logs_role": "web", "logs_lines": "20", "logs_since": "1h30m",
                                   "logs_grep": "ERROR|WARN", "logs_version": "v2", "logs_timestamps": True,
                                   "logs_follow": "true"}, plan(), NOW)
    assert settings == {"role": "web", "lines": 20, "since": "1h30m", "grep": "ERROR|WARN", "version": "v2",
                        "timestamps": True, "follow": True, "problems": []}


def test_logs_problems():
    problems = _ops.logs_settings({"logs_role": "db", "logs_lines": "many", "logs_since": "yesterday",
                                   "logs_grep": "(unclosed"}, plan(), NOW)["problems"]
    assert problems[0].startswith("logs_since: 'yesterday' is not allowed (a duration before now like 10m")
    assert problems[1].startswith("logs_grep: '(unclosed' is not a regular expression (Python syntax): missing )")
    assert problems[2:] == ["logs_role: 'db' is not a role of berth_roles (job, web)",
                            "logs_lines: 'many' is not a number of lines (1-100000)"]


def test_remove_needs_the_service_name_and_the_destination():
    assert _ops.remove_settings({"remove_confirm": "myapp"}, plan()) == {
        "confirm": "myapp", "proxy": False, "problems": []}
    missing = _ops.remove_settings({}, plan())["problems"]
    assert missing == ["remove_confirm: is required: remove.yml stops and deletes every container, proxy route, "
                       "env file and image of myapp; confirm with -e remove_confirm=myapp"]
    staging = plan(destination="staging")
    assert _ops.remove_settings({"remove_confirm": "myapp-staging", "remove_proxy": "true"}, staging) == {
        "confirm": "myapp-staging", "proxy": True, "problems": []}
    wrong = _ops.remove_settings({"remove_confirm": "myapp"}, staging)["problems"]
    assert wrong[0].startswith("remove_confirm: 'myapp' is not 'myapp-staging': ")


def test_accessory_parameters_pick_names_and_need_an_action():
    plan = {"accessories": {"db": {}, "redis": {}}}
    settings = _ops.accessory_settings({"accessory_action": "reboot"}, plan)
    assert settings == {"accessory": "all", "action": "reboot", "names": ["db", "redis"], "lines": 100, "cmd": None,
                        "problems": []}
    assert _ops.accessory_settings({"accessory_action": "upgrade", "accessory": "db"}, plan)["names"] == ["db"]
    problems = _ops.accessory_settings({"accessory": "cache"}, plan)["problems"]
    assert problems == ["accessory_action: is required (boot or reboot or upgrade or stop or remove or logs or exec)",
                        "accessory: 'cache' is not an accessory (db, redis or all)"]
    assert "there are no accessories" in _ops.accessory_settings({"accessory_action": "boot"}, {})["problems"][0]
    execs = _ops.accessory_settings({"accessory_action": "exec", "accessory": "db", "accessory_cmd": "psql -c 'x'"}, plan)
    assert (execs["cmd"], execs["names"], execs["problems"]) == ("psql -c 'x'", ["db"], [])
    assert _ops.accessory_settings({"accessory_action": "exec", "accessory_cmd": "true"}, plan)["problems"] == [
        "accessory: exec runs in one accessory: name it (-e accessory=db)"]
    assert _ops.accessory_settings({"accessory_action": "logs", "accessory_lines": "0"}, plan)["problems"][0].startswith(
        "accessory_lines: '0' is not a count of lines")


def role_found(running: str, *versions: str) -> dict:
    """A container_info result: containers newest first."""
    return {"running": [running], "containers": [{"version": version} for version in versions]}


def test_rollback_without_a_version_returns_to_the_one_before_the_last_deploy():
    found = {"a": [role_found("v3", "v3", "v2", "v1"), role_found("v3", "v3", "v2")], "b": [role_found("v3", "v3", "v2")],
             "db": []}
    assert _ops.rollback_target(found) == {"version": "v2", "problem": ""}
    redeployed = {"a": [role_found("v3", "v3", "v3", "v2")]}  # the same version again with a new env: not "previous"
    assert _ops.rollback_target(redeployed)["version"] == "v2"
    assert "No earlier version is retained on b" in _ops.rollback_target({"a": found["a"], "b": [role_found("v3", "v3")]})["problem"]
    split = _ops.rollback_target({"a": [role_found("v3", "v3", "v2")], "b": [role_found("v3", "v3", "v1")]})
    assert split["version"] is None and "a: v2; b: v1" in split["problem"]
    mixed = _ops.rollback_target({"a": [role_found("v3", "v3", "v2"), role_found("v3", "v3", "v1")]})
    assert mixed["version"] is None and "its roles ran different versions (v1, v2)" in mixed["problem"]


def test_start_serves_each_roles_newest_container_again():
    stopped = {"a": [{"running": [], "containers": [{"version": "v3"}, {"version": "v2"}]}], "db": []}
    assert _ops.start_target(stopped) == {"version": "v3", "problem": ""}
    assert "No container of the service is on a: nothing to start" in _ops.start_target({"a": [{"running": [], "containers": []}]})["problem"]
