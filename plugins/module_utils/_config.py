# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration: one schema, one set of defaults, one place for error messages.

``build_plan`` takes the raw ``berth_*`` variables of one host, checks every one of them,
and returns the normalized plan that roles and modules consume. It collects every problem
before failing, so a user fixes them all in one go. Secret values never enter the plan:
only their names do.
"""
from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils import _files, _handling, _naming
from ansible_collections.berth.deploy.plugins.module_utils._checks import (ABSOLUTE_PATH_PATTERN, CALENDAR_PATTERN, ENV_NAME_PATTERN,
                                                                           URL_PATH_PATTERN, Checker, read_env,
                                                                           read_volumes, show, unreadable)
from ansible_collections.berth.deploy.plugins.module_utils._accessory import Context, accessories_plan
from ansible_collections.berth.deploy.plugins.module_utils._hooks import normalize_hooks
from ansible_collections.berth.deploy.plugins.module_utils._https import acme_settings, check_wildcards, route_tls
from ansible_collections.berth.deploy.plugins.module_utils._image import on_registry, split_reference
from ansible_collections.berth.deploy.plugins.module_utils._maintenance import DEFAULT_MESSAGE
from ansible_collections.berth.deploy.plugins.module_utils._options import normalize_options
from ansible_collections.berth.deploy.plugins.module_utils._proxy.host import shared_settings
from ansible_collections.berth.deploy.plugins.module_utils._rails import rails_plan

MODES = ("setup", "deploy")

# Every variable the collection reads, with its default (None: required or optional without one).
DEFAULTS: dict[str, t.Any] = {
    "berth_service": None,
    "berth_image": None,
    "berth_version": None,
    "berth_destination": "",
    "berth_registry": None,
    "berth_proxy": {},
    "berth_roles": None,
    "berth_env": {},
    "berth_volumes": [],
    "berth_network": "berth",
    "berth_logging": {"driver": "json-file", "options": {"max-size": "10m"}},
    "berth_deploy_timeout": 30,
    "berth_drain_timeout": 30,
    "berth_retain_containers": 5,
    "berth_boot": {},
    "berth_lock_wait": 0,
    "berth_lock_lease": 900,
    "berth_message": "",
    "berth_hooks": {},
    "berth_state_dir": "/etc/berth",
    "berth_maintenance": {},
    "berth_rails": {},
    "berth_migrate": {},
    "berth_postgres": {},
    "berth_redis": {},
    "berth_accessories": {},
    "berth_canary_percent": None,  # playbooks/canary.yml
    "berth_proxy_force": False,  # roles/proxy: replace a proxy other services use with other settings
    "berth_build": False,  # deploy.yml builds the image first (playbooks/build.yml)
    "berth_builder": {},
    "berth_kamal_config": None,  # playbooks/kamal_import.yml: a Kamal 2 file gives the other variables
    "berth_kamal_secrets": {},  # values of the Kamal secrets that come from commands (berth never runs them)
    # role berth.deploy.host (reads them normalized, from berth_plan.host)
    "berth_host_bootstrap": True,
    "berth_host_docker_source": "distro",
    "berth_host_log_max_size": "10m",
    "berth_host_log_max_file": 3,
    "berth_host_docker_daemon_extra": {},
    "berth_host_deploy_user": "",
    "berth_host_deploy_user_keys": [],
    "berth_host_firewall": "none",
    "berth_ssh_allow": [],
    "berth_host_firewall_allow_ports": [],
    "berth_host_prune_schedule": "daily",
    "berth_host_prune_until": "24h",
}
# Variables berth.deploy itself sets; users may see them but not configure them.
OUTPUT_VARIABLES = ("berth_plan", "berth_hook_env", "berth_gate", "berth_release", "berth_failure", "berth_finish")
# Variables the berth.deploy.terraform_state inventory sets on hosts and groups.
INVENTORY_VARIABLES = ("berth_tf", "berth_tf_sensitive_outputs")

PROXY_DEFAULTS: dict[str, t.Any] = {
    "image": "traefik:v3.7",
    "container_name": "berth-proxy",
    "http_port": 80,
    "https_port": 443,
    "publish_address": "",
    "api_port": 8080,
    "config_dir": "/etc/berth/proxy",
    "throttle_ms": 200,
    "drain_settle": 1.0,
    "confirm_timeout": 10,
    "log_level": "ERROR",
    "access_log": False,
    "trusted_ips": [],
    "options": {},
    "pages_image": "busybox:1.36",
    "acme": None,
}
# The proxy's own router for its API (roles/proxy), next to the services' route files.
PROXY_API_ROUTE_FILE = "berth_api.yml"
# The maintenance page server (busybox httpd) listens on this port on the deploy network.
PAGES_PORT = 8080
MAINTENANCE_DEFAULTS: dict[str, t.Any] = {"message": DEFAULT_MESSAGE, "page": ""}
ROLE_KEYS = ("proxy", "cmd", "options", "env", "volumes", "readiness_delay", "stop_timeout", "asset_path")
ROUTE_KEYS = ("host", "hosts", "path_prefix", "path_prefixes", "strip_path_prefix", "buffering", "error_pages", "app_port",
              "healthcheck", "response_timeout", "pass_host_header", "ssl", "ssl_redirect", "hsts")
HEALTHCHECK_DEFAULTS: dict[str, t.Any] = {"path": "/up", "port": None, "interval": 1, "timeout": 5}
REGISTRY_KEYS = ("server", "username", "password")
BUILDER_KEYS = ("context", "dockerfile", "args", "target", "labels", "platform", "docker_host", "secrets")
PLATFORM_PATTERN = re.compile(r"[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?")
DOCKER_HOST_PATTERN = re.compile(r"(ssh|tcp)://[^\s]+|unix:///[^\s]+")
LOGGING_KEYS = ("driver", "options")
BOOT_KEYS = ("limit", "wait")
MIGRATE_KEYS = ("cmd", "when", "role", "timeout")
MIGRATE_WHEN = ("before_switch",)
# Patterns match whole values (re.fullmatch): "$" would also match before a final newline.
PERCENT_PATTERN = re.compile(r"([1-9][0-9]?|100)%")

IMAGE_PATTERN = re.compile(
    r"(?:[a-zA-Z0-9][a-zA-Z0-9.-]*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
HOSTNAME_PATTERN = re.compile(r"(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
REGISTRY_SERVER_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9.-]*(:[0-9]+)?")
LOG_LEVEL_PATTERN = re.compile(r"TRACE|DEBUG|INFO|WARN|ERROR|FATAL|PANIC")


class ConfigError(Exception):
    """Raised with every problem found; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid berth.deploy configuration:\n- " + "\n- ".join(problems))


