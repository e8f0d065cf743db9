"""Property-based test of the config validator (issue 12, item 14).

For random and hostile values of every variable build_plan reads (and of their nested keys), it
either returns a plan or raises ConfigError with a list of problems: never another exception. No
secret value (generated ones carry MARKER) appears in a problem, a warning or the plan.
Fixed seed (derandomize) and no example database, so every CI run checks the same examples.
"""
import math

from hypothesis import HealthCheck, Phase, event, given, settings, strategies as st

from ansible_collections.berth.deploy.plugins.module_utils import _config
from ansible_collections.berth.deploy.plugins.module_utils._accessory import (ACCESSORY_KEYS, BACKUP_KEYS, DIRECTORY_KEYS,
                                                                              FILE_KEYS, POSTGRES_KEYS, REDIS_KEYS)
from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan
from ansible_collections.berth.deploy.plugins.module_utils._hooks import HOOK_NAMES
from ansible_collections.berth.deploy.plugins.module_utils._options import HEALTHCHECK_KEYS, RUN_OPTIONS
from ansible_collections.berth.deploy.plugins.module_utils._rails import RAILS_KEYS

# Every generated secret value contains MARKER; nothing else does. It is not a literal: Hypothesis draws text
# from the string constants of the code it tests, and would put it in the other values too.
MARKER = bytes([83, 101, 75, 114, 69, 116, 55, 113]).decode()
GROUPS = {"web": ["h1", "h2"], "job": ["h2"], "db": ["h1"], "all": ["h1", "h2"]}
RUNS = {"deep": 1000, "one": 1500, "anything": 500, "valid": 300}  # 3,300 examples
PROPERTY_SETTINGS = dict(derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate, Phase.shrink],
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.filter_too_much])


def text(max_size):
    """Text that is not a secret (Hypothesis may copy a drawn string into another draw while it searches)."""
    return st.text(max_size=max_size).filter(lambda value: MARKER not in value)


HOSTILE_SCALARS = st.sampled_from([
    "", " ", "²", "٣", "-", "--5", "0", "-1", "+1", "1e309", "nan", "inf", "0x10", "1_000", "9" * 5000,
    "24h\n", "daily\nExecStart=/bin/sh", "a\nb", "a\rb", "\x00", "\t", "\u2028", "\x85", "/", "//", "/etc", "/etc/",
    "/var/lib/berth", "/srv/../etc", "../../etc", "~", "~nobody/x", "~\x00/x", "\udc80", "{{ x }}", "%h", "a:b:c",
    "0:0", "127.0.0.1:0:80", "[::1]:80:80", "80/sctp", "*", "Mon..Fri 03:00", "web", "db", "h1", "all",
    -(10 ** 90), 2 ** 63, 2 ** 64, -1, 0, 1, 2, 7, 65535, 65536, 1.5, -0.0, 1e309, math.nan, math.inf,
    True, False, None,
])
# built when drawn: Hypothesis cannot show a 5,000-digit number in its description of a strategy
HUGE_NUMBERS = st.sampled_from([5000, 100]).map(lambda digits: 10 ** digits)
SCALARS = st.one_of(HOSTILE_SCALARS, HUGE_NUMBERS, text(12), st.integers(), st.floats())
KEYS = st.one_of(st.sampled_from(["", "a.b", "bad name", "X", "web", "secret", "clear", "1"]), text(6),
                 st.integers(min_value=-5, max_value=5))
ANYTHING = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                        max_leaves=4)
ENV_NAMES = st.one_of(st.sampled_from(["SECRET_KEY_BASE", "RAILS_MASTER_KEY", "RAILS_ENV", "WEB_CONCURRENCY",
                                       "RAILS_MAX_THREADS", "DB_POOL", "JOB_CONCURRENCY", "A", "bad-name", "1X"]),
                      text(5))


def hostile(valid):
    """Mostly-valid values, sometimes anything at all."""
    return st.one_of(valid, valid, ANYTHING)


def secret_values():
    text = st.builds(lambda before, after: before + MARKER + after, st.text(max_size=4), st.text(max_size=4))
    return st.one_of(text, text.map(lambda value: value + "\n"), st.lists(text, min_size=1, max_size=2),
                     st.dictionaries(KEYS, text, min_size=1, max_size=2))


