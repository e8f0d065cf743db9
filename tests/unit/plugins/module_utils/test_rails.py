import pytest

from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan

RAILS = {
    "berth_service": "shop",
    "berth_image": "registry.example.com/acme/shop",
    "berth_version": "v1",
    "berth_env": {"clear": {"RAILS_ENV": "production", "WEB_CONCURRENCY": 2, "RAILS_MAX_THREADS": 5},
                  "secret": {"SECRET_KEY_BASE": "s3cret"}},
    "berth_roles": {"web": {"proxy": {"host": "shop.example.com", "app_port": 3000}},
                    "job": {"cmd": "bin/jobs", "env": {"clear": {"JOB_CONCURRENCY": 3, "RAILS_MAX_THREADS": 4}}}},
}
GROUPS = {"web": ["web1", "web2", "web3"], "job": ["worker1"]}


def plan_of(variables, groups=None):
    return build_plan(variables, group_names=["web"], groups=groups or GROUPS)


def problems_of(variables, groups=None):
    with pytest.raises(ConfigError) as caught:
        plan_of(variables, groups)
    return "\n".join(caught.value.problems)


def test_connections_are_summed_over_roles_hosts_and_one_batch_of_overlap():
    plan = plan_of({**RAILS, "berth_postgres": {"max_connections": 200, "password": "pw"}})
    # web 2 x 5 = 10 per container x 3 hosts = 30; job 3 x 4 = 12 x 1 host = 12; all hosts in one batch
    assert plan["rails"]["connections"] == {"steady": 42, "deploy_overlap": 42, "headroom": 5, "total": 89,
                                            "max_connections": 200, "available": 197,
                                            "source": "berth_postgres.max_connections"}


def test_pool_that_does_not_fit_fails_with_the_numbers():
    text = problems_of({**RAILS, "berth_postgres": {"max_connections": 80, "password": "pw"}})
    assert "berth_rails: the database connections do not fit" in text
    assert "web: 2 processes x pool 5 = 10 per container x 3 hosts" in text
    assert "steady 42 + old and new containers of one deploy batch 42 + headroom 5 = 89 > 77" in text
    assert "berth_postgres.max_connections 80 minus 3 reserved" in text


def test_smaller_batches_make_it_fit():
    plan = plan_of({**RAILS, "berth_postgres": {"max_connections": 80, "password": "pw"}, "berth_boot": {"limit": 1}})
    assert plan["rails"]["connections"]["deploy_overlap"] == 10 + 12
    assert plan["rails"]["connections"]["total"] == 69


def test_pool_check_warn_only_warns():
    plan = plan_of({**RAILS, "berth_rails": {"pool_check": "warn", "max_connections": 50}})
    assert plan["warnings"] and "do not fit" in plan["warnings"][0]
    assert plan["rails"]["connections"]["source"] == "berth_rails.max_connections"


def test_no_known_database_means_no_pool_check():
    assert plan_of(RAILS)["rails"]["connections"] is None


def test_rails_defaults_malloc_arena_max_unless_set():
    plan = plan_of({**RAILS, "berth_roles": {**RAILS["berth_roles"], "job": {"env": {"clear": {"MALLOC_ARENA_MAX": "4"}}}}})
    assert plan["roles"]["web"]["env"]["MALLOC_ARENA_MAX"] == "2"
    assert plan["roles"]["job"]["env"]["MALLOC_ARENA_MAX"] == "4"
    assert "MALLOC_ARENA_MAX" not in plan_of({**RAILS, "berth_rails": {"malloc_arena_max": False}})["roles"]["web"]["env"]


def test_a_rails_role_without_its_key_secret_is_refused():
    variables = {**RAILS, "berth_env": {"clear": {"RAILS_ENV": "production"}}}
    text = problems_of(variables)
    assert "berth_roles.web: a Rails role needs SECRET_KEY_BASE or RAILS_MASTER_KEY" in text
    clear_key = {**RAILS, "berth_env": {"clear": {"RAILS_ENV": "production", "SECRET_KEY_BASE": "x"}}}
    assert "SECRET_KEY_BASE is in a clear env: move it to env.secret" in problems_of(clear_key)


def test_apps_that_are_not_rails_are_left_alone():
    plan = plan_of({**RAILS, "berth_env": {"clear": {"PORT": "3000"}}})
    assert plan["rails"] == {"enabled": False, "connections": None}
    assert "MALLOC_ARENA_MAX" not in plan["roles"]["web"]["env"]
    assert "not true, false or auto" in problems_of({**RAILS, "berth_rails": {"enabled": "yes"}})


def test_memory_limit_too_small_for_the_puma_workers_warns():
    roles = {**RAILS["berth_roles"], "web": {**RAILS["berth_roles"]["web"], "options": {"memory": "512m"}}}
    plan = plan_of({**RAILS, "berth_roles": roles})
    assert any("berth_roles.web.options.memory: 512m cannot hold 2 Puma workers" in warning for warning in plan["warnings"])
    assert not plan_of({**RAILS, "berth_roles": roles, "berth_rails": {"worker_memory": "200m"}})["warnings"]


def test_migration_runs_on_the_first_host_of_the_first_web_role_in_the_run():
    plan = build_plan({**RAILS, "berth_migrate": {"cmd": "bin/rails db:migrate"}}, groups=GROUPS,
                      play_hosts=["worker1", "web2", "web3"])
    assert plan["migrate"] == {"cmd": "bin/rails db:migrate", "when": "before_switch", "role": "web", "timeout": 3600,
                               "host": "web2"}
    assert build_plan(RAILS)["migrate"]["cmd"] is None


def test_bad_migration_settings_are_named():
    text = problems_of({**RAILS, "berth_migrate": {"cmd": 42, "when": "after", "role": "db", "timeout": 0}})
    assert "berth_migrate.cmd: 42 is not a command" in text
    assert "berth_migrate.when: 'after' is not one of before_switch" in text
    assert "berth_migrate.role: 'db' is not a role of berth_roles (web, job)" in text
    assert "berth_migrate.timeout: 0 is not seconds" in text
    limited = {**RAILS, "berth_migrate": {"cmd": "bin/rails db:migrate", "role": "job"}}
    with pytest.raises(ConfigError) as caught:
        build_plan(limited, groups=GROUPS, play_hosts=["web1"])
    assert "no host of role job (inventory group job) is in this run" in "\n".join(caught.value.problems)