def _merge(defaults: dict[str, t.Any], given: dict[str, t.Any]) -> dict[str, t.Any]:
    merged = dict(defaults)
    merged.update({key: value for key, value in given.items() if value is not None})
    return merged


def _registry(check: Checker, value: t.Any) -> dict[str, str] | None:
    if not value:
        return None
    registry = check.mapping("berth_registry", value, REGISTRY_KEYS, secret=True)
    server = check.string("berth_registry.server", registry.get("server"), REGISTRY_SERVER_PATTERN,
                          "a registry host[:port], e.g. ghcr.io or registry.example.com:5000", required=True)
    username = check.string("berth_registry.username", registry.get("username"))
    if bool(username) != bool(registry.get("password")):
        check.problem("berth_registry", "username and password go together: set both or neither")
    return {"server": server, "username": username, "auth": bool(username)}


def _registry_auth(check: Checker, registry: dict[str, t.Any] | None, image: str,
                   proxy: dict[str, t.Any]) -> dict[str, bool]:
    """Which pulls get berth_registry's credentials: only those of an image on berth_registry.server
    (accessories decide it the same way). The app image is pulled with them, so it must be there."""
    server = registry["server"] if registry and registry["auth"] and registry["server"] else ""
    if server and image and not on_registry(image, server):
        check.problem("berth_image", f"{image} is not on berth_registry.server ({server}), and berth_registry's "
                                     "credentials go to that registry only: push the app image there, or "
                                     "remove the credentials to pull it anonymously")
    return {"app": on_registry(image or "", server),
            "proxy": on_registry(proxy.get("image_repository") or "", server),
            "pages": on_registry(proxy.get("pages_image_repository") or "", server)}