def misplaced(strategy):
    """A secret-bearing value where a mapping belongs: the secret as a string, or the mapping inside a list."""
    return st.one_of(strategy, strategy, secret_values(), st.lists(strategy, min_size=1, max_size=2))


def mapping(required=None, optional=None):
    return st.fixed_dictionaries(required or {}, optional=optional or {})


def any_keys(keys, value=ANYTHING):
    return mapping(optional={key: value for key in keys})


def env():
    return misplaced(mapping(optional={
        "clear": hostile(st.dictionaries(ENV_NAMES, SCALARS, max_size=3)),
        "secret": misplaced(st.dictionaries(ENV_NAMES, secret_values(), max_size=3)),
        "other": ANYTHING,
    }))


def options():
    typical = {
        "memory": st.sampled_from(["512m", "1g", "300m", -1, 0, "1tb", "²", 10 ** 30]) | HUGE_NUMBERS,
        "memory_swap": st.sampled_from([-1, "1g", "-2"]),
        "cpus": st.sampled_from([0.5, 2, "1e309", "nan", 10 ** 40]) | HUGE_NUMBERS,
        "cpu_shares": st.sampled_from([512, "²", 1, "9" * 5000]),
        "publish": st.lists(st.sampled_from(["80", "0:0", "8080:80", "127.0.0.1:5432:5432", "99999", "80\n"]),
                            max_size=2),
        "healthcheck": any_keys(HEALTHCHECK_KEYS, hostile(st.sampled_from(["true", 1, "²", ["CMD", "x"]]) | HUGE_NUMBERS)),
        "ulimits": hostile(st.dictionaries(st.sampled_from(["nofile", "nproc"]),
                                           st.one_of(st.integers(), any_keys(("soft", "hard"), st.integers())))),
        "labels": hostile(st.dictionaries(st.sampled_from(["a", "berth.x", "b\n"]), SCALARS, max_size=2)),
        "extra_hosts": hostile(st.dictionaries(st.sampled_from(["db", "x\ny"]), SCALARS, max_size=2)),
    }
    names = st.sampled_from(sorted(RUN_OPTIONS) + ["bogus"])
    return st.one_of(st.dictionaries(names, ANYTHING, max_size=3),
                     mapping(optional={name: hostile(value) for name, value in typical.items()}), ANYTHING)


def route():
    return any_keys(_config.ROUTE_KEYS, hostile(st.one_of(
        st.sampled_from(["app.example.com", "/api", 3000, "/up", True]),
        st.lists(st.sampled_from(["a.example.com", "bad host"]), max_size=2),
        any_keys(_config.HEALTHCHECK_DEFAULTS, hostile(st.sampled_from(["/up", 1, 0.5, "/up\n"]))),
    )))


def role():
    return misplaced(mapping(optional={
        "proxy": hostile(route()), "cmd": ANYTHING, "options": options(), "env": env(),
        "volumes": hostile(st.lists(st.sampled_from(["data:/data", "/:/host", "x", "a:/b:ro"]), max_size=2)),
        "readiness_delay": SCALARS, "stop_timeout": SCALARS, "unknown": ANYTHING,
    }))


def files():
    entry = misplaced(mapping(optional={
        **{key: ANYTHING for key in FILE_KEYS},
        "dest": hostile(st.sampled_from(["/etc/app.conf", "relative", "/a/"])), "content": secret_values(),
        "src": hostile(st.sampled_from(["missing.j2", "/etc/hostname"])), "mode": SCALARS, "owner": SCALARS,
        "group": SCALARS,
    }))
    return st.one_of(st.lists(entry, max_size=2), secret_values())


def accessory():
    keys = {key: ANYTHING for key in ACCESSORY_KEYS}
    keys.update({
        "image": hostile(st.sampled_from(["nginx:1", "registry.example.com/x:1"])), "env": env(), "files": files(),
        "hosts": hostile(st.sampled_from(["db", ["h1"], ["nowhere"], "all"])), "options": options(),
        "directories": hostile(st.lists(st.one_of(
            st.sampled_from(["data:/data", "/:/data", "/etc:/x", "../../etc:/x", "/srv/x:/data"]),
            any_keys(DIRECTORY_KEYS, SCALARS)), max_size=2)),
        "port": SCALARS,
    })
    return misplaced(mapping(optional=keys))


