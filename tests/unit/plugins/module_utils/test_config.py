import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan

MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}, "job": {"cmd": "bin/jobs"}},
}


def problems_of(variables, mode="deploy"):
    with pytest.raises(ConfigError) as caught:
        build_plan(variables, mode=mode)
    return caught.value.problems


def test_minimal_config_gets_defaults():
    plan = build_plan(MINIMAL, group_names=["web", "job", "other"])
    assert plan["image_ref"] == "registry.example.com/acme/myapp:v1"
    assert plan["host_roles"] == ["web", "job"]
    assert plan["proxy_on_host"] is True
    assert plan["retain_containers"] == 5 and plan["drain_timeout"] == 30 and plan["deploy_timeout"] == 30
    assert plan["logging"] == {"driver": "json-file", "options": {"max-size": "10m"}, "secret_option_names": []}
    web = plan["roles"]["web"]
    assert web["route"] == "myapp-web"
    assert web["proxy"]["healthcheck"] == {"path": "/up", "port": 3000, "interval": 1.0, "timeout": 5.0}
    assert web["env_file"] == "/etc/berth/myapp/env/myapp-web.env"
    job = plan["roles"]["job"]
    assert job["proxy"] is None and job["route"] is None and job["readiness_delay"] == 7


def test_destination_enters_names():
    plan = build_plan({**MINIMAL, "berth_destination": "staging"}, group_names=["web"])
    assert plan["roles"]["web"]["container_prefix"] == "myapp-web-staging"


def test_every_problem_is_reported_at_once_naming_the_variable():
    problems = problems_of({
        "berth_service": "My_App",
        "berth_image": "registry.example.com/acme/myapp:v1",
        "berth_retain_container": 3,
        "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 70000, "hots": "x"}}},
    })
    text = "\n".join(problems)
    assert "berth_service: 'My_App' is not allowed" in text
    assert "berth_image: 'registry.example.com/acme/myapp:v1' is not allowed" in text
    assert "berth_version: is required" in text
    assert "berth_retain_container: unknown variable" in text
    assert "berth_roles.web.proxy.app_port: 70000 is not a port (1-65535)" in text
    assert "berth_roles.web.proxy.hots: unknown key" in text
    assert len(problems) == 6


def test_the_terraform_inventorys_variables_are_not_typos():
    plan = build_plan({**MINIMAL, "berth_tf": {"address": "hcloud_server.web[0]"},
                       "berth_tf_sensitive_outputs": {"db_password": "/inventory/servers.terraform_state.yml"}},
                      group_names=["web"])
    assert plan["service"] == MINIMAL["berth_service"]


def test_setup_mode_does_not_need_a_version():
    plan = build_plan({key: value for key, value in MINIMAL.items() if key != "berth_version"}, mode="setup")
    assert plan["version"] is None and plan["image_ref"] is None


def test_secret_values_are_never_echoed_nor_planned():
    variables = {**MINIMAL, "berth_env": {"clear": {"RAILS_ENV": "production", "WORKERS": 2, "ON": True},
                                          "secret": {"SECRET_KEY_BASE": "hunter2-very-secret"}}}
    plan = build_plan(variables)
    assert "hunter2-very-secret" not in repr(plan)
    assert plan["roles"]["web"]["secret_names"] == ["SECRET_KEY_BASE"]
    assert plan["roles"]["web"]["env"] == {"RAILS_ENV": "production", "WORKERS": "2", "ON": "true", "MALLOC_ARENA_MAX": "2"}
    problems = problems_of({**MINIMAL, "berth_env": {"secret": {"SECRET_KEY_BASE": "", "bad-name": "x"}}})
    assert any("SECRET_KEY_BASE: is required" in problem for problem in problems)
    assert any("bad-name: is not a valid environment variable name" in problem for problem in problems)


def test_role_env_merges_over_common_env():
    variables = {**MINIMAL, "berth_env": {"clear": {"A": "1", "B": "1"}, "secret": {"S": "x"}}}
    variables["berth_roles"] = {"job": {"env": {"clear": {"B": "2"}, "secret": {"T": "y"}}}}
    job = build_plan(variables)["roles"]["job"]
    assert job["env"] == {"A": "1", "B": "2"}
    assert job["secret_names"] == ["S", "T"]