def _proxy(check: Checker, value: t.Any, acme_wanted: bool) -> dict[str, t.Any]:
    """The proxy's settings; ``acme_wanted``: a role has ssl: true (the resolver is needed)."""
    proxy = _merge(PROXY_DEFAULTS, check.mapping("berth_proxy", value, tuple(PROXY_DEFAULTS), secret=True))
    path = "berth_proxy"
    proxy["acme"] = acme_settings(check, proxy["acme"], acme_wanted)
    for key in ("http_port", "https_port", "api_port"):
        proxy[key] = check.integer(f"{path}.{key}", proxy[key], 1, 65535, "a port")
    proxy["image"] = check.string(f"{path}.image", proxy["image"], required=True)
    proxy["image_repository"], proxy["image_tag"] = split_reference(proxy["image"])
    proxy["container_name"] = check.string(f"{path}.container_name", proxy["container_name"],
                                           _naming.NAME_PATTERN, "lowercase letters, digits and -")
    proxy["publish_address"] = _publish_address(check, f"{path}.publish_address", proxy["publish_address"])
    proxy["config_dir"] = check.string(f"{path}.config_dir", proxy["config_dir"], ABSOLUTE_PATH_PATTERN,
                                       "an absolute path")
    proxy["throttle_ms"] = check.integer(f"{path}.throttle_ms", proxy["throttle_ms"], 0, 60000, "milliseconds")
    proxy["drain_settle"] = check.number(f"{path}.drain_settle", proxy["drain_settle"], 0, 300)
    proxy["confirm_timeout"] = check.integer(f"{path}.confirm_timeout", proxy["confirm_timeout"], 1, 600, "seconds")
    proxy["log_level"] = check.string(f"{path}.log_level", proxy["log_level"],
                                      LOG_LEVEL_PATTERN,
                                      "TRACE, DEBUG, INFO, WARN, ERROR, FATAL or PANIC")
    proxy["access_log"] = check.boolean(f"{path}.access_log", proxy["access_log"])
    proxy["trusted_ips"] = _trusted_ips(check, f"{path}.trusted_ips", proxy["trusted_ips"])
    proxy["options"] = _run_options(check, f"{path}.options", proxy["options"])
    host = f"[{proxy['publish_address']}]" if ":" in proxy["publish_address"] else proxy["publish_address"]
    proxy["publish"] = [f"{host}:{proxy['http_port']}:80" if host else f"{proxy['http_port']}:80",
                        f"{host}:{proxy['https_port']}:443" if host else f"{proxy['https_port']}:443",
                        f"127.0.0.1:{proxy['api_port']}:8080"]  # the API: loopback only
    proxy["pages_image"] = check.string(f"{path}.pages_image", proxy["pages_image"], required=True)
    proxy["pages_image_repository"], proxy["pages_image_tag"] = split_reference(proxy["pages_image"])
    proxy["pages_container_name"] = f"{proxy['container_name']}-pages"
    proxy["pages_url"] = f"http://{proxy['pages_container_name']}:{PAGES_PORT}"
    proxy["own_route_files"] = [PROXY_API_ROUTE_FILE]  # in config_dir/dynamic, routes no service
    proxy["pages_port"] = PAGES_PORT
    proxy["shared"] = shared_settings(proxy, _ca_bundle(proxy["acme"]))
    return proxy


def _builder(check: Checker, build: t.Any, value: t.Any, base_dir: str) -> dict[str, t.Any]:
    """How playbooks/build.yml builds the image (berth_builder), and whether deploy.yml builds first (berth_build)."""
    builder = check.mapping("berth_builder", value, BUILDER_KEYS, secret=True)  # secrets are inside
    enabled = check.boolean("berth_build", build)
    context = check.string("berth_builder.context", builder.get("context", ""))
    if context and not os.path.isabs(context):
        context = os.path.normpath(os.path.join(base_dir or os.getcwd(), context))
    if context and not os.path.isdir(context):
        check.problem("berth_builder.context", f"{context!r} is not a directory on the controller")
    dockerfile = check.string("berth_builder.dockerfile", builder.get("dockerfile") or "Dockerfile")
    args = {str(key): check.string(f"berth_builder.args.{key}", item)
            for key, item in check.mapping("berth_builder.args", builder.get("args")).items()}
    labels = {str(key): check.string(f"berth_builder.labels.{key}", item)
              for key, item in check.mapping("berth_builder.labels", builder.get("labels")).items()}
    platform = check.string("berth_builder.platform", builder.get("platform", ""), PLATFORM_PATTERN,
                            "an OS/architecture, e.g. linux/amd64 or linux/arm64")
    docker_host = check.string("berth_builder.docker_host", builder.get("docker_host", ""), DOCKER_HOST_PATTERN,
                               "the builder's engine: ssh://user@host, tcp://host:port or unix:///path")
    secret_names = []
    for name, item in check.mapping("berth_builder.secrets", builder.get("secrets"), secret=True).items():
        if not ENV_NAME_PATTERN.fullmatch(str(name)):
            check.problem("berth_builder.secrets", f"{show(name)} is not a secret id (letters, digits and _)")
        elif check.secret(f"berth_builder.secrets.{name}", item, required=True):
            secret_names.append(str(name))
    return {"enabled": enabled, "context": context, "dockerfile": dockerfile, "args": args,
            "secret_names": sorted(secret_names),
            "target": check.string("berth_builder.target", builder.get("target", "")), "labels": labels,
            "platform": platform, "docker_host": docker_host or "unix:///var/run/docker.sock"}


def _ca_bundle(acme: dict[str, t.Any] | None) -> str:
    """The ACME server's CA bundle (berth_proxy.acme.ca_certificate, checked to be a file) as text, or ""."""
    path = acme["ca_certificate"] if acme else ""
    return (_files.read_text(path) or "") if path and os.path.isfile(path) else ""


def _publish_address(check: Checker, path: str, value: t.Any) -> str:
    """An IP address of the host to publish the web ports on ("": every address)."""
    import ipaddress  # pylint: disable=import-outside-toplevel

    address = check.string(path, value)
    try:
        return str(ipaddress.ip_address(address)) if address else ""
    except ValueError:
        check.problem(path, f"{show(address)} is not an IP address of the host (e.g. 203.0.113.10 or 2001:db8::10), "
                            "or empty for every address")
        return ""


