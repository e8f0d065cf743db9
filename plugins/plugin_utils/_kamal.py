# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kamal 2 configuration as berth variables: the same ``berth_*`` a user would write, so the plan, its checks
and everything downstream are one code path (plugins/module_utils/_config.py checks the result as usual).

``import_config`` reads the file (``_kamal_source``), checks its shape as Kamal does (unknown keys, types,
required keys, roles without hosts), and maps every key: to a berth variable, to a warning when berth cannot
honour it, or to nothing when it has no meaning here (``minimum_version``, ``sshkit``). ``variables_for(host)``
gives one host's variables: Kamal's env tags make a host's environment its own.
"""
from __future__ import annotations

import os
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.berth.deploy.plugins.plugin_utils._kamal_source import (
    KamalError, Secrets, app_root, load_config, render_erb, secrets_files)

ROOT_KEYS = ("service", "image", "labels", "volumes", "registry", "servers", "env", "asset_path", "hooks_path",
             "hooks_output", "secrets_path", "error_pages_path", "require_destination", "primary_role",
             "allow_empty_roles", "retain_containers", "minimum_version", "readiness_delay", "deploy_timeout",
             "drain_timeout", "run_directory", "ssh", "builder", "accessories", "proxy", "sshkit", "boot", "logging",
             "aliases")
ROLE_KEYS = ("hosts", "cmd", "options", "logging", "proxy", "labels", "env", "asset_path")
PROXY_KEYS = ("host", "hosts", "app_port", "ssl", "ssl_redirect", "forward_headers", "response_timeout", "path_prefix",
              "path_prefixes", "strip_path_prefix", "healthcheck", "buffering", "logging", "run")
PROXY_RUN_KEYS = ("http_port", "https_port", "metrics_port", "debug", "log_max_size", "publish", "bind_ips", "registry",
                  "repository", "version", "options")
HEALTHCHECK_KEYS = ("interval", "path", "timeout")
BUFFERING_KEYS = ("requests", "responses", "max_request_body", "max_response_body", "memory")
REGISTRY_KEYS = ("server", "username", "password")
ENV_KEYS = ("clear", "secret", "tags")
SSH_KEYS = ("user", "port", "proxy", "proxy_command", "log_level", "keys_only", "keys", "key_data", "config")
BOOT_KEYS = ("limit", "wait", "parallel_roles")
LOGGING_KEYS = ("driver", "options")
ACCESSORY_KEYS = ("service", "image", "registry", "host", "hosts", "role", "roles", "tag", "tags", "cmd", "port",
                  "labels", "options", "env", "files", "directories", "volumes", "network", "proxy")
BUILDER_KEYS = ("arch", "remote", "local", "pack", "cache", "context", "dockerfile", "target", "args", "secrets", "ssh",
                "driver", "provenance", "sbom")
# Kamal's hooks (files in hooks_path) and the berth hook each becomes; the others have no moment here.
HOOKS = {"pre-deploy": "pre_deploy", "pre-app-boot": "pre_app_boot", "post-app-boot": "post_app_boot",
         "post-deploy": "post_deploy"}
UNSUPPORTED_HOOKS = ("pre-connect", "pre-build", "docker-setup", "pre-proxy-reboot", "post-proxy-reboot")
SERVICE_PATTERN = re.compile(r"[a-z0-9_-]+", re.I)
DEFAULT_SECRETS_PATH = ".kamal/secrets"
DEFAULT_HOOKS_PATH = ".kamal/hooks"


@dataclass
class Host:
    """An inventory host the Kamal file names: its groups (roles, accessories) and connection variables."""
    name: str
    groups: list[str] = field(default_factory=list)
    tags: dict[str, list[str]] = field(default_factory=dict)  # role -> the tags its entry for this host gives

    def all_tags(self) -> set[str]:
        return {tag for tags in self.tags.values() for tag in tags}


@dataclass
class Imported:
    path: str
    destination: str
    variables: dict[str, t.Any]  # berth_* for every host
    hosts: dict[str, Host]
    connection: dict[str, t.Any]  # ansible_* for the file's hosts
    tag_env: dict[str, dict[str, dict[str, str]]]  # tag -> {clear, secret}
    warnings: list[str]
    secret_names: list[str]  # every secret the configuration passes on (env, registry, certificates)

    def variables_for(self, host: str) -> dict[str, t.Any]:
        """The berth variables of ``host``: where a role lists the host with tags, that role gets the tags' env over
        its own, as in Kamal (tags belong to a role's entry for the host, not to the host)."""
        tagged = self.hosts[host].tags if host in self.hosts else {}
        if not any(tagged.values()):
            return self.variables
        roles = {}
        for name, role in self.variables["berth_roles"].items():
            if not tagged.get(name):
                roles[name] = role
                continue
            env = {"clear": dict(role.get("env", {}).get("clear", {})), "secret": dict(role.get("env", {}).get("secret", {}))}
            for tag in tagged[name]:
                for kind in ("clear", "secret"):
                    env[kind].update(self.tag_env.get(tag, {}).get(kind, {}))
            roles[name] = {**role, "env": env}
        return {**self.variables, "berth_roles": roles}


class _Reader:
    """Walks the raw configuration once, collecting problems (file: context: why) and warnings."""

    def __init__(self, path: str, root: str, secrets: Secrets):
        self.path = path
        self.root = root  # the app's root: relative paths in the file are relative to it
        self.secrets = secrets
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.secret_names: list[str] = []

    def problem(self, context: str, message: str) -> None:
        self.problems.append(f"{self.path}: {context}: {message}" if context else f"{self.path}: {message}")

    def warn(self, context: str, message: str) -> None:
        self.warnings.append(f"{self.path}: {context}: {message}")

    def mapping(self, context: str, value: t.Any, keys: tuple[str, ...] | None = None) -> dict[str, t.Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(context, "should be a hash")
            return {}
        found = {str(key): item for key, item in value.items() if not str(key).startswith("x-")}
        unknown = [key for key in found if keys is not None and key not in keys]
        if unknown:
            self.problem(context, f"unknown key{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        return {key: item for key, item in found.items() if keys is None or key in keys}

    def string(self, context: str, value: t.Any, required: bool = False) -> str:
        if value is None:
            if required:
                self.problem(context, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(context, "should be a string")
            return ""
        return str(value)

    def strings(self, context: str, value: t.Any) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        return [self.string(f"{context}", item) for item in items]

    def integer(self, context: str, value: t.Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                return int(value)
            self.problem(context, "should be an integer")
            return None
        return value

    def boolean(self, context: str, value: t.Any, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(context, "should be a boolean")
            return default
        return value

    def secret(self, name: str, context: str) -> str | None:
        value = self.secrets.get(name, self.problems, f"{self.path}: {context}")
        if value is not None and name not in self.secret_names:
            self.secret_names.append(name)
        return value

    # env ----------------------------------------------------------------------------------------

    def env(self, context: str, value: t.Any, tags_allowed: bool) -> tuple[dict[str, dict[str, str]], dict[str, t.Any]]:
        """-> ({clear, secret} in berth's form, tags (raw))."""
        env = self.mapping(context, value)
        structured = any(key in env for key in ENV_KEYS)
        if structured:
            self.mapping(context, value, ENV_KEYS if tags_allowed else ("clear", "secret"))
        clear_raw = env.get("clear", {}) if structured else env
        clear = {}
        for key, item in self.mapping(f"{context}/clear", clear_raw).items():
            if item is None or isinstance(item, (dict, list)):  # Kamal: strings, numbers and booleans
                self.problem(f"{context}/clear/{key}", "should be a string")
            else:
                clear[str(key)] = _env_text(item)
        secret = {}
        names = env.get("secret", []) if structured else []
        if not isinstance(names, list):
            self.problem(f"{context}/secret", "should be an array")
            names = []
        for item in names:
            name, _sep, source = self.string(f"{context}/secret", item).partition(":")
            value = self.secret(source or name, f"{context}/secret") if name else None
            if value is not None:
                secret[name] = value
        return {"clear": clear, "secret": secret}, env.get("tags", {}) if structured and tags_allowed else {}


def _env_text(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def import_config(path: str, destination: str = "", environment: t.Mapping[str, str] | None = None) -> Imported:
    """The berth variables, hosts and warnings of the Kamal configuration at ``path``; KamalError lists every
    problem. ``environment``: the controller's environment with berth_kamal_secrets over it."""
    environment = dict(os.environ if environment is None else environment)
    warnings: list[str] = []
    raw = load_config(path, destination, environment, warnings)
    root = app_root(path)
    secrets_path = raw.get("secrets_path") or DEFAULT_SECRETS_PATH
    reader = _Reader(os.path.relpath(path) if not os.path.isabs(path) else path, root,
                     Secrets(secrets_files(root, str(secrets_path), destination), environment, root))
    reader.warnings = warnings
    config = reader.mapping("", raw, ROOT_KEYS)
    if reader.boolean("require_destination", config.get("require_destination"), False) and not destination:
        reader.problem("require_destination", "is true: give the destination with -e berth_destination=<name>")
    variables: dict[str, t.Any] = {"berth_destination": destination} if destination else {}
    variables.update(_service_and_image(reader, config))
    hosts, roles = _servers(reader, config)
    variables["berth_roles"] = roles
    variables.update(_scalars(reader, config))
    env, tags = reader.env("env", config.get("env"), tags_allowed=True)
    variables["berth_env"] = env
    tag_env = {str(tag): reader.env(f"env/tags/{tag}", value, tags_allowed=False)[0]
               for tag, value in reader.mapping("env/tags", tags).items()}
    registry = _registry(reader, config.get("registry"))
    if registry:
        variables["berth_registry"] = registry
    variables["berth_proxy"] = _proxy_boot(reader, config.get("proxy"))
    variables["berth_accessories"] = _accessories(reader, config.get("accessories"), hosts, root, environment)
    hooks = _hooks(reader, root, config.get("hooks_path"))
    if hooks:
        variables["berth_hooks"] = hooks
    connection = _ssh(reader, config.get("ssh"))
    builder = _builder(reader, config.get("builder"))
    if builder:
        variables["berth_builder"] = builder
    _not_applicable(reader, config, root)
    if reader.problems:
        raise KamalError(reader.problems)
    for host in {host for accessory in variables["berth_accessories"].values() for host in accessory["hosts"]}:
        hosts.setdefault(host, Host(host))
    return Imported(path=path, destination=destination, variables=variables, hosts=hosts, connection=connection,
                    tag_env=tag_env, warnings=reader.warnings, secret_names=sorted(reader.secret_names))


def _service_and_image(reader: _Reader, config: dict[str, t.Any]) -> dict[str, t.Any]:
    service = reader.string("service", config.get("service"))
    if not service:
        reader.problem("", "Missing required configuration for service")
    elif not SERVICE_PATTERN.fullmatch(service):
        reader.problem("service", "can only include alphanumeric characters, hyphens, and underscores")
    image = reader.string("image", config.get("image"))
    if not image:
        reader.problem("", "Missing required configuration for image")
    server = config.get("registry", {}).get("server") if isinstance(config.get("registry"), dict) else None
    repository = f"{server}/{image}" if server and image else image  # as Kamal's repository
    # Kamal's service names allow _ and capitals; berth's names are lowercase with -
    return {"berth_service": service.lower().replace("_", "-"), "berth_image": repository}


def _servers(reader: _Reader, config: dict[str, t.Any]) -> tuple[dict[str, Host], dict[str, t.Any]]:
    servers = config.get("servers")
    primary = reader.string("primary_role", config.get("primary_role")) or "web"
    allow_empty = reader.boolean("allow_empty_roles", config.get("allow_empty_roles"), False)
    if servers is None:
        if not config.get("accessories"):
            reader.problem("", "No servers or accessories specified")
        return {}, {}
    if isinstance(servers, list):
        servers = {"web": servers}
    if not isinstance(servers, dict):
        reader.problem("servers", "should be an array or a hash")
        return {}, {}
    hosts: dict[str, Host] = {}
    roles: dict[str, t.Any] = {}
    root_proxy = config.get("proxy")
    for name, value in servers.items():
        name = str(name)
        context = f"servers/{name}"
        role_config = reader.mapping(context, value, ROLE_KEYS) if isinstance(value, dict) else {"hosts": value}
        for host, tags in _host_entries(reader, f"{context}/hosts" if isinstance(value, dict) else context,
                                        role_config.get("hosts")):
            entry = hosts.setdefault(host, Host(host))
            entry.groups.append(name)
            entry.tags[name] = tags
        if not any(name in host.groups for host in hosts.values()):
            if name == primary:
                reader.problem("", f"No servers specified for the {name} primary_role")
            elif not allow_empty:
                reader.problem("", f"No servers specified for the {name} role. You can ignore this with "
                                   "allow_empty_roles: true")
        roles[name] = _role(reader, context, role_config, name == primary, root_proxy, config)
    if primary not in roles:
        reader.problem("primary_role", f"The primary_role {primary} isn't defined")
    return hosts, roles


def _host_entries(reader: _Reader, context: str, value: t.Any) -> list[tuple[str, list[str]]]:
    if value is None:
        return []
    if not isinstance(value, list):
        reader.problem(context, "should be an array")
        return []
    entries = []
    for item in value:
        if isinstance(item, dict):
            if len(item) != 1:
                reader.problem(context, "multiple hosts found")
                continue
            host, tags = next(iter(item.items()))
            entries.append((str(host), [str(tag) for tag in (tags if isinstance(tags, list) else [tags])]))
        elif isinstance(item, str):
            entries.append((item, []))
        else:
            reader.problem(context, "should be a string or a hash of host to tags")
    return entries


def _role(reader: _Reader, context: str, role: dict[str, t.Any], primary: bool, root_proxy: t.Any,
          config: dict[str, t.Any]) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {}
    if role.get("cmd") is not None:
        result["cmd"] = role["cmd"]
    options = dict(reader.mapping(f"{context}/options", role.get("options")))
    labels = {**reader.mapping("labels", config.get("labels")), **reader.mapping(f"{context}/labels", role.get("labels"))}
    for reserved in ("service", "role", "destination"):
        if reserved in labels:
            reader.problem(f"{context}/labels", "invalid label. destination, role, and service are reserved labels")
    if labels:
        options["labels"] = {str(key): str(value) for key, value in labels.items()}
    if options:
        result["options"] = options
    env, _tags = reader.env(f"{context}/env", role.get("env"), tags_allowed=False)
    if env["clear"] or env["secret"]:
        result["env"] = env
    if role.get("logging") is not None:
        reader.warn(f"{context}/logging", "berth logs every role the same way (berth_logging, from the root "
                                          "logging); this role's logging is not applied")
    proxy = role.get("proxy", None)
    if proxy is None:
        proxy = primary
    if proxy is True or isinstance(proxy, dict):
        merged = {**(root_proxy if isinstance(root_proxy, dict) else {}), **(proxy if isinstance(proxy, dict) else {})}
        result["proxy"] = _route(reader, f"{context}/proxy" if isinstance(proxy, dict) else "proxy", merged, config)
    elif proxy is not False:
        reader.problem(f"{context}/proxy", "should be a boolean or a hash")
    readiness = config.get("readiness_delay")
    if readiness is not None and "proxy" not in result:
        result["readiness_delay"] = readiness
    asset_path = role.get("asset_path", config.get("asset_path"))
    if asset_path and "proxy" in result:  # Kamal bridges assets of roles behind the proxy only
        result["asset_path"] = reader.string(f"{context}/asset_path" if "asset_path" in role else "asset_path",
                                             asset_path)
    return result


def _route(reader: _Reader, context: str, proxy: dict[str, t.Any], config: dict[str, t.Any]) -> dict[str, t.Any]:
    proxy = reader.mapping(context, proxy, PROXY_KEYS)
    route: dict[str, t.Any] = {}
    if proxy.get("host") is not None and proxy.get("hosts") is not None:
        reader.problem(context, "Specify one of 'host' or 'hosts', not both")
    hosts = reader.strings(f"{context}/hosts", proxy.get("hosts")) or [
        host.strip() for host in reader.string(f"{context}/host", proxy.get("host")).split(",") if host.strip()]
    if hosts:
        route["hosts"] = hosts
    prefixes = [item.strip() for item in reader.string(f"{context}/path_prefix", proxy.get("path_prefix")).split(",")
                if item.strip()] + reader.strings(f"{context}/path_prefixes", proxy.get("path_prefixes"))
    if prefixes:
        route["path_prefixes"] = prefixes
        route["strip_path_prefix"] = reader.boolean(f"{context}/strip_path_prefix", proxy.get("strip_path_prefix"), True)
    elif not hosts:
        route["path_prefix"] = "/"  # Kamal: without hosts, every request no other app's host takes
    for key in ("app_port", "response_timeout"):
        number = reader.integer(f"{context}/{key}", proxy.get(key))
        if number is not None:
            route[key] = number
    health = reader.mapping(f"{context}/healthcheck", proxy.get("healthcheck"), HEALTHCHECK_KEYS)
    if health:
        route["healthcheck"] = health
    ssl = proxy.get("ssl", False)
    if isinstance(ssl, dict):
        pems = reader.mapping(f"{context}/ssl", ssl, ("certificate_pem", "private_key_pem"))
        certificate = reader.secret(reader.string(f"{context}/ssl/certificate_pem", pems.get("certificate_pem"), True),
                                    f"{context}/ssl/certificate_pem")
        key = reader.secret(reader.string(f"{context}/ssl/private_key_pem", pems.get("private_key_pem"), True),
                            f"{context}/ssl/private_key_pem")
        route["ssl"] = {"certificate": certificate or "", "private_key": key or ""}
    else:
        route["ssl"] = reader.boolean(f"{context}/ssl", ssl, False)
    if proxy.get("ssl_redirect") is not None:
        route["ssl_redirect"] = reader.boolean(f"{context}/ssl_redirect", proxy["ssl_redirect"], True)
    if proxy.get("forward_headers") is not None:
        reader.warn(f"{context}/forward_headers", "berth always sets X-Forwarded-* for the app and keeps a client's "
                                                  "own only from berth_proxy.trusted_ips (your load balancer's addresses)")
    buffering = reader.mapping(f"{context}/buffering", proxy.get("buffering"), BUFFERING_KEYS)
    if buffering:
        if "memory" in buffering:
            reader.warn(f"{context}/buffering/memory", "Traefik buffers in memory up to its own limit; not applied")
        route["buffering"] = {key: value for key, value in buffering.items() if key != "memory"}
    if proxy.get("logging") is not None:
        reader.warn(f"{context}/logging", "request logging is the proxy's (berth_proxy.access_log); the header lists "
                                          "are not applied")
    pages = config.get("error_pages_path")
    if pages:
        route["error_pages"] = os.path.join(reader.root, str(pages))
    return route


def _scalars(reader: _Reader, config: dict[str, t.Any]) -> dict[str, t.Any]:
    found: dict[str, t.Any] = {}
    for key, name in (("retain_containers", "berth_retain_containers"), ("deploy_timeout", "berth_deploy_timeout"),
                      ("drain_timeout", "berth_drain_timeout")):
        number = reader.integer(key, config.get(key))
        if number is not None:
            found[name] = number
    if config.get("retain_containers") is not None and found.get("berth_retain_containers", 1) < 1:
        reader.problem("retain_containers", "Must retain at least 1 container")
    volumes = reader.strings("volumes", config.get("volumes"))
    if volumes:
        found["berth_volumes"] = volumes
    boot = reader.mapping("boot", config.get("boot"), BOOT_KEYS)
    if boot.get("parallel_roles") is not None:
        reader.warn("boot/parallel_roles", "berth boots a host's roles in one release, web roles first")
    if boot.get("limit") is not None or boot.get("wait") is not None:
        found["berth_boot"] = {key: boot[key] for key in ("limit", "wait") if boot.get(key) is not None}
    logging = reader.mapping("logging", config.get("logging"), LOGGING_KEYS)
    if logging:
        found["berth_logging"] = {"driver": logging.get("driver", "json-file"),
                                  "options": {str(key): str(value) for key, value in
                                              reader.mapping("logging/options", logging.get("options")).items()}}
    return found


def _registry(reader: _Reader, value: t.Any) -> dict[str, str] | None:
    registry = reader.mapping("registry", value, REGISTRY_KEYS)
    if value is None:
        reader.problem("", "Missing required configuration for registry")
        return None
    server = reader.string("registry/server", registry.get("server"))
    if server.startswith("localhost"):
        reader.warn("registry/server", f"{server}: Kamal runs a local registry and tunnels to it; berth pulls from it "
                                       "as it is, so it must be reachable from the servers")
    found: dict[str, str] = {"server": server} if server else {}
    for key in ("username", "password"):
        item = registry.get(key)
        if isinstance(item, list):  # [SECRET_NAME]
            value_of = reader.secret(reader.string(f"registry/{key}", item[0] if item else None, True), f"registry/{key}")
            if value_of is not None:
                found[key] = value_of
        elif item is not None:
            found[key] = reader.string(f"registry/{key}", item)
    if not server:
        return None if not found.get("username") else {**found, "server": "docker.io"}
    return found


def _proxy_boot(reader: _Reader, value: t.Any) -> dict[str, t.Any]:
    proxy = value if isinstance(value, dict) else {}
    run = reader.mapping("proxy/run", proxy.get("run"), PROXY_RUN_KEYS)
    found: dict[str, t.Any] = {}
    for key in ("http_port", "https_port"):
        number = reader.integer(f"proxy/run/{key}", run.get(key))
        if number is not None:
            found[key] = number
    bind = reader.strings("proxy/run/bind_ips", run.get("bind_ips"))
    if len(bind) == 1 and bind[0] not in ("0.0.0.0", "::"):
        found["publish_address"] = bind[0]
    elif len(bind) > 1:
        reader.warn("proxy/run/bind_ips", "berth publishes on one address or all: all addresses")
    for key in ("metrics_port", "debug", "log_max_size", "publish", "registry", "repository", "version", "options"):
        if key in run:
            reader.warn(f"proxy/run/{key}", "berth runs Traefik (berth_proxy), not kamal-proxy: not applied")
    return found


def _accessories(reader: _Reader, value: t.Any, hosts: dict[str, Host], root: str,
                 environment: t.Mapping[str, str]) -> dict[str, t.Any]:
    found = {}
    for name, item in reader.mapping("accessories", value).items():
        context = f"accessories/{name}"
        accessory = reader.mapping(context, item, ACCESSORY_KEYS)
        result: dict[str, t.Any] = {"image": reader.string(f"{context}/image", accessory.get("image"), True)}
        result["hosts"] = _accessory_hosts(reader, context, accessory, hosts)
        if accessory.get("cmd") is not None:
            result["cmd"] = accessory["cmd"]
        if accessory.get("port") is not None:
            result["port"] = str(accessory["port"])
        options = dict(reader.mapping(f"{context}/options", accessory.get("options")))
        if "restart" in options:
            reader.problem(f"{context}/options", "Cannot set restart policy in docker options, unless-stopped is required")
        labels = reader.mapping(f"{context}/labels", accessory.get("labels"))
        if labels:
            options["labels"] = {str(key): str(label) for key, label in labels.items()}
        if options:
            result["options"] = options
        env, _tags = reader.env(f"{context}/env", accessory.get("env"), tags_allowed=False)
        if env["clear"] or env["secret"]:
            result["env"] = env
        files = [_accessory_file(reader, f"{context}/files", entry, root, environment)
                 for entry in (accessory.get("files") or [])]
        if files:
            result["files"] = [entry for entry in files if entry]
        directories = [_accessory_directory(reader, f"{context}/directories", entry)
                       for entry in (accessory.get("directories") or [])]
        if directories:
            result["directories"] = [entry for entry in directories if entry]
        volumes = reader.strings(f"{context}/volumes", accessory.get("volumes"))
        if volumes:
            result["volumes"] = volumes
        for key, why in (("service", "berth names it <service>-<name>"), ("network", "it joins the deploy network "
                         "(berth_network)"), ("registry", "images pull with berth_registry when on its server, else "
                         "anonymously"), ("proxy", "accessories are not routed by the proxy")):
            if accessory.get(key) is not None:
                reader.warn(f"{context}/{key}", f"not applied: {why}")
        found[str(name)] = result
    return found


def _accessory_hosts(reader: _Reader, context: str, accessory: dict[str, t.Any], hosts: dict[str, Host]) -> list[str]:
    given = [key for key in ("host", "hosts", "role", "roles", "tag", "tags") if accessory.get(key) is not None]
    if len(given) != 1:
        reader.problem(context, "specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
        return []
    key = given[0]
    names = reader.strings(f"{context}/{key}", accessory[key])
    if key in ("host", "hosts"):
        return names
    if key in ("role", "roles"):
        return [host.name for host in hosts.values() if set(host.groups) & set(names)]
    return [host.name for host in hosts.values() if host.all_tags() & set(names)]


def _accessory_file(reader: _Reader, context: str, entry: t.Any, root: str,
                    environment: t.Mapping[str, str]) -> dict[str, t.Any] | None:
    if isinstance(entry, str):
        local, _sep, rest = entry.partition(":")
        remote = rest.split(":", 1)[0]
        spec: dict[str, t.Any] = {"local": local, "remote": remote}
    elif isinstance(entry, dict):
        spec = reader.mapping(context, entry, ("local", "remote", "mode", "owner", "options"))
    else:
        reader.problem(context, "should be local:remote or a hash of local, remote, mode, owner")
        return None
    local = os.path.join(root, str(spec.get("local", "")))
    if not os.path.isfile(local):
        reader.problem(context, f"{spec.get('local')}: no such file (relative to the app's root {root})")
        return None
    result: dict[str, t.Any] = {"dest": str(spec.get("remote", ""))}
    if local.endswith(".erb"):
        with open(local, encoding="utf-8") as handle:
            try:
                result["content"] = render_erb(handle.read(), local, environment, reader.warnings)
            except KamalError as exc:
                reader.problems.extend(exc.problems)
                return None
    else:
        result["src"] = local
    return {**result, **_mode_and_owner(spec)}


def _mode_and_owner(spec: t.Mapping[str, t.Any]) -> dict[str, str]:
    """Kamal's ``mode`` and ``owner`` (``user:group``) of an accessory file or directory, as berth's keys."""
    found: dict[str, str] = {}
    if spec.get("mode") is not None:
        found["mode"] = str(spec["mode"])
    if spec.get("owner") is not None:
        owner, _sep, group = str(spec["owner"]).partition(":")
        found["owner"] = owner
        if group:
            found["group"] = group
    return found


def _accessory_directory(reader: _Reader, context: str, entry: t.Any) -> t.Any:
    if isinstance(entry, str):
        parts = entry.split(":")
        return ":".join(parts[:2])
    spec = reader.mapping(context, entry, ("local", "remote", "mode", "owner", "options"))
    result: dict[str, t.Any] = {"path": f"{spec.get('local', '')}:{spec.get('remote', '')}"}
    return {**result, **_mode_and_owner(spec)}


def _hooks(reader: _Reader, root: str, hooks_path: t.Any) -> dict[str, list[str]]:
    directory = os.path.join(root, str(hooks_path or DEFAULT_HOOKS_PATH))
    if not os.path.isdir(directory):
        if hooks_path:
            reader.problem("hooks_path", f"{hooks_path}: no such directory (relative to the app's root {root})")
        return {}
    found: dict[str, list[str]] = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".sample") or name.startswith("."):
            continue
        path = os.path.join(directory, name)
        if name in HOOKS:
            found[HOOKS[name]] = [path]
        elif name in UNSUPPORTED_HOOKS:
            reader.warn("hooks_path", f"{name}: berth has no {name} moment; this hook does not run")
    return found


def _builder(reader: _Reader, value: t.Any) -> dict[str, t.Any]:
    """Kamal's builder as berth_builder; Kamal builds from a clean git clone unless context is given, berth from
    the app's root (build.yml tags the image with the commit, and -uncommitted-... when there are changes)."""
    if value is None:
        return {}
    builder = reader.mapping("builder", value, BUILDER_KEYS)
    context = reader.string("builder/context", builder.get("context")) or "."
    found: dict[str, t.Any] = {"context": os.path.normpath(os.path.join(reader.root, context))}
    for key in ("dockerfile", "target"):
        if builder.get(key) is not None:
            found[key] = reader.string(f"builder/{key}", builder[key])
    args = reader.mapping("builder/args", builder.get("args"))
    if args:
        found["args"] = {str(key): _env_text(item) for key, item in args.items()}
    arches = reader.strings("builder/arch", builder.get("arch"))
    if arches:
        found["platform"] = f"linux/{arches[0]}"
        if len(arches) > 1:
            reader.warn("builder/arch", f"berth builds one platform: linux/{arches[0]} (the servers' own)")
    if builder.get("remote"):
        found["docker_host"] = reader.string("builder/remote", builder["remote"])
    secrets = {}
    for name in reader.strings("builder/secrets", builder.get("secrets")):
        value = reader.secret(name, "builder/secrets")
        if value is not None:
            secrets[name] = value
    if secrets:
        found["secrets"] = secrets
    for key, why in (("cache", "the engine's own layer cache applies"), ("pack", "buildpacks are not built"),
                     ("driver", "the engine builds (no buildx driver)"), ("provenance", "no attestations"),
                     ("sbom", "no SBOM"), ("ssh", "no SSH forwarding into the build"),
                     ("local", "the remote builder, when given, always builds")):
        if builder.get(key) is not None:
            reader.warn(f"builder/{key}", f"not applied: {why}")
    return found


def _ssh(reader: _Reader, value: t.Any) -> dict[str, t.Any]:
    ssh = reader.mapping("ssh", value, SSH_KEYS)
    connection: dict[str, t.Any] = {"ansible_user": reader.string("ssh/user", ssh.get("user")) or "root"}
    port = reader.integer("ssh/port", ssh.get("port"))
    if port is not None:
        connection["ansible_port"] = port
    keys = reader.strings("ssh/keys", ssh.get("keys"))
    if keys:
        connection["ansible_ssh_private_key_file"] = os.path.expanduser(keys[0])
    arguments = []
    for key in keys[1:]:
        arguments.append(f"-i {os.path.expanduser(key)}")
    if ssh.get("proxy"):
        arguments.append(f"-o ProxyJump={reader.string('ssh/proxy', ssh['proxy'])}")
    if ssh.get("proxy_command"):
        arguments.append(f"-o ProxyCommand='{reader.string('ssh/proxy_command', ssh['proxy_command'])}'")
    if ssh.get("keys_only"):
        arguments.append("-o IdentitiesOnly=yes")
    config = ssh.get("config")
    if config is False:
        arguments.append("-F /dev/null")
    elif isinstance(config, (str, list)):
        paths = reader.strings("ssh/config", config)
        arguments.append(f"-F {os.path.expanduser(paths[0])}")
        if len(paths) > 1:
            reader.warn("ssh/config", "OpenSSH reads one configuration file (-F): the first is used")
    if arguments:
        connection["ansible_ssh_common_args"] = " ".join(arguments)
    if ssh.get("key_data") is not None:
        reader.warn("ssh/key_data", "not applied: load the key into ssh-agent (ssh-add) or name its file in ssh/keys")
    return connection


def _not_applicable(reader: _Reader, config: dict[str, t.Any], root: str) -> None:
    for key, why in (("run_directory", "berth keeps its state in berth_state_dir"),
                     ("sshkit", "Ansible's SSH connection settings apply (ansible.cfg, ansible_ssh_*)"),
                     ("hooks_output", "hook output follows Ansible's verbosity")):
        if config.get(key) is not None:
            reader.warn(key, f"not applied: {why}")
    aliases = reader.mapping("aliases", config.get("aliases"))
    for name, command in aliases.items():
        reader.warn(f"aliases/{name}", f"`kamal {name}` is `kamal {command}`: see docs/kamal.md for the playbook "
                                       "that does it")
    pages = config.get("error_pages_path")
    if pages and not os.path.isdir(os.path.join(root, str(pages))):
        reader.problem("error_pages_path", f"{pages}: no such directory (relative to the app's root {root})")
