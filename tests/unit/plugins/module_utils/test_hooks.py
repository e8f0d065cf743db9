"""berth_hooks: shape, hook names, path resolution and the file checks made on the controller."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan, unknown_variables
from ansible_collections.berth.deploy.plugins.module_utils._hooks import HOOK_NAMES, is_task_file

MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}},
}


@pytest.fixture
def inventory(tmp_path):
    """An inventory directory with an executable script, a plain file and a task file under hooks/."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "notify.sh").write_text("#!/bin/sh\nexit 0\n")
    (hooks / "notify.sh").chmod(0o755)
    (hooks / "check.sh").write_text("#!/bin/sh\nexit 0\n")
    (hooks / "check.sh").chmod(0o755)
    (hooks / "not-executable.sh").write_text("#!/bin/sh\n")
    (hooks / "not-executable.sh").chmod(0o644)
    (hooks / "mark.yml").write_text("- ansible.builtin.debug: {msg: hi}\n")
    (hooks / "mark.yml").chmod(0o644)
    return tmp_path


def hooks_of(hooks, inventory_dir=""):
    return build_plan({**MINIMAL, "berth_hooks": hooks}, inventory_dir=str(inventory_dir))["hooks"]


def problems_of(hooks, inventory_dir=""):
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, "berth_hooks": hooks}, inventory_dir=str(inventory_dir))
    return caught.value.problems


def test_no_hooks_by_default_every_hook_an_empty_list():
    plan = build_plan(MINIMAL)
    assert plan["hooks"] == {name: [] for name in HOOK_NAMES}
    assert list(plan["hooks"]) == ["pre_deploy", "pre_app_boot", "post_app_boot", "post_deploy", "on_failure"]


def test_berth_hook_env_is_set_by_berth_not_an_unknown_variable():
    assert unknown_variables(["berth_hooks", "berth_hook_env", "berth_hook"]) == ["berth_hook"]


def test_relative_paths_resolve_against_the_inventory_directory_in_order(inventory):
    hooks = hooks_of({"pre_deploy": ["hooks/check.sh", "./hooks/notify.sh"], "pre_app_boot": "hooks/mark.yml",
                      "post_deploy": str(inventory / "hooks" / "notify.sh"), "on_failure": None}, inventory)
    assert hooks["pre_deploy"] == [str(inventory / "hooks" / "check.sh"), str(inventory / "hooks" / "notify.sh")]
    assert hooks["pre_app_boot"] == [str(inventory / "hooks" / "mark.yml")]
    assert hooks["post_deploy"] == [str(inventory / "hooks" / "notify.sh")]
    assert hooks["on_failure"] == [] and hooks["post_app_boot"] == []


def test_absolute_paths_need_no_inventory_directory(inventory):
    script = str(inventory / "hooks" / "notify.sh")
    assert hooks_of({"post_deploy": script})["post_deploy"] == [script]


def test_relative_path_without_inventory_directory_is_a_problem():
    problems = problems_of({"pre_deploy": "hooks/notify.sh"})
    assert problems == ["berth_hooks.pre_deploy[0]: 'hooks/notify.sh' is relative but the host has no inventory "
                        "directory to resolve it against; give an absolute path"]


def test_unknown_hook_names_and_bad_shapes_are_named(inventory):
    problems = problems_of({"pre-deploy": "hooks/notify.sh", "post_deploy": [3], "on_failure": {"x": 1},
                            "pre_app_boot": ["hooks/mark.yml", ""]}, inventory)
    assert problems[0] == ("berth_hooks.pre-deploy: unknown hook (allowed: pre_deploy, pre_app_boot, post_app_boot, "
                           "post_deploy, on_failure)")
    assert problems[1].startswith("berth_hooks.post_deploy: [3] is not a file path or a list of file paths")
    assert problems[2].startswith("berth_hooks.on_failure: {'x': 1} is not a file path")
    assert problems[3].startswith("berth_hooks.pre_app_boot: ['hooks/mark.yml', ''] is not a file path")
    assert len(problems) == 4
    assert problems_of(["hooks/notify.sh"], inventory)[0].startswith(
        "berth_hooks: ['hooks/notify.sh'] is not a mapping of hook name to file(s)")