def _trusted_ips(check: Checker, path: str, value: t.Any) -> list[str]:
    """Addresses or CIDRs whose X-Forwarded-* headers Traefik keeps."""
    import ipaddress  # pylint: disable=import-outside-toplevel

    trusted = check.string_list(path, value)
    for index, cidr in enumerate(trusted):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            check.problem(f"{path}[{index}]", f"{show(cidr)} is not an address or CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)")
    return trusted


def _maintenance(check: Checker, value: t.Any) -> dict[str, str]:
    """Defaults of playbooks/maintenance.yml: the message, and a page template on the controller."""
    maintenance = _merge(MAINTENANCE_DEFAULTS, check.mapping("berth_maintenance", value, tuple(MAINTENANCE_DEFAULTS)))
    message = check.string("berth_maintenance.message", maintenance["message"])
    page = check.string("berth_maintenance.page", maintenance["page"], re.compile(r"/.*"),
                        "an absolute path on the controller, e.g. {{ inventory_dir }}/maintenance.html")
    if page.startswith("/") and not os.path.isfile(page):
        check.problem("berth_maintenance.page", f"{page!r} is not a file on the controller")
    return {"message": message, "page": page}


def _run_options(check: Checker, path: str, value: t.Any) -> dict[str, t.Any]:
    options = check.mapping(path, value)
    _normalized, problems = normalize_options(options)
    for name, message in problems:
        check.problem(f"{path}.{name}", message)
    return dict(options)


def _route(check: Checker, path: str, value: t.Any) -> dict[str, t.Any]:
    route = check.mapping(path, value, ROUTE_KEYS, secret=True)  # ssl.private_key is inside
    hosts = check.string_list(f"{path}.hosts", route.get("hosts", []))
    if route.get("host") is not None:
        hosts = [check.string(f"{path}.host", route["host"])] + hosts
    for host in hosts:
        if host and not HOSTNAME_PATTERN.fullmatch(host):
            check.problem(f"{path}.hosts", f"{show(host)} is not a host name (e.g. app.example.com)")
    all_prefixes = _handling.prefixes(check, path, route)
    if not hosts and "/" in all_prefixes and route.get("path_prefix") != "/":
        check.problem(path, "needs host (or hosts) or a path_prefix, so the proxy knows which requests are this role's "
                            "(path_prefix: / takes every request no other route takes)")
    app_port = check.integer(f"{path}.app_port", route.get("app_port", 80), 1, 65535, "a port")
    health_given = check.mapping(f"{path}.healthcheck", route.get("healthcheck"), tuple(HEALTHCHECK_DEFAULTS))
    health = _merge(HEALTHCHECK_DEFAULTS, health_given)
    health["path"] = check.string(f"{path}.healthcheck.path", health["path"], URL_PATH_PATTERN,
                                  "a URL path starting with /")
    health["port"] = check.integer(f"{path}.healthcheck.port", health["port"] or app_port, 1, 65535, "a port")
    health["interval"] = check.number(f"{path}.healthcheck.interval", health["interval"], 0.1, 60)
    health["timeout"] = check.number(f"{path}.healthcheck.timeout", health["timeout"], 0.1, 300)
    return {
        "hosts": hosts,
        "path_prefix": all_prefixes[0],
        "handling": _handling.handling(check, path, route, all_prefixes),
        "app_port": app_port,
        "healthcheck": health,
        "response_timeout": check.integer(f"{path}.response_timeout", route.get("response_timeout", 30), 1, 3600,
                                          "seconds"),
        "pass_host_header": check.boolean(f"{path}.pass_host_header", route.get("pass_host_header", True)),
        "tls": route_tls(check, path, route, hosts),
    }


def _check_claims(check: Checker, roles: dict[str, dict[str, t.Any]]) -> None:
    """Two web roles cannot take the same requests (same host and path prefix): the proxy would pick one."""
    taken: dict[tuple[str, str], str] = {}
    for name, role in roles.items():
        route = role["proxy"]
        prefixes = [route["path_prefix"], *route["handling"]["path_prefixes"]] if route else []
        for claim in ((host.lower(), prefix) for host in route["hosts"] or [""] for prefix in prefixes) if route else ():
            if claim in taken:
                check.problem(f"berth_roles.{name}.proxy", f"takes the requests of berth_roles.{taken[claim]}.proxy "
                                                           f"({claim[0] or 'any host'}{claim[1]}); give it other hosts "
                                                           "or a path_prefix of its own")
            taken.setdefault(claim, name)