def postgres():
    keys = {key: ANYTHING for key in POSTGRES_KEYS}
    keys.update({
        "password": secret_values(), "data": hostile(st.sampled_from(["/", "/srv/pg", "pgdata", "/var/lib/berth/"])),
        "settings": hostile(st.dictionaries(st.sampled_from(["shared_buffers", "max_connections", "Bad"]), SCALARS)),
        "backup": hostile(any_keys(BACKUP_KEYS, hostile(st.sampled_from(
            ["daily", "daily\nExecStart=/bin/sh", "/", "/var/backups/x", 7, "²"])))),
        "options": options(),
    })
    return misplaced(mapping(optional=keys))


def redis():
    keys = {key: ANYTHING for key in REDIS_KEYS}
    keys.update({"password": secret_values(), "data": hostile(st.sampled_from(["/", "/srv/redis", "redisdata"])),
                 "options": options()})
    return misplaced(mapping(optional=keys))


def deep_strategies():
    """Every variable: mostly valid (so the reading goes deep), with hostile values in every nested key."""
    names = st.sampled_from(["web", "job", "Bad_Name", "a.b", ""])
    required = {
        "berth_service": hostile(st.just("myapp")),
        "berth_image": hostile(st.just("registry.example.com/acme/myapp")),
        "berth_roles": hostile(st.dictionaries(names, role(), min_size=1, max_size=2)),
    }
    optional = {
        "berth_version": hostile(st.just("v1")),
        "berth_destination": hostile(st.just("staging")),
        "berth_registry": misplaced(mapping(optional={
            "server": hostile(st.just("registry.example.com")), "username": hostile(st.just("deploy")),
            "password": secret_values()})),
        "berth_env": env(),
        "berth_proxy": hostile(any_keys(_config.PROXY_DEFAULTS)),
        "berth_accessories": misplaced(st.dictionaries(st.sampled_from(["db", "mq", "web", "Bad"]), accessory(),
                                                       max_size=2)),
        "berth_postgres": postgres(),
        "berth_redis": redis(),
        "berth_rails": hostile(any_keys(RAILS_KEYS)),
        "berth_migrate": hostile(any_keys(_config.MIGRATE_KEYS + ("other",))),
        "berth_boot": hostile(any_keys(_config.BOOT_KEYS)),
        "berth_hooks": hostile(st.dictionaries(st.sampled_from(HOOK_NAMES + ("bogus",)), hostile(st.lists(st.sampled_from(
            ["~\x00/x", "~nobody/x", "~/x.sh", "\udc80.yml", "/etc", "/etc/hostname", "x.yml", " ", "a\nb.sh"]),
            max_size=2)), max_size=2)),
        "berth_maintenance": hostile(any_keys(_config.MAINTENANCE_DEFAULTS)),
        "berth_logging": hostile(any_keys(_config.LOGGING_KEYS)),
        **{name: ANYTHING for name in _config.DEFAULTS if name.startswith("berth_host_") or name in (
            "berth_volumes", "berth_network", "berth_deploy_timeout", "berth_drain_timeout", "berth_retain_containers",
            "berth_lock_wait", "berth_lock_lease", "berth_message", "berth_state_dir", "berth_ssh_allow",
            "berth_canary_percent", "berth_proxy_force", "berth_kamal_config",
            "berth_kamal_secrets", "berth_build", "berth_builder")},
    }
    return required, optional


def variables_deep():
    required, optional = deep_strategies()
    return mapping(required, optional)


