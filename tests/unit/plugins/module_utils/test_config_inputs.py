"""Hostile inputs to the config validator (issue 12, items 14 and 9): problems, never a traceback; whole-value matches."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _logs, _naming, _yaml
from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan
from ansible_collections.berth.deploy.plugins.module_utils._options import normalize_options

MINIMAL = {
    "berth_service": "myapp",
    "berth_image": "registry.example.com/acme/myapp",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}}},
}


def problems_of(variables):
    with pytest.raises(ConfigError) as caught:
        build_plan({**MINIMAL, **variables}, groups={"web": ["h1"]}, group_names=["web"], host="h1")
    return caught.value.problems


def one_problem(variables, starts_with):
    problems = problems_of(variables)
    assert len(problems) == 1 and problems[0].startswith(starts_with), problems
    return problems[0]


@pytest.mark.parametrize("variables, starts_with", [
    ({"berth_retain_containers": "²"}, "berth_retain_containers: '²' is not a count of containers (1-100)"),
    ({"berth_retain_containers": "--5"}, "berth_retain_containers: '--5' is not a count"),
    ({"berth_deploy_timeout": "9" * 5000}, "berth_deploy_timeout: '99999"),
    ({"berth_deploy_timeout": 10 ** 5000}, "berth_deploy_timeout: is a number too large for any setting"),
    ({"berth_lock_wait": 10 ** 400}, "berth_lock_wait: is a number too large"),
    ({"berth_lock_wait": "1e400"}, "berth_lock_wait: '1e400' is not a number of seconds"),
    ({"berth_lock_wait": float("nan")}, "berth_lock_wait: nan is not a number of seconds"),
    ({"berth_roles": {"web": {"cmd": "x", "options": {"cpu_shares": "²"}}}},
     "berth_roles.web.options.cpu_shares: '²' is not a whole number (2-262144)"),
    ({"berth_roles": {"web": {"cmd": "x", "options": {"pids_limit": "9" * 5000}}}},
     "berth_roles.web.options.pids_limit: '99999"),
    ({"berth_roles": {"web": {"cmd": "x", "options": {"cpus": 10 ** 400}}}}, "berth_roles.web.options.cpus: is a number too large"),
    ({"berth_roles": {"web": {"cmd": "x", "options": {"cpus": "1e400"}}}},
     "berth_roles.web.options.cpus: '1e400' is not a number of CPUs"),
    ({"berth_roles": {"web": {"cmd": "x", "options": {"healthcheck": {"cmd": "true", "retries": "²"}}}}},
     "berth_roles.web.options.healthcheck: {'cmd': 'true', 'retries': '²'} has retries '²'"),
    ({"berth_env": {"secret": {"SECRET_KEY_BASE": "k"}}, "berth_rails": {"worker_memory": "9" * 5000}},
     "berth_rails.worker_memory: '99999"),
    ({"berth_migrate": {"cmd": "x", "role": ["web"]}}, "berth_migrate.role: ['web'] is not a role of berth_roles"),
    ({"berth_postgres": {"password": "pw", "port": 5432, "options": {"publish": 5}}},
     "berth_postgres.options.publish: 5 is not a list of strings"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "port": [5672]}}}, "berth_accessories.mq.port: [5672] is not a port"),
    ({"berth_roles": {"web": {"cmd": "x", "options": {"labels": {"a": {"b": 1}}}}}}, "berth_roles.web.options.labels:"),
])
def test_hostile_numbers_and_shapes_are_problems_not_tracebacks(variables, starts_with):
    one_problem(variables, starts_with)


def test_the_rails_pool_check_reads_a_process_count_that_is_not_a_number_as_unset():
    env = {"clear": {"WEB_CONCURRENCY": "²", "RAILS_MAX_THREADS": "9" * 5000, "RAILS_ENV": "production"},
           "secret": {"SECRET_KEY_BASE": "k"}}
    roles = {"web": {"proxy": {"host": "app.example.com", "app_port": 3000}, "env": env}}
    plan = build_plan({**MINIMAL, "berth_roles": roles, "berth_rails": {"max_connections": 50}}, groups={"web": ["h1"]})
    assert plan["rails"]["connections"]["steady"] == 1 * 5  # 1 process x the default pool of 5, on 1 host


def test_hook_paths_with_control_characters_are_problems():
    one_problem({"berth_hooks": {"post_deploy": ["~\x00/notify.sh"]}},
                "berth_hooks.post_deploy[0]: '~\\x00/notify.sh' holds a line break or another control character")


def test_deeply_nested_values_and_alias_loops_are_refused_before_reading():
    nested: list = []
    inner = nested
    for _level in range(40):
        inner.append([])
        inner = inner[0]
    loop: dict = {}
    loop["self"] = loop
    problems = problems_of({"berth_volumes": nested, "berth_proxy": loop})
    assert any(problem.startswith("berth_volumes") and "nested deeper than 32 levels" in problem for problem in problems)
    assert "berth_proxy.self: contains itself (a YAML alias loop)" in problems


@pytest.mark.parametrize("options, expected", [
    ({"memory": -1}, "memory: -1 is not a size"),
    ({"memory": 0}, "memory: 0 is not a size"),
    ({"memory": "0m"}, "memory: '0m' is not a size"),
    ({"shm_size": 2 ** 64}, "shm_size: 18446744073709551616 is not a size"),
    ({"publish": ["0:0"]}, "publish: ['0:0'] entry '0:0' has a port out of range (1-65535)"),
    ({"publish": ["0"]}, "publish: ['0'] entry '0' has a port out of range"),
    ({"publish": ["80\n"]}, "publish: ['80\\n'] holds a line break"),
    ({"ulimits": {"nofile": {"soft": 10, "hard": 5}}}, "ulimits: {'nofile': {'soft': 10, 'hard': 5}} has a soft limit above"),
    ({"extra_hosts": {"db": "10.0.0.1\n10.0.0.2 evil"}}, "extra_hosts: {'db': '10.0.0.1\\n10.0.0.2 evil'} has 'db'"),
    ({"user": "app\nroot"}, "user: 'app\\nroot' holds a line break"),
])
def test_options_out_of_range_are_refused(options, expected):
    _normalized, problems = normalize_options(options)
    assert len(problems) == 1 and f"{problems[0][0]}: {problems[0][1]}".startswith(expected), problems


def test_memory_swap_may_be_unlimited():
    assert normalize_options({"memory": "1g", "memory_swap": -1}) == ({"memory": "1g", "memory_swap": -1}, [])


def test_secrets_and_clear_values_with_line_breaks_are_refused_at_validation():
    problems = problems_of({"berth_env": {"clear": {"A": "x\ny"}, "secret": {"B": "p\nq", "C": "r\x00s"}}})
    assert problems == [
        "berth_env.clear.A: 'x\\ny' holds a line break or another control character",
        "berth_env.secret.B: holds a line break or another control character (the value is not shown: it may hold a secret)",
        "berth_env.secret.C: holds a line break or another control character (the value is not shown: it may hold a secret)",
    ]
    one_problem({"berth_postgres": {"password": "pw\n"}}, "berth_postgres.password: holds a line break")
    one_problem({"berth_roles": {"web": {"cmd": "x", "env": {"secret": {"T": "a\u2028b"}}}}},
                "berth_roles.web.env.secret.T: holds a line break")


# Item 9: a value with a trailing newline matched r"...$" and went on into unit files.
@pytest.mark.parametrize("variables, starts_with", [
    ({"berth_host_prune_until": "24h\n"}, "berth_host_prune_until: '24h\\n' holds a line break"),
    ({"berth_host_prune_until": "2026-01-01;x"}, "berth_host_prune_until: '2026-01-01;x' is not allowed"),
    ({"berth_host_prune_until": "2026-01-01T00:00:00Z%h"}, "berth_host_prune_until: '2026-01-01T00:00:00Z%h' is not allowed"),
    ({"berth_host_prune_schedule": "daily\nExecStart=/bin/sh -c id"}, "berth_host_prune_schedule: 'daily\\nExecStart"),
    ({"berth_host_prune_schedule": "daily;id"}, "berth_host_prune_schedule: 'daily;id' is not allowed"),
    ({"berth_service": "myapp\n"}, "berth_service: 'myapp\\n' holds a line break"),
    ({"berth_version": "v1\n"}, "berth_version: 'v1\\n' holds a line break"),
    ({"berth_state_dir": "/etc/berth\n"}, "berth_state_dir: '/etc/berth\\n' holds a line break"),
    ({"berth_host_log_max_size": "10m\n"}, "berth_host_log_max_size: '10m\\n' holds a line break"),
    ({"berth_host_firewall_allow_ports": ["80\n"]}, "berth_host_firewall_allow_ports[0]: '80\\n' holds a line break"),
    ({"berth_postgres": {"password": "pw", "backup": {"schedule": "daily\nExecStartPre=/bin/sh -c id"}}},
     "berth_postgres.backup.schedule: 'daily\\nExecStartPre"),
    ({"berth_postgres": {"password": "pw", "backup": {"schedule": "*-*-* 03:00; rm"}}},
     "berth_postgres.backup.schedule: '*-*-* 03:00; rm' is not allowed (empty, or a systemd calendar event"),
    ({"berth_postgres": {"password": "pw", "backup": {"dir": "/srv/backups\n"}}}, "berth_postgres.backup.dir: '/srv/backups\\n'"),
    ({"berth_postgres": {"password": "pw", "settings": {"work_mem": "4MB\n"}}}, "berth_postgres.settings.work_mem: '4MB\\n'"),
    ({"berth_redis": {"password": "pw", "maxmemory": "1gb\n"}}, "berth_redis.maxmemory: '1gb\\n' holds a line break"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "files": [{"dest": "/etc/x\n", "content": "c"}]}}},
     "berth_accessories.mq.files[0].dest: '/etc/x\\n'"),
    ({"berth_accessories": {"mq": {"image": "rabbitmq:4", "files": [{"dest": "/etc/x", "content": "c", "mode": "0640\n"}]}}},
     "berth_accessories.mq.files[0].mode: '0640\\n' is not an octal file mode"),
])
def test_values_match_whole_so_a_final_newline_is_refused(variables, starts_with):
    one_problem(variables, starts_with)


def test_valid_schedules_and_prune_times_still_pass():
    plan = build_plan({**MINIMAL, "berth_host_prune_schedule": "Mon..Fri *-*-* 03:15:00 Europe/Berlin",
                       "berth_host_prune_until": "2026-01-22T05:00:00+01:00",
                       "berth_postgres": {"password": "pw", "backup": {"schedule": "Sat,Sun 04:00"}}})
    assert plan["host"]["prune_schedule"] == "Mon..Fri *-*-* 03:15:00 Europe/Berlin"
    assert plan["accessories"]["db"]["postgres"]["backup"]["schedule"] == "Sat,Sun 04:00"
    for until in ("24h", "1h30m", "1706000000", "2026-01-22"):
        assert build_plan({**MINIMAL, "berth_host_prune_until": until})["host"]["prune_until"] == until


def test_the_shared_name_and_syntax_patterns_match_whole_values():
    assert _naming.is_valid_name("web") and not _naming.is_valid_name("web\n")
    assert _naming.is_valid_version("v1") and not _naming.is_valid_version("v1\n")
    assert _yaml.dump({"key\n": 1}) != _yaml.dump({"key": 1}) and '"key\\n"' in _yaml.dump({"key\n": 1})
    assert _logs.DURATION_PATTERN.fullmatch("10m") and not _logs.DURATION_PATTERN.fullmatch("10m\n")


@pytest.mark.parametrize("data", ["/", "//", "/etc", "/etc/", "/usr", "/var", "/boot", "/proc", "/sys", "/dev", "/root",
                                  "/home", "/srv/../etc", "/var/lib/berth", "/var/lib/docker", "/etc/berth"])
def test_accessory_data_may_not_be_a_system_directory(data):
    for variable in ("berth_postgres", "berth_redis"):
        one_problem({variable: {"password": "pw", "data": data}},
                    f"{variable}.data: {data!r} is the root, a system directory or berth's own")
    one_problem({"berth_postgres": {"password": "pw", "backup": {"dir": data}}},
                f"berth_postgres.backup.dir: {data!r} is the root")
    one_problem({"berth_accessories": {"mq": {"image": "rabbitmq:4", "directories": [f"{data}:/data"]}}},
                f"berth_accessories.mq.directories[0].path: {data!r} is the root")


def test_accessory_directories_of_their_own_are_fine_and_relative_ones_stay_inside():
    plan = build_plan({**MINIMAL, "berth_postgres": {"password": "pw", "data": "/srv/pg", "backup": {"dir": "/srv/pg-backups/"}},
                       "berth_accessories": {"mq": {"image": "rabbitmq:4", "directories": ["/home/mq:/data"]}}})
    assert plan["accessories"]["db"]["postgres"]["backup"]["dir"] == "/srv/pg-backups"
    assert plan["accessories"]["db"]["directories"][0]["path"] == "/srv/pg"
    one_problem({"berth_accessories": {"mq": {"image": "rabbitmq:4", "directories": ["../../../etc:/data"]}}},
                "berth_accessories.mq.directories[0].path: '../../../etc:/data': a relative HOST_DIR stays inside")