def _role(check: Checker, name: str, value: t.Any, common: dict[str, t.Any]) -> dict[str, t.Any]:
    path = f"berth_roles.{name}"
    if not _naming.is_valid_name(name):
        check.problem(path, "role names use lowercase letters, digits and - (they name inventory groups)")
    role = check.mapping(path, value, ROLE_KEYS, secret=True)  # env.secret is inside
    clear, secret_names = read_env(check, f"{path}.env", role.get("env"))
    cmd = role.get("cmd")
    if cmd is not None and not (isinstance(cmd, str) and cmd.strip()) and not (
            isinstance(cmd, list) and cmd and all(isinstance(arg, str) for arg in cmd)):
        check.problem(f"{path}.cmd", f"{show(cmd)} is not a command (a string or a list of strings)")
    route = _route(check, f"{path}.proxy", role["proxy"]) if role.get("proxy") else None
    prefix = _naming.role_prefix(common["service"], name, common["destination"])
    return {
        "name": name,
        "container_prefix": prefix,
        "env_file": f"{common['state_dir']}/{common['service']}/env/{prefix}.env",
        "route": prefix if route else None,
        "proxy": route,
        "cmd": cmd,
        "env": {**common["env"], **clear},
        "secret_names": sorted(set(common["secret_names"]) | set(secret_names)),
        "options": _run_options(check, f"{path}.options", role.get("options")),
        "volumes": common["volumes"] + read_volumes(check, f"{path}.volumes", role.get("volumes")),
        "readiness_delay": check.number(f"{path}.readiness_delay", role.get("readiness_delay", 0 if route else 7),
                                        0, 600),
        "stop_timeout": check.integer(f"{path}.stop_timeout", role.get("stop_timeout", common["drain_timeout"]),
                                      0, 3600, "seconds"),
        "assets": _asset_path(check, f"{path}.asset_path", role.get("asset_path"), route,
                              f"{common['state_dir']}/{common['service']}/assets/{prefix}"),
    }


def _asset_path(check: Checker, path: str, value: t.Any, route: t.Any, directory: str) -> dict[str, str] | None:
    """Asset bridging (Kamal's asset_path): ``/rails/public/assets`` or ``/rails/public/assets:ro`` (mount options)."""
    if value in (None, ""):
        return None
    text = check.string(path, value)
    asset_dir, _sep, options = text.partition(":")
    if not ABSOLUTE_PATH_PATTERN.fullmatch(asset_dir) or asset_dir.rstrip("/") in ("", "/"):
        check.problem(path, f"{show(text)} is not the asset directory in the image (an absolute path, e.g. "
                            "/rails/public/assets, optionally with :ro)")
    if options and not re.fullmatch(r"(ro|rw|z|Z)(,(ro|rw|z|Z))*", options):
        check.problem(path, f"mount options {show(options)}: ro, rw, z or Z, comma-separated")
    if not route:
        check.problem(path, "bridges assets between versions behind the proxy: the role needs proxy")
    return {"path": asset_dir.rstrip("/"), "dir": directory, "options": options}


# Docker log options that only tune rotation, format or buffering: their values enter the plan. Any
# other option (a log-shipping token, a URL that may hold a password) is a secret: the plan keeps its
# name, tasks read the value from berth_logging (filter log_secret_options) and pass it no_log.
PLAIN_LOG_OPTIONS = frozenset({"max-size", "max-file", "compress", "mode", "max-buffer-size",
                               "tag", "labels", "labels-regex", "env", "env-regex"})


def _logging(check: Checker, value: t.Any) -> dict[str, t.Any]:
    logging = check.mapping("berth_logging", value, LOGGING_KEYS)
    driver = check.string("berth_logging.driver", logging.get("driver", "json-file"), required=True)
    options = {str(k): str(v) for k, v in check.mapping("berth_logging.options", logging.get("options", {})).items()}
    return {"driver": driver, "options": {name: value for name, value in options.items() if name in PLAIN_LOG_OPTIONS},
            "secret_option_names": sorted(name for name in options if name not in PLAIN_LOG_OPTIONS)}


