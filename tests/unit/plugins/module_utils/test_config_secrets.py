"""Config errors never print secret values (issue 12, item 2): a secret, or a value in the place of a
mapping that holds secrets, is named by its path and kind, never shown."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils._checks import Checker
from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan

SECRET = "hunter2-s3cr3t"
MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}},
}
HIDDEN = "(the value is not shown: it may hold a secret)"


def problems_of(variables):
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, **variables}, groups={"web": ["h1"]}, group_names=["web"], host="h1")
    assert SECRET not in str(caught.value)
    return caught.value.problems


def web_role(**settings):
    return {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}, **settings}}


@pytest.mark.parametrize("variables, expected", [
    ({"berth_env": {"secret": SECRET}}, f"berth_env.secret: is a string, not a mapping {HIDDEN}"),
    ({"berth_env": {"secret": [SECRET]}}, f"berth_env.secret: is a list, not a mapping {HIDDEN}"),
    ({"berth_env": {"secret": [f"TOKEN={SECRET}"]}}, f"berth_env.secret: is a list, not a mapping {HIDDEN}"),
    ({"berth_env": SECRET}, f"berth_env: is a string, not a mapping {HIDDEN}"),
    ({"berth_env": [{"secret": {"TOKEN": SECRET}}]}, f"berth_env: is a list, not a mapping {HIDDEN}"),
    ({"berth_env": {"secret": {"TOKEN": [SECRET]}}}, f"berth_env.secret.TOKEN: is a list, not a string {HIDDEN}"),
    ({"berth_env": {"secret": {"TOKEN": {"v": SECRET}}}}, f"berth_env.secret.TOKEN: is a mapping, not a string {HIDDEN}"),
    ({"berth_env": {"secret": {"TOKEN": f"{SECRET}\n"}}},
     f"berth_env.secret.TOKEN: holds a line break or another control character {HIDDEN}"),
    ({"berth_registry": SECRET}, f"berth_registry: is a string, not a mapping {HIDDEN}"),
    ({"berth_registry": [{"server": "ghcr.io", "password": SECRET}]}, f"berth_registry: is a list, not a mapping {HIDDEN}"),
    ({"berth_roles": web_role(env={"secret": SECRET})}, f"berth_roles.web.env.secret: is a string, not a mapping {HIDDEN}"),
    ({"berth_roles": web_role(env=SECRET)}, f"berth_roles.web.env: is a string, not a mapping {HIDDEN}"),
    ({"berth_roles": {"web": [{"env": {"secret": {"TOKEN": SECRET}}}]}}, f"berth_roles.web: is a list, not a mapping {HIDDEN}"),
    ({"berth_postgres": SECRET}, f"berth_postgres: is a string, not a mapping {HIDDEN}"),
    ({"berth_postgres": {"password": [SECRET]}}, f"berth_postgres.password: is a list, not a string {HIDDEN}"),
    ({"berth_redis": SECRET}, f"berth_redis: is a string, not a mapping {HIDDEN}"),
    ({"berth_redis": {"password": [SECRET]}}, f"berth_redis.password: is a list, not a string {HIDDEN}"),
    ({"berth_redis": {"password": f"{SECRET}\n"}}, f"berth_redis.password: holds a line break or another control character {HIDDEN}"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "env": {"secret": SECRET}}}},
     f"berth_accessories.mq.env.secret: is a string, not a mapping {HIDDEN}"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "env": {"secret": {"TOKEN": [SECRET]}}}}},
     f"berth_accessories.mq.env.secret.TOKEN: is a list, not a string {HIDDEN}"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "files": [SECRET]}}},
     f"berth_accessories.mq.files[0]: is a string, not a mapping {HIDDEN}"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "files": [[{"dest": "/x", "content": SECRET}]]}}},
     f"berth_accessories.mq.files[0]: is a list, not a mapping {HIDDEN}"),
    ({"berth_accessories": {"mq": [{"image": "rabbitmq:4", "env": {"secret": {"TOKEN": SECRET}}}]}},
     f"berth_accessories.mq: is a list, not a mapping {HIDDEN}"),
    ({"berth_accessories": [{"mq": {"env": {"secret": {"TOKEN": SECRET}}}}]},
     f"berth_accessories: is a list, not a mapping {HIDDEN}"),
])
def test_secret_bearing_values_are_never_shown(variables, expected):
    assert expected in problems_of(variables)


def test_a_secret_given_as_files_content_of_the_wrong_shape_is_not_shown():
    problems = problems_of({"berth_accessories": {"mq": {"image": "rabbitmq:4", "files": SECRET}}})
    assert "berth_accessories.mq.files: is not a list of {dest, src | content, mode, owner, group}" in problems


def test_every_checker_reader_of_a_secret_hides_it():
    check = Checker()
    check.mapping("a", SECRET, secret=True)
    check.secret("b", [SECRET])
    check.secret("c", {"x": SECRET})
    check.secret("d", f"{SECRET}\r")
    check.secret("e", "", required=True)
    assert len(check.problems) == 5 and SECRET not in "\n".join(check.problems)
    assert check.secret("f", SECRET) and check.secret("g", 1234) and len(check.problems) == 5
    # values that are not secrets are shown, to say what is wrong with them
    check.mapping("h", "not-a-mapping")
    assert check.problems[-1] == "h: 'not-a-mapping' is not a mapping"
