import pytest

from ansible_collections.berth.deploy.plugins.module_utils._accessory import unmounted_image_volumes
from ansible_collections.berth.deploy.plugins.module_utils._config import ConfigError, build_plan
from ansible_collections.berth.deploy.plugins.module_utils._options import normalize_options

BASE = {
    "berth_service": "shop",
    "berth_image": "registry.example.com/acme/shop",
    "berth_version": "v1",
    "berth_roles": {"web": {"proxy": {"host": "shop.example.com", "app_port": 3000}}},
}
GROUPS = {"all": ["web1", "web2", "db1"], "web": ["web1", "web2"], "dbs": ["db1"]}


def plan_of(variables, host="web1", groups=None):
    return build_plan({**BASE, **variables}, groups=groups or GROUPS, group_names=["web"], host=host)


def problems_of(variables, groups=None):
    with pytest.raises(ConfigError) as caught:
        plan_of(variables, groups=groups or GROUPS)
    return "\n".join(caught.value.problems)


def test_an_accessory_runs_on_the_primary_host_by_default_and_publishes_on_loopback_only():
    plan = plan_of({"berth_accessories": {"search": {"image": "opensearch:2", "port": 9200}}})
    search = plan["accessories"]["search"]
    assert search["container"] == "shop-search"
    assert search["hosts"] == ["web1"]
    assert search["options"]["publish"] == ["127.0.0.1:9200:9200"]
    assert search["image_repository"] == "opensearch" and search["image_tag"] == "2"
    assert search["registry_auth"] is False and search["role"] == "berth.deploy.accessory"
    assert plan["host_accessories"] == ["search"]
    assert plan_of({"berth_accessories": {"search": {"image": "opensearch:2"}}}, host="web2")["host_accessories"] == []


def test_an_address_given_with_the_port_is_kept():
    plan = plan_of({"berth_accessories": {"search": {"image": "opensearch:2", "port": "10.0.0.5:19200:9200"}}})
    assert plan["accessories"]["search"]["options"]["publish"] == ["10.0.0.5:19200:9200"]
    plan = plan_of({"berth_accessories": {"search": {"image": "opensearch:2", "port": "19200:9200"}}})
    assert plan["accessories"]["search"]["options"]["publish"] == ["127.0.0.1:19200:9200"]


def test_hosts_are_inventory_hosts_or_groups_and_a_group_named_after_the_accessory_is_the_default():
    plan = plan_of({"berth_accessories": {"cache": {"image": "memcached:1", "hosts": ["dbs", "web2"]}}}, host="db1")
    assert plan["accessories"]["cache"]["hosts"] == ["db1", "web2"]
    assert plan["host_accessories"] == ["cache"]
    groups = {**GROUPS, "cache": ["web2"]}
    assert plan_of({"berth_accessories": {"cache": {"image": "memcached:1"}}}, groups=groups or GROUPS)["accessories"]["cache"][
        "hosts"] == ["web2"]
    text = problems_of({"berth_accessories": {"cache": {"image": "memcached:1", "hosts": ["nowhere"]}}})
    assert "berth_accessories.cache.hosts: 'nowhere' is neither a host nor a group of the inventory" in text


def test_files_directories_and_volumes_become_mounts():
    plan = plan_of({"berth_accessories": {"mq": {
        "image": "rabbitmq:3",
        "files": [{"dest": "/etc/rabbitmq/rabbitmq.conf", "content": "x = 1\n", "mode": 0o640, "owner": 999}],
        "directories": ["data:/var/lib/rabbitmq", {"path": "/srv/mq-logs:/logs", "owner": "999", "mode": "0700"}],
        "volumes": ["mq-plugins:/plugins"],
    }}})
    mq = plan["accessories"]["mq"]
    conf = "/etc/berth/shop/accessories/shop-mq/files/etc/rabbitmq/rabbitmq.conf"
    assert mq["files"] == [{"index": 0, "dest": "/etc/rabbitmq/rabbitmq.conf", "path": conf, "src": "",
                            "mode": "0640", "owner": "999", "group": "root"}]
    assert [item["path"] for item in mq["directories"]] == ["/var/lib/berth/shop-mq/data", "/srv/mq-logs"]
    assert mq["directories"][1]["group"] == "999"
    assert mq["volumes"] == [f"{conf}:/etc/rabbitmq/rabbitmq.conf:ro", "/var/lib/berth/shop-mq/data:/var/lib/rabbitmq",
                             "/srv/mq-logs:/logs", "mq-plugins:/plugins"]
    assert "content" not in repr(mq["files"]) and "x = 1" not in repr(plan)