def _migrate(check: Checker, value: t.Any, roles: dict[str, dict[str, t.Any]],
             groups: t.Mapping[str, t.Sequence[str]], play_hosts: t.Sequence[str] | None) -> dict[str, t.Any]:
    """``berth_migrate``: one command, once per deploy, in a one-off container of the new version."""
    migrate = check.mapping("berth_migrate", value, MIGRATE_KEYS)
    plan: dict[str, t.Any] = {"cmd": None, "when": "before_switch", "role": None, "timeout": 3600, "host": None}
    if not migrate:
        return plan
    cmd = migrate.get("cmd")
    if not (isinstance(cmd, str) and cmd.strip()) and not (
            isinstance(cmd, list) and cmd and all(isinstance(arg, str) and arg for arg in cmd)):
        check.problem("berth_migrate.cmd", f"{show(cmd)} is not a command (a string or a list of strings), "
                                           "e.g. bin/rails db:migrate")
        cmd = None
    when = migrate.get("when", "before_switch")
    if when not in MIGRATE_WHEN:
        check.problem("berth_migrate.when", f"{show(when)} is not one of {', '.join(MIGRATE_WHEN)}")
    web_roles = [name for name, role in roles.items() if role["proxy"]]
    role = migrate.get("role") or (web_roles or list(roles) or [None])[0]
    if not isinstance(role, str) or role not in roles:
        check.problem("berth_migrate.role", f"{show(role)} is not a role of berth_roles ({', '.join(roles)})")
    role = role if isinstance(role, str) else None
    hosts = [host for host in groups.get(role, []) if play_hosts is None or host in play_hosts] if role else []
    if groups and cmd and role in roles and not hosts:
        check.problem("berth_migrate.role", f"no host of role {role} (inventory group {role}) is in this run "
                                            "to run the migration on; check the inventory and --limit")
    return {**plan, "cmd": cmd, "when": when, "role": role if role in roles else None,
            "timeout": check.integer("berth_migrate.timeout", migrate.get("timeout", 3600), 1, 86400, "seconds"),
            "host": hosts[0] if hosts else None}


def _boot(check: Checker, value: t.Any) -> dict[str, t.Any]:
    """Rolling batches: ``limit`` hosts (a count or a percentage) at a time, ``wait`` seconds between batches."""
    boot = check.mapping("berth_boot", value, BOOT_KEYS)
    limit = boot.get("limit", "100%")
    if isinstance(limit, str) and PERCENT_PATTERN.fullmatch(limit.strip()):
        limit = limit.strip()
    else:
        limit = check.integer("berth_boot.limit", limit, 1, 10000, "a number of hosts or a percentage like 25%")
    return {"limit": limit, "wait": check.number("berth_boot.wait", boot.get("wait", 0), 0, 3600)}


def unknown_variables(names: t.Iterable[str]) -> list[str]:
    known = set(DEFAULTS) | set(OUTPUT_VARIABLES) | set(INVENTORY_VARIABLES)
    return sorted(name for name in names if name.startswith("berth_") and name not in known)