def one_variable_hostile():
    """A valid configuration with one variable drawn as in variables_deep: each example reaches deep into it."""
    required, optional = deep_strategies()
    strategies = {**required, **optional}
    valid = {"berth_service": "myapp", "berth_image": "registry.example.com/acme/myapp", "berth_version": "v1",
             "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}, "job": {"cmd": "x"}}}
    return st.sampled_from(sorted(strategies)).flatmap(
        lambda name: strategies[name].map(lambda value: {**valid, name: value}))


def variables_anything():
    """Anything at all for any variable; secrets anywhere a secret may be."""
    values = {name: ANYTHING for name in _config.DEFAULTS}
    values.update({"berth_env": env(), "berth_registry": secret_values(), "berth_postgres": secret_values(),
                   "berth_redis": secret_values(), "berth_roles": ANYTHING | st.dictionaries(KEYS, role(), max_size=2),
                   "berth_accessories": ANYTHING | st.dictionaries(KEYS, accessory(), max_size=2)})
    return mapping(optional=values)


def valid_with_secrets():
    """A valid configuration with a generated secret in every place a secret goes."""
    secret = st.builds(lambda before, after: before + MARKER + after, *[st.text(st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters='"\\\x85'), max_size=4)] * 2)
    secrets = st.dictionaries(st.sampled_from(["SECRET_KEY_BASE", "API_TOKEN", "X"]), secret, min_size=1, max_size=2)
    route = {"host": "app.example.com", "app_port": 3000}
    return mapping(required={
        "berth_service": st.just("myapp"),
        "berth_image": st.just("registry.example.com/acme/myapp"),
        "berth_version": st.just("v1"),
        "berth_roles": st.fixed_dictionaries({
            "web": st.fixed_dictionaries({"proxy": st.just(route), "env": st.fixed_dictionaries({"secret": secrets})}),
            "job": st.fixed_dictionaries({"cmd": st.just("bin/jobs"), "env": st.fixed_dictionaries({"secret": secrets})}),
        }),
        "berth_env": st.fixed_dictionaries({"clear": st.just({"RAILS_ENV": "production"}),
                                            "secret": st.fixed_dictionaries({"SECRET_KEY_BASE": secret})}),
        "berth_registry": st.fixed_dictionaries({"server": st.just("registry.example.com"),
                                                 "username": st.just("deploy"), "password": secret}),
        "berth_postgres": st.fixed_dictionaries({"password": secret, "hosts": st.just(["db"])}),
        "berth_redis": st.fixed_dictionaries({"password": secret}),
        "berth_accessories": st.fixed_dictionaries({"mq": st.fixed_dictionaries({
            "image": st.just("rabbitmq:4"), "env": st.fixed_dictionaries({"secret": secrets}),
            "files": st.lists(st.fixed_dictionaries({"dest": st.just("/etc/mq.conf"), "content": secret}),
                              min_size=1, max_size=1)})}),
    })


def check_plan_or_problems(variables, mode):
    try:
        plan = build_plan(variables, mode=mode, group_names=["web", "db"], groups=GROUPS, performer="me@here",
                          inventory_dir="/nonexistent-inventory", play_hosts=["h1", "h2"], host="h1")
    except ConfigError as error:
        assert error.problems and all(isinstance(problem, str) and problem for problem in error.problems)
        texts = [str(error)]
        event("problems", len(error.problems) if len(error.problems) < 3 else "3+")
    else:
        event("plan")
        texts = [repr(plan), *plan["warnings"]]
    for text in texts:
        assert MARKER not in text, text


@settings(max_examples=RUNS["deep"], **PROPERTY_SETTINGS)
@given(variables=variables_deep(), mode=st.sampled_from(_config.MODES))
def test_deep_hostile_values_give_a_plan_or_problems_and_never_a_secret(variables, mode):
    check_plan_or_problems(variables, mode)


@settings(max_examples=RUNS["one"], **PROPERTY_SETTINGS)
@given(variables=one_variable_hostile(), mode=st.sampled_from(_config.MODES))
def test_one_hostile_variable_gives_a_plan_or_problems_and_never_a_secret(variables, mode):
    check_plan_or_problems(variables, mode)


@settings(max_examples=RUNS["anything"], **PROPERTY_SETTINGS)
@given(variables=variables_anything(), mode=st.sampled_from(_config.MODES))
def test_any_value_of_any_variable_gives_a_plan_or_problems_and_never_a_secret(variables, mode):
    check_plan_or_problems(variables, mode)


@settings(max_examples=RUNS["valid"], **PROPERTY_SETTINGS)
@given(variables=valid_with_secrets(), mode=st.sampled_from(_config.MODES))
def test_a_valid_configuration_gives_a_plan_without_its_secrets(variables, mode):
    plan = build_plan(variables, mode=mode, group_names=["web", "db"], groups=GROUPS, host="h1")
    assert MARKER not in repr(plan) and plan["accessories"]["db"]["secret_names"] == ["POSTGRES_PASSWORD"]


def test_the_strategies_cover_every_variable():
    required, optional = deep_strategies()
    assert set(required) | set(optional) == set(_config.DEFAULTS)