def test_accessory_files_are_private_unless_a_mode_is_given():
    files = [{"dest": "/etc/app/secret.env", "content": "TOKEN=x\n"}, {"dest": "/etc/motd", "content": "hi\n", "mode": "0644"}]
    mq = plan_of({"berth_accessories": {"mq": {"image": "rabbitmq:3", "files": files}}})["accessories"]["mq"]
    modes = [(item["mode"], item["owner"], item["group"]) for item in mq["files"]]
    assert modes == [("0600", "root", "root"), ("0644", "root", "root")]


def test_bad_accessory_settings_are_all_named():
    text = problems_of({"berth_accessories": {"Bad_Name": {"imag": "x"}, "mq": {
        "files": [{"dest": "relative/path"}, {"dest": "/a", "src": "a.j2", "content": "b"}],
        "directories": ["nocolon"], "port": "99999", "healthcheck": {"cmd": ""}, "options": {"memroy": "1g"},
        "stop_timeout": -1}}})
    for expected in ("berth_accessories.Bad_Name: accessory names use lowercase letters",
                     "berth_accessories.Bad_Name.imag: unknown key",
                     "berth_accessories.mq.image: is required",
                     "berth_accessories.mq.files[0].dest: 'relative/path' is not allowed",
                     "berth_accessories.mq.files[0]: needs exactly one of src",
                     "berth_accessories.mq.files[1]: needs exactly one of src",
                     "berth_accessories.mq.directories[0].path: 'nocolon' is not HOST_DIR:/container/path",
                     "berth_accessories.mq.port: entry '99999' has a port out of range",
                     "berth_accessories.mq.healthcheck: {'cmd': ''} is not a mapping with cmd",
                     "berth_accessories.mq.options.memroy: is not a known option",
                     "berth_accessories.mq.stop_timeout: -1 is not seconds"):
        assert expected in text


def test_an_accessory_may_not_take_a_role_name():
    assert "accessory web: has the name of a role" in problems_of({"berth_accessories": {"web": {"image": "nginx:1"}}})


def test_postgres_maps_onto_the_official_image_contract_without_its_password():
    plan = plan_of({"berth_postgres": {"password": "pg-secret-value", "max_connections": 50, "hosts": ["dbs"],
                                       "settings": {"shared_buffers": "256MB", "fsync": True}}}, host="db1")
    db = plan["accessories"]["db"]
    assert db["kind"] == "postgres" and db["container"] == "shop-db" and db["hosts"] == ["db1"]
    assert db["role"] == "berth.deploy.postgres"
    assert db["image"] == "postgres:17"
    assert db["cmd"] == ["postgres", "-c", "max_connections=50", "-c", "fsync=on", "-c", "shared_buffers=256MB"]
    assert db["env"] == {"POSTGRES_USER": "shop", "POSTGRES_DB": "shop", "PGDATA": "/var/lib/postgresql/data"}
    assert db["secret_names"] == ["POSTGRES_PASSWORD"]
    assert db["volumes"] == ["shop-db-data:/var/lib/postgresql/data"]
    assert db["healthcheck"] and "pg_isready" in db["options"]["healthcheck"]["cmd"]
    assert db["postgres"] == {"user": "shop", "database": "shop", "max_connections": 50, "port": 5432,
                              "backup": {"schedule": "daily", "keep": 7, "dir": "/var/backups/berth/shop-db"}}
    assert "pg-secret-value" not in repr(plan)
    assert plan["host_accessories"] == ["db"]


def test_postgres_data_in_a_host_directory_belongs_to_the_postgres_user():
    db = plan_of({"berth_postgres": {"password": "pw", "data": "/srv/pg"}})["accessories"]["db"]
    assert db["directories"] == [{"path": "/srv/pg", "container_path": "/var/lib/postgresql/data", "mode": "0700",
                                  "owner": "999", "group": "999"}]
    assert db["volumes"] == ["/srv/pg:/var/lib/postgresql/data"]


def test_postgres_problems_are_named():
    text = problems_of({"berth_postgres": {"user": "Bad-User", "max_connections": 1, "settings": {"max_connections": 5},
                                           "backup": {"keep": 0, "dir": "backups"}}})
    for expected in ("berth_postgres.password: is required", "berth_postgres.user: 'Bad-User' is not allowed",
                     "berth_postgres.max_connections: 1 is not connections (5-100000)",
                     "berth_postgres.settings.max_connections: is not a Postgres setting name",
                     "berth_postgres.backup.keep: 0 is not a number of backups",
                     "berth_postgres.backup.dir: 'backups' is not allowed"):
        assert expected in text