def build_plan(variables: t.Mapping[str, t.Any], mode: str = "deploy",
               group_names: t.Sequence[str] = (), groups: t.Mapping[str, t.Sequence[str]] | None = None,
               performer: str = "", inventory_dir: str = "", inventory_sources: t.Sequence[str] = (),
               play_hosts: t.Sequence[str] | None = None, host: str = "") -> dict[str, t.Any]:
    """Validate the ``berth_*`` variables of one host (``host``, its inventory name) and return its plan.

    ``inventory_dir`` resolves relative hook paths, ``inventory_sources`` (the ``-i`` sources) tell
    hooks that Ansible would read as inventory; ``play_hosts`` (the hosts the run targets, after
    ``--limit``) narrows ``hosts``, the hosts of the roles this run deploys to.
    """
    check = Checker()
    if mode not in MODES:
        raise ConfigError([f"mode: {mode!r} is not one of {', '.join(MODES)}"])
    for name in unknown_variables(variables):
        check.problem(name, "unknown variable (a typo?); berth.deploy reads: " + ", ".join(sorted(DEFAULTS)))
    unsafe = [problem for name in DEFAULTS for problem in unreadable(name, variables.get(name))]
    if unsafe:  # reading on could not even show the values
        raise ConfigError(check.problems + unsafe)
    raw = {name: default if variables.get(name) is None else variables[name] for name, default in DEFAULTS.items()}

    service = check.string("berth_service", raw["berth_service"], _naming.NAME_PATTERN,
                           "lowercase letters, digits and -, e.g. myapp", required=True)
    destination = check.string("berth_destination", raw["berth_destination"], _naming.NAME_PATTERN,
                               "empty, or lowercase letters, digits and -, e.g. staging")
    image = check.string("berth_image", raw["berth_image"], IMAGE_PATTERN,
                         "a repository without tag, e.g. registry.example.com/acme/myapp; the tag is berth_version",
                         required=True)
    version = check.string("berth_version", raw["berth_version"], _naming.VERSION_PATTERN,
                           "an image tag: letters, digits, _ . - (max 128), e.g. v42 or a git sha; "
                           "pass it with -e berth_version=... or BERTH_VERSION",
                           required=(mode == "deploy"))
    drain_timeout = check.integer("berth_drain_timeout", raw["berth_drain_timeout"], 0, 3600, "seconds")
    env_clear, env_secret_names = read_env(check, "berth_env", raw["berth_env"])
    state_dir = check.string("berth_state_dir", raw["berth_state_dir"], ABSOLUTE_PATH_PATTERN,
                             "an absolute path", required=True).rstrip("/")
    common = {
        "state_dir": state_dir,
        "service": service, "destination": destination, "env": env_clear, "secret_names": env_secret_names,
        "volumes": read_volumes(check, "berth_volumes", raw["berth_volumes"]), "drain_timeout": drain_timeout,
    }
    roles_raw = raw["berth_roles"]
    if not isinstance(roles_raw, dict) or not roles_raw:
        check.problem("berth_roles", "is required: a mapping of role name (an inventory group) to its settings, "
                                     "e.g. {web: {proxy: {host: app.example.com, app_port: 3000}}}")
        roles_raw = {}
    roles = {str(name): _role(check, str(name), value, common) for name, value in roles_raw.items()}
    plan = {
        "service": service,
        "destination": destination,
        "version": version or None,
        "image": image,
        "image_ref": f"{image}:{version}" if image and version else None,
        "registry": _registry(check, raw["berth_registry"]),
        "network": check.string("berth_network", raw["berth_network"], _naming.NAME_PATTERN,
                                "lowercase letters, digits and -", required=True),
        "state_dir": state_dir,
        "logging": _logging(check, raw["berth_logging"]),
        "deploy_timeout": check.integer("berth_deploy_timeout", raw["berth_deploy_timeout"], 1, 3600, "seconds"),
        "drain_timeout": drain_timeout,
        "retain_containers": check.integer("berth_retain_containers", raw["berth_retain_containers"], 1, 100,
                                           "a count of containers"),
        "proxy": _proxy(check, raw["berth_proxy"],
                        any(role["proxy"] and role["proxy"]["tls"]["mode"] == "acme" for role in roles.values())),
        "maintenance": _maintenance(check, raw["berth_maintenance"]),
        "roles": roles,
        "boot": _boot(check, raw["berth_boot"]),
        "host": _host(check, raw),
        # web roles first: other roles boot once a web container of the new version is healthy
        "host_roles": sorted((name for name in roles if name in group_names), key=lambda name: roles[name]["proxy"] is None),
    }
    check_wildcards(check, roles, plan["proxy"]["acme"])
    for role in roles.values():  # what a route needs of the proxy: the page server, the HTTPS port
        if role["proxy"] and role["proxy"]["handling"]["error_pages"]:
            role["proxy"]["handling"]["error_pages"]["url"] = plan["proxy"]["pages_url"]
        if role["proxy"]:
            role["proxy"]["tls"]["port"] = plan["proxy"]["https_port"]
    _check_claims(check, roles)
    plan["proxy"]["routes"] = sorted(role["route"] for role in roles.values() if role["route"])
    plan["proxy"]["force"] = check.boolean("berth_proxy_force", raw["berth_proxy_force"])
    plan["registry_auth"] = _registry_auth(check, plan["registry"], image, plan["proxy"])
    plan["proxy_on_host"] = any(roles[name]["proxy"] for name in plan["host_roles"])
    plan["performer"] = performer
    plan["canary_percent"] = None if raw["berth_canary_percent"] is None else check.integer(
        "berth_canary_percent", raw["berth_canary_percent"], 1, 99, "a share of new clients in percent")
    plan["message"] = check.string("berth_message", raw["berth_message"])  # one line: Checker.string refuses breaks
    role_hosts = [host for name in roles for host in (groups or {}).get(name, [])]
    plan["hosts"] = [host for host in dict.fromkeys(role_hosts) if play_hosts is None or host in play_hosts]
    plan["migrate"] = _migrate(check, raw["berth_migrate"], roles, groups or {}, play_hosts)
    plan["accessories"] = accessories_plan(check, raw, Context(
        service=service, destination=destination, state_dir=state_dir, role_names=list(roles), groups=groups or {},
        primary_host=role_hosts[0] if role_hosts else None, inventory_dir=inventory_dir,
        registry_server=plan["registry"]["server"] if plan["registry"] and plan["registry"]["auth"] else ""))
    plan["host_accessories"] = [name for name, accessory in plan["accessories"].items() if host in accessory["hosts"]]
    postgres = [accessory["postgres"] for accessory in plan["accessories"].values() if accessory["kind"] == "postgres"]
    plan["rails"] = rails_plan(check, raw["berth_rails"], roles, groups or {}, plan["boot"]["limit"],
                               postgres[0]["max_connections"] if postgres else None)
    plan["warnings"] = check.warnings
    plan["hooks"] = normalize_hooks(check, raw["berth_hooks"], inventory_dir, inventory_sources)
    plan["build"] = _builder(check, raw["berth_build"], raw["berth_builder"], inventory_dir)
    if raw["berth_kamal_config"] is not None and raw["berth_service"] is None:
        check.problem("berth_kamal_config", "give it with -e: the playbooks read the Kamal file before the hosts' "
                                            "variables exist (e.g. -e berth_kamal_config=config/deploy.yml)")
    plan["audit_log"] = f"/var/log/berth/{_naming.role_prefix(service, 'deploys', destination)}.log"
    plan["lock"] = {
        "name": _naming.role_prefix(service, "deploy", destination) if service else "",
        "host": role_hosts[0] if role_hosts else None,
        "wait": check.number("berth_lock_wait", raw["berth_lock_wait"], 0, 86400),
        "lease": check.integer("berth_lock_lease", raw["berth_lock_lease"], 10, 604800, "seconds"),
        "directory": f"{state_dir}/locks",
    }
    if check.problems:
        raise ConfigError(check.problems)
    return plan