def test_missing_files_directories_and_scripts_that_cannot_run_are_named(inventory):
    problems = problems_of({"pre_deploy": ["hooks/notify.sh", "hooks/missing.sh", "hooks/not-executable.sh"],
                            "post_app_boot": ["hooks", "hooks/missing.yaml"]}, inventory)
    hooks = inventory / "hooks"
    assert problems == [
        f"berth_hooks.pre_deploy[1]: script {hooks}/missing.sh does not exist "
        "(relative paths start at the inventory directory)",
        f"berth_hooks.pre_deploy[2]: script {hooks}/not-executable.sh is not executable (chmod +x it; scripts run "
        "on the controller, files ending in .yml/.yaml are included as task files)",
        f"berth_hooks.post_app_boot[0]: script {hooks} is not a file",
        f"berth_hooks.post_app_boot[1]: task file {hooks}/missing.yaml does not exist "
        "(relative paths start at the inventory directory)",
    ]


def test_task_files_need_not_be_executable(inventory):
    assert hooks_of({"post_deploy": "hooks/mark.yml"}, inventory)["post_deploy"] == [str(inventory / "hooks/mark.yml")]


def test_hook_problems_come_with_every_other_problem(inventory):
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, "berth_version": "", "berth_hooks": {"pre_deploy": "hooks/missing.sh"}},
                   inventory_dir=str(inventory))
    assert [problem.split(":")[0] for problem in caught.value.problems] == ["berth_version", "berth_hooks.pre_deploy[0]"]


@pytest.mark.parametrize("path, task_file", [("a/b.yml", True), ("b.YAML", True), ("notify.sh", False),
                                             ("notify", False), ("yml", False), ("x.yml.sh", False)])
def test_task_files_are_told_apart_by_their_suffix(path, task_file):
    assert is_task_file(path) is task_file


def test_plan_hosts_are_the_roles_hosts_within_the_play_in_inventory_order():
    variables = {**MINIMAL, "berth_roles": {"web": {"proxy": {"host": "app.example.com"}}, "job": {}}}
    groups = {"web": ["web1", "web2", "both"], "job": ["both", "job1"], "db": ["db1"]}
    assert build_plan(variables, groups=groups)["hosts"] == ["web1", "web2", "both", "job1"]
    assert build_plan(variables, groups=groups, play_hosts=["job1", "web2", "db1"])["hosts"] == ["web2", "job1"]


def test_hooks_ansible_would_read_as_inventory_are_a_problem(inventory):
    """Given -i DIRECTORY, Ansible parses every file below it (and runs executable ones), except hidden ones."""
    hidden = inventory / ".hooks"
    hidden.mkdir()
    (hidden / "notify.sh").write_text("#!/bin/sh\n")
    (hidden / "notify.sh").chmod(0o755)
    hooks = {"pre_deploy": [".hooks/notify.sh", "hooks/notify.sh"], "post_deploy": "hooks/mark.yml"}
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, "berth_hooks": hooks}, inventory_dir=str(inventory),
                   inventory_sources=[str(inventory), "localhost,"])
    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "berth_hooks.pre_deploy[1]", "berth_hooks.post_deploy[0]"]
    assert caught.value.problems[0] == (
        f"berth_hooks.pre_deploy[1]: {inventory}/hooks/notify.sh is inside the inventory directory {inventory}, "
        "where Ansible reads every file as inventory and runs executable ones as inventory scripts; move it into a "
        f"hidden directory (e.g. {inventory}/.hooks/notify.sh) or out of the inventory directory")
    # the same files are fine when the inventory is given as a file
    plan = build_plan({**MINIMAL, "berth_hooks": hooks}, inventory_dir=str(inventory),
                      inventory_sources=[str(inventory / "hosts.yml")])
    assert plan["hooks"]["pre_deploy"] == [str(hidden / "notify.sh"), str(inventory / "hooks" / "notify.sh")]