def test_redis_gets_one_config_file_and_its_password_only_by_name():
    plan = plan_of({"berth_redis": {"password": "redis-secret", "maxmemory": "256mb", "maxmemory_policy": "allkeys-lru"}})
    redis = plan["accessories"]["redis"]
    assert redis["cmd"] == ["redis-server", "/usr/local/etc/redis/redis.conf"]
    assert redis["volumes"] == ["shop-redis-data:/data",
                                "/etc/berth/shop/accessories/shop-redis/redis.conf:/usr/local/etc/redis/redis.conf:ro"]
    assert redis["secret_names"] == ["REDISCLI_AUTH"]
    assert redis["redis"] == {"conf_path": "/etc/berth/shop/accessories/shop-redis/redis.conf", "owner": "999",
                              "maxmemory": "256mb", "maxmemory_policy": "allkeys-lru", "appendonly": True}
    assert "redis-secret" not in repr(plan)
    assert "is not one of noeviction" in problems_of({"berth_redis": {"password": "pw", "maxmemory_policy": "lru"}})


@pytest.mark.parametrize("settings", [{"maxmemory": "64mb"}, {"password": ""}, {"password": None}])
def test_redis_without_a_password_is_refused(settings):
    # Redis listens on the deploy network every app and accessory shares
    text = problems_of({"berth_redis": settings})
    assert "berth_redis.password: is required, a non-empty string" in text and "REDIS_URL in berth_env.secret" in text


def test_a_redis_password_that_is_not_a_string_is_refused_unshown():
    text = problems_of({"berth_redis": {"password": 4242}})
    assert "berth_redis.password: is a number, not a string" in text and "4242" not in text


def test_an_accessory_name_is_used_once():
    text = problems_of({"berth_postgres": {"password": "pw"}, "berth_accessories": {"db": {"image": "mysql:8"}}})
    assert "berth_postgres.name: 'db' is also a key of berth_accessories" in text


def test_the_rails_connection_check_reads_the_postgres_accessory():
    rails = {"berth_env": {"clear": {"RAILS_ENV": "production"}, "secret": {"SECRET_KEY_BASE": "k"}}}
    plan = plan_of({**rails, "berth_postgres": {"password": "pw", "max_connections": 30}})
    assert plan["rails"]["connections"]["max_connections"] == 30
    text = problems_of({**rails, "berth_postgres": {"password": "pw", "max_connections": 20}})
    # 5 per container x 2 hosts, plus both in one batch, plus 5 headroom = 25 > 17
    assert "steady 10 + old and new containers of one deploy batch 10 + headroom 5 = 25 > 17" in text


def test_docker_healthcheck_option_in_the_engine_form():
    options, problems = normalize_options({"healthcheck": {"cmd": "pg_isready", "interval": 0.5, "retries": 10,
                                                           "start_period": 30}})
    assert problems == []
    assert options["healthcheck"] == {"test": ["CMD-SHELL", "pg_isready"], "interval": 500_000_000,
                                      "timeout": 5_000_000_000, "retries": 10, "start_period": 30_000_000_000}
    options, _problems = normalize_options({"healthcheck": {"cmd": ["redis-cli", "ping"]}})
    assert options["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"] and options["healthcheck"]["start_period"] == 0
    _options, problems = normalize_options({"healthcheck": {"cmd": "x", "every": 2}})
    assert problems and "unknown keys every" in problems[0][1]


def test_a_redis_password_must_fit_in_redis_conf_and_is_never_shown():
    text = problems_of({"berth_redis": {"password": 'has"quote'}})
    assert "berth_redis.password: holds a double quote, a backslash or a line break" in text
    assert 'has"quote' not in text
    assert plan_of({"berth_redis": {"password": "with spaces ok"}})["accessories"]["redis"]["secret_names"] == ["REDISCLI_AUTH"]


def test_registry_credentials_go_only_to_images_of_that_registry():
    registry = {"berth_registry": {"server": "registry.example.com", "username": "deploy", "password": "pw"}}
    plan = plan_of({**registry, "berth_postgres": {"password": "pw", "image": "registry.example.com/mirror/postgres:17"},
                    "berth_redis": {"password": "pw", "image": "redis:7"}})
    assert plan["accessories"]["db"]["registry_auth"] is True
    assert plan["accessories"]["redis"]["registry_auth"] is False


def test_image_volumes_without_their_own_mount_are_named():
    volumes = ["/etc/berth/x/files/etc/app.conf:/etc/app.conf:ro", "/var/lib/berth/shop-mq/data:/var/lib/rabbitmq/",
               "mq-plugins:/plugins"]
    assert unmounted_image_volumes(["/var/lib/rabbitmq", "/plugins"], volumes) == []
    # a parent directory's mount does not help: Docker mounts the anonymous volume on top of it
    assert unmounted_image_volumes(["/var/lib/rabbitmq/mnesia", "/logs", "/cache"], volumes, ["/cache"]) == [
        "/logs", "/var/lib/rabbitmq/mnesia"]
    assert unmounted_image_volumes([], volumes) == []