# Role berth.deploy.host.
HOST_SIZE_PATTERN = re.compile(r"[0-9]{1,12}[kmg]?")
HOST_USER_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
HOST_PORT_PATTERN = re.compile(r"([0-9]{1,5})(/tcp|/udp)?")
# Docker's "until" filter: a Go duration, a Unix timestamp, or an RFC 3339 date or date and time.
HOST_UNTIL_PATTERN = re.compile(r"([0-9]{1,9}(\.[0-9]+)?(ns|us|ms|s|m|h))+|[0-9]{9,12}(\.[0-9]{1,9})?"
                                r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                                r"(Z|[+-][0-9]{2}:[0-9]{2})?)?")


def _daemon_extra(check: Checker, extra: t.Any) -> dict[str, t.Any]:
    """daemon.json keys (null removes one from the server's file); data-root is an absolute path."""
    path = "berth_host_docker_daemon_extra"
    if not isinstance(extra, dict) or not all(isinstance(key, str) and key for key in extra):
        check.problem(path, f"{show(extra)} is not a mapping of daemon.json keys")
        return {}
    root = extra.get("data-root")
    if root is not None and not (isinstance(root, str) and ABSOLUTE_PATH_PATTERN.fullmatch(root) and root.strip("/")):
        check.problem(f"{path}.data-root", f"{show(root)} is not an absolute path other than / (or null)")
    return extra


def _host(check: Checker, raw: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The berth_host_* variables and berth_ssh_allow, checked and normalized."""
    import ipaddress  # pylint: disable=import-outside-toplevel

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        value = check.string(name, raw[name], required=True)
        if value and value not in allowed:
            check.problem(name, f"{show(value)} is not one of {', '.join(allowed)}")
        return value

    extra = _daemon_extra(check, raw["berth_host_docker_daemon_extra"])
    ssh_allow = check.string_list("berth_ssh_allow", raw["berth_ssh_allow"])
    for index, cidr in enumerate(ssh_allow):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            check.problem(f"berth_ssh_allow[{index}]", f"{show(cidr)} is not an address or CIDR (e.g. 203.0.113.0/24)")
    ports = [str(port) for port in (raw["berth_host_firewall_allow_ports"] or [])] \
        if isinstance(raw["berth_host_firewall_allow_ports"], list) else raw["berth_host_firewall_allow_ports"]
    ports = check.string_list("berth_host_firewall_allow_ports", ports)
    for index, port in enumerate(ports):
        match = HOST_PORT_PATTERN.fullmatch(port)
        if not match or not 1 <= int(match.group(1)) <= 65535:
            check.problem(f"berth_host_firewall_allow_ports[{index}]", f"{show(port)} is not PORT, PORT/tcp or PORT/udp")
    keys = check.string_list("berth_host_deploy_user_keys", raw["berth_host_deploy_user_keys"])
    for index, key in enumerate(keys):
        if len(key.split()) < 2 or "\n" in key.strip():
            check.problem(f"berth_host_deploy_user_keys[{index}]", "is not one public key line (TYPE BASE64 [COMMENT])")
    return {
        "bootstrap": check.boolean("berth_host_bootstrap", raw["berth_host_bootstrap"]),
        "docker_source": choice("berth_host_docker_source", ("distro", "docker")),
        "log_max_size": check.string("berth_host_log_max_size", raw["berth_host_log_max_size"], HOST_SIZE_PATTERN,
                                     "a size like 10m, 500k or 1g", required=True),
        "log_max_file": check.integer("berth_host_log_max_file", raw["berth_host_log_max_file"], 1, 100,
                                      "a number of log files"),
        "docker_daemon_extra": extra,
        "deploy_user": check.string("berth_host_deploy_user", raw["berth_host_deploy_user"], HOST_USER_PATTERN,
                                    "empty, or a user name: lowercase letters, digits, _ and -"),
        "deploy_user_keys": keys,
        "firewall": choice("berth_host_firewall", ("none", "nftables", "ufw")),
        "ssh_allow": ssh_allow,
        "firewall_allow_ports": ports,
        "prune_schedule": check.string("berth_host_prune_schedule", raw["berth_host_prune_schedule"], CALENDAR_PATTERN,
                                       "empty, or a systemd calendar event like daily or Mon..Fri 03:00"),
        "prune_until": check.string("berth_host_prune_until", raw["berth_host_prune_until"], HOST_UNTIL_PATTERN,
                                    "a duration like 24h or 90m, or a timestamp", required=True),
    }