@pytest.mark.parametrize("variables, expected", [
    ({"berth_roles": {}}, "berth_roles: is required"),
    ({"berth_roles": {"Web": {}}}, "berth_roles.Web: role names use lowercase"),
    ({"berth_roles": {"web": {"proxy": {"app_port": 3000}}}}, "needs host (or hosts) or a path_prefix"),
    ({"berth_roles": {"web": {"proxy": {"host": "bad host!"}}}}, "'bad host!' is not a host name"),
    ({"berth_roles": {"web": {"cmd": 42}}}, "berth_roles.web.cmd: 42 is not a command"),
    ({"berth_roles": {"web": {"options": {"memory": "lots"}}}}, "berth_roles.web.options.memory: 'lots' is not a size"),
    ({"berth_roles": {"web": {"options": {"cpu": 1}}}}, "berth_roles.web.options.cpu: is not a known option"),
    ({"berth_roles": {"web": {"options": {"labels": {"berth.version": "x"}}}}}, "reserved label prefix"),
    ({"berth_volumes": ["data"]}, "berth_volumes[0]: 'data' is not SOURCE:/container/path"),
    ({"berth_volumes": ["data:/a", "data:/b"]}, "berth_volumes[1]: 'data:/b': data is already mounted at /a"),
    ({"berth_drain_timeout": "soon"}, "berth_drain_timeout: 'soon' is not seconds"),
    ({"berth_retain_containers": 0}, "berth_retain_containers: 0 is not a count of containers (1-100)"),
    ({"berth_registry": {"server": "ghcr.io", "username": "me"}}, "username and password go together"),
    ({"berth_proxy": {"api_port": 0}}, "berth_proxy.api_port: 0 is not a port"),
    ({"berth_proxy": {"imagee": "x"}}, "berth_proxy.imagee: unknown key"),
    ({"berth_version": "v 1"}, "berth_version: 'v 1' is not allowed"),
    ({"berth_destination": "Prod"}, "berth_destination: 'Prod' is not allowed"),
])
def test_bad_values_are_named_with_what_is_allowed(variables, expected):
    problems = problems_of({**MINIMAL, **variables})
    assert any(expected in problem for problem in problems), problems


def test_numbers_given_as_strings_are_accepted():
    plan = build_plan({**MINIMAL, "berth_drain_timeout": "10", "berth_retain_containers": "3"})
    assert plan["drain_timeout"] == 10 and plan["retain_containers"] == 3
    assert plan["roles"]["web"]["stop_timeout"] == 10


def test_maintenance_defaults_and_the_page_server():
    plan = build_plan(MINIMAL, group_names=["web"])
    assert plan["maintenance"] == {"message": "We are doing some maintenance and will be back shortly.", "page": ""}
    proxy = plan["proxy"]
    assert (proxy["pages_image_repository"], proxy["pages_image_tag"]) == ("busybox", "1.36")
    assert proxy["pages_container_name"] == "berth-proxy-pages"
    assert proxy["pages_url"] == "http://berth-proxy-pages:8080"


def test_maintenance_page_must_be_a_file_on_the_controller(tmp_path):
    page = tmp_path / "maintenance.html"
    page.write_text("<p>%MESSAGE%</p>")
    plan = build_plan({**MINIMAL, "berth_maintenance": {"message": "Back soon", "page": str(page)}})
    assert plan["maintenance"] == {"message": "Back soon", "page": str(page)}
    problems = problems_of({**MINIMAL, "berth_maintenance": {"page": "pages/m.html", "mesage": "x"},
                            "berth_proxy": {"pages_image": ""}})
    assert "berth_maintenance.mesage: unknown key (allowed: message, page)" in problems
    assert any(problem.startswith("berth_maintenance.page: 'pages/m.html' is not allowed (an absolute path")
               for problem in problems)
    assert "berth_proxy.pages_image: is required" in problems
    missing = str(tmp_path / "missing.html")
    assert problems_of({**MINIMAL, "berth_maintenance": {"page": missing}}) == \
        [f"berth_maintenance.page: {missing!r} is not a file on the controller"]


def test_health_path_cannot_break_a_proxy_rule():
    roles = {"web": {"proxy": {"host": "app.example.com", "healthcheck": {"path": "/up`) || Host(`x"}}}}
    problems = problems_of({**MINIMAL, "berth_roles": roles})
    assert len(problems) == 1 and problems[0].startswith("berth_roles.web.proxy.healthcheck.path:")


@pytest.mark.parametrize("message", ["hotfix\n2026-12-04T00:00:00Z performer=mallory", "hotfix\n", "a\rb", "a\u2028b",
                                     "bell\x07"])
def test_berth_message_is_one_line_of_text(message):
    problems = problems_of({**MINIMAL, "berth_message": message})
    assert len(problems) == 1 and problems[0].startswith("berth_message: ")
    assert "holds a line break or another control character" in problems[0]
    assert build_plan({**MINIMAL, "berth_message": "hotfix for checkout (ünïcode, 'quotes')"})["message"]
