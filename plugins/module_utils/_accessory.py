# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accessories: long-lived service containers beside the app (a database, a cache).

``berth_accessories`` (any image), ``berth_postgres`` and ``berth_redis`` all end in one shape,
``plan["accessories"][name]``, which roles/accessory runs; the Postgres and Redis settings are
mapped onto it here, never around it. Secret values stay out of the plan (names only): the roles
read them from the raw variables.

Where an accessory runs: ``hosts`` (inventory host or group names); by default the inventory group
named after the accessory, or else the primary host (the first host of the first role's group).
A published port binds to 127.0.0.1 unless an address is given: a database is never exposed on
0.0.0.0 by default.
"""
from __future__ import annotations

import os
import posixpath
import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils import _naming
from ansible_collections.berth.deploy.plugins.module_utils._checks import (CALENDAR_PATTERN, CONTROL_CHARACTERS, HIDDEN,
                                                                           Checker, kind, read_env, read_volumes,
                                                                           scalar_text, show)
from ansible_collections.berth.deploy.plugins.module_utils._image import on_registry, split_reference
from ansible_collections.berth.deploy.plugins.module_utils._options import (OptionError, normalize_options, parse_publish,
                                                                            parse_volume)

ACCESSORY_KEYS = ("image", "hosts", "cmd", "env", "files", "directories", "volumes", "port", "options",
                  "healthcheck", "stop_timeout")
FILE_KEYS = ("dest", "src", "content", "mode", "owner", "group")
DIRECTORY_KEYS = ("path", "mode", "owner", "group")
POSTGRES_KEYS = ("name", "image", "hosts", "user", "database", "password", "max_connections", "settings", "data",
                 "port", "options", "backup")
BACKUP_KEYS = ("schedule", "keep", "dir")
REDIS_KEYS = ("name", "image", "hosts", "password", "maxmemory", "maxmemory_policy", "appendonly", "data", "port",
              "options")
REDIS_POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
                  "volatile-random", "volatile-ttl")
# the role that runs an accessory of each kind (setup.yml, accessory.yml)
KIND_ROLES = {"generic": "berth.deploy.accessory", "postgres": "berth.deploy.postgres", "redis": "berth.deploy.redis"}
POSTGRES_DEFAULT_MAX_CONNECTIONS = 100
POSTGRES_DATA = "/var/lib/postgresql/data"
POSTGRES_UID = 999  # the official image's postgres user
REDIS_UID = 999  # the official image's redis user
REDIS_CONF = "/usr/local/etc/redis/redis.conf"
FILE_MODE = "0600"  # of an accessory's files unless given
DATA_ROOT = "/var/lib/berth"
BACKUP_ROOT = "/var/backups/berth"
MODE_PATTERN = re.compile(r"0?[0-7]{3}")
OWNER_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}")
SETTING_PATTERN = re.compile(r"[a-z_][a-z0-9_.]*")
REDIS_SIZE_PATTERN = re.compile(r"[0-9]{1,19}(b|kb|mb|gb)?", re.IGNORECASE)
FILE_DEST_PATTERN = re.compile(r"/[^\s:]*[^/\s:]")
HOST_PATH_PATTERN = re.compile(r"/\S*")
POSTGRES_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Host directories an accessory may not take as a whole (they are chowned, set to 0700, filled with dumps).
SYSTEM_DIRECTORIES = frozenset((
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt", "/proc",
    "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin",
    "/usr/share", "/var", "/var/backups", "/var/cache", "/var/lib", "/var/lib/docker", "/var/log", "/var/run",
    "/var/spool", "/var/tmp", DATA_ROOT, BACKUP_ROOT,
))


class Context(t.NamedTuple):
    """What every accessory shares with the rest of the plan."""
    service: str
    destination: str
    state_dir: str
    role_names: t.Sequence[str]
    groups: t.Mapping[str, t.Sequence[str]]
    primary_host: str | None
    inventory_dir: str
    registry_server: str  # berth_registry.server when it has credentials, else ""


def accessories_plan(check: Checker, raw: t.Mapping[str, t.Any], context: Context) -> dict[str, dict[str, t.Any]]:
    """Every accessory of the service, normalized, keyed by name."""
    plan: dict[str, dict[str, t.Any]] = {}
    for name, value in check.mapping("berth_accessories", raw["berth_accessories"], secret=True).items():
        plan[str(name)] = _generic(check, f"berth_accessories.{name}", str(name), value, context)
    for variable, build in (("berth_postgres", _postgres), ("berth_redis", _redis)):
        if not raw[variable]:
            continue
        accessory = build(check, raw[variable], context)
        if accessory["name"] in plan:
            check.problem(f"{variable}.name", f"{accessory['name']!r} is also a key of berth_accessories: "
                                              "give one of them another name")
        plan[accessory["name"]] = accessory
    for name in plan:
        if name in context.role_names:
            check.problem(f"accessory {name}", "has the name of a role of berth_roles: give it another name")
    return plan


def _generic(check: Checker, path: str, name: str, value: t.Any, context: Context,
             kind: str = "generic") -> dict[str, t.Any]:
    if not _naming.is_valid_name(name):
        check.problem(path, "accessory names use lowercase letters, digits and - (they name containers)")
    settings = check.mapping(path, value, ACCESSORY_KEYS, secret=True)  # env.secret and files are inside
    container = _naming.role_prefix(context.service, name, context.destination)
    image = check.string(f"{path}.image", settings.get("image"), required=True,
                         allowed="an image with its tag, e.g. postgres:17 or registry.example.com/redis:7")
    clear, secret_names = read_env(check, f"{path}.env", settings.get("env"))
    cmd = settings.get("cmd")
    if cmd is not None and not (isinstance(cmd, str) and cmd.strip()) and not (
            isinstance(cmd, list) and cmd and all(isinstance(arg, str) for arg in cmd)):
        check.problem(f"{path}.cmd", f"{show(cmd)} is not a command (a string or a list of strings)")
    config_dir = f"{context.state_dir}/{context.service}/accessories/{container}"
    data_dir = f"{DATA_ROOT}/{container}"
    files = _files(check, f"{path}.files", settings.get("files"), config_dir, context.inventory_dir)
    directories = _directories(check, f"{path}.directories", settings.get("directories"), data_dir, context.state_dir)
    volumes = read_volumes(check, f"{path}.volumes", settings.get("volumes"))
    binds = [f"{item['path']}:{item['dest']}:ro" for item in files] + \
            [f"{item['path']}:{item['container_path']}" for item in directories] + volumes
    _check_unique_mounts(check, path, binds)
    options = _options(check, path, settings)
    return {
        "name": name,
        "kind": kind,
        "role": KIND_ROLES[kind],
        "container": container,
        "image": image,
        "image_repository": split_reference(image)[0] if image else "",
        "image_tag": split_reference(image)[1] if image else "",
        # berth_registry's credentials go to the pull only for an image of that registry
        "registry_auth": on_registry(image, context.registry_server),
        "cmd": cmd,
        "env": clear,
        "secret_names": secret_names,
        "env_file": f"{context.state_dir}/{context.service}/env/{container}.env",
        "files": files,
        "directories": directories,
        "volumes": binds,
        "options": options,
        "healthcheck": "healthcheck" in options,
        "stop_timeout": check.integer(f"{path}.stop_timeout", settings.get("stop_timeout", 30), 0, 3600, "seconds"),
        "hosts": _hosts(check, f"{path}.hosts", settings.get("hosts"), name, context),
        "config_dir": config_dir,
        "data_dir": data_dir,
    }


def _options(check: Checker, path: str, settings: dict[str, t.Any]) -> dict[str, t.Any]:
    options = dict(check.mapping(f"{path}.options", settings.get("options")))
    if settings.get("healthcheck") is not None:
        options["healthcheck"] = settings["healthcheck"]
    publish = _publish_entry(check, f"{path}.port", settings["port"]) if settings.get("port") is not None else None
    if publish and isinstance(options.get("publish", []), list):
        options["publish"] = list(options.get("publish", [])) + [publish]
    _normalized, problems = normalize_options(options)
    for option, message in problems:
        where = path if option in ("healthcheck",) else f"{path}.options"
        check.problem(f"{where}.{option}", message)
    return options


def _publish_entry(check: Checker, path: str, value: t.Any) -> str | None:
    """``PORT`` -> ``127.0.0.1:PORT:PORT``; ``HOST_PORT:PORT`` -> on 127.0.0.1; ``ADDRESS:HOST_PORT:PORT`` as given."""
    text = scalar_text(value)
    if text is None:
        check.problem(path, f"{show(value)} is not a port, HOST_PORT:PORT or ADDRESS:HOST_PORT:PORT")
        return None
    try:
        container_port, (address, host_port) = parse_publish(text)
    except OptionError as error:
        check.problem(path, str(error))
        return None
    if address:
        return text
    number, protocol = container_port.split("/")
    return f"127.0.0.1:{host_port or number}:{number}" + (f"/{protocol}" if "/" in text else "")


def _files(check: Checker, path: str, value: t.Any, config_dir: str, inventory_dir: str) -> list[dict[str, t.Any]]:
    """Files mounted read-only into the container, written on the host under ``config_dir/files``.

    ``src`` is a template on the controller (relative paths start at the inventory directory);
    ``content`` stays in the raw variables (it may hold secrets) and is read by the role.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        check.problem(path, "is not a list of {dest, src | content, mode, owner, group}")
        return []
    files = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        entry = check.mapping(where, item, FILE_KEYS, secret=True)  # content may be a secret
        dest = check.string(f"{where}.dest", entry.get("dest"), FILE_DEST_PATTERN,
                            "an absolute path of a file in the container", required=True)
        if ("src" in entry) == ("content" in entry):
            check.problem(where, "needs exactly one of src (a template on the controller) or content")
        files.append({
            "index": index,
            "dest": dest,
            "path": f"{config_dir}/files{posixpath.normpath(dest) if dest else ''}",
            "src": _template(check, f"{where}.src", entry["src"], inventory_dir) if "src" in entry else "",
            # private unless a mode is given: a mounted file often holds a secret
            "mode": _mode(check, f"{where}.mode", entry.get("mode", FILE_MODE)),
            "owner": _owner(check, f"{where}.owner", entry.get("owner", "root")),
            "group": _owner(check, f"{where}.group", entry.get("group", "root")),
        })
    return files


def _template(check: Checker, path: str, value: t.Any, inventory_dir: str) -> str:
    src = check.string(path, value, required=True)
    if src and not src.startswith("/") and inventory_dir:
        src = os.path.join(inventory_dir, src)
    if src and (inventory_dir or src.startswith("/")) and not os.path.isfile(src):
        check.problem(path, f"{show(src)} is not a file on the controller (relative paths start at the inventory directory)")
    return src


def _directories(check: Checker, path: str, value: t.Any, data_dir: str, state_dir: str) -> list[dict[str, t.Any]]:
    """``HOST_DIR:/container/path`` (relative HOST_DIR under ``data_dir``), or {path, mode, owner, group}."""
    if value is None:
        return []
    if not isinstance(value, list):
        check.problem(path, "is not a list of HOST_DIR:/container/path or {path, mode, owner, group}")
        return []
    directories = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        entry = {"path": item} if isinstance(item, str) else check.mapping(where, item, DIRECTORY_KEYS)
        spec = check.string(f"{where}.path", entry.get("path"), required=True, allowed="HOST_DIR:/container/path")
        host, _colon, container_path = spec.partition(":")
        if spec and (not host or not container_path.startswith("/") or ":" in container_path):
            check.problem(f"{where}.path", f"{show(spec)} is not HOST_DIR:/container/path")
        elif host.startswith("/"):
            _host_directory(check, f"{where}.path", host, state_dir)
        elif ".." in host.split("/"):
            check.problem(f"{where}.path", f"{show(spec)}: a relative HOST_DIR stays inside {data_dir} (no ..)")
        directories.append({
            "path": host if host.startswith("/") else f"{data_dir}/{host}",
            "container_path": container_path,
            "mode": _mode(check, f"{where}.mode", entry.get("mode", "0755")),
            "owner": _owner(check, f"{where}.owner", entry.get("owner", "root")),
            "group": _owner(check, f"{where}.group", entry.get("group", entry.get("owner", "root"))),
        })
    return directories


def _host_directory(check: Checker, path: str, directory: str, state_dir: str) -> str:
    """An absolute host directory berth may take over; -> "" after reporting one it may not."""
    if not HOST_PATH_PATTERN.fullmatch(directory):
        check.problem(path, f"{show(directory)} is not an absolute path without spaces")
        return ""
    normalized = "/" + posixpath.normpath(directory).lstrip("/")
    if normalized in SYSTEM_DIRECTORIES or normalized == posixpath.normpath(state_dir or "/"):
        check.problem(path, f"{show(directory)} is the root, a system directory or berth's own: an accessory may not "
                            "take it over as a whole (it is chowned and set to mode 0700): give a directory of its own, "
                            "e.g. /srv/<service>-<accessory>")
        return ""
    return directory


def _check_unique_mounts(check: Checker, path: str, binds: list[str]) -> None:
    seen: set[str] = set()
    for bind in binds:
        try:
            source, mount_path, _mode = parse_volume(bind)
        except OptionError:
            continue  # reported where it was read
        for key in (f"source {source}", f"path {mount_path}"):
            if key in seen:
                check.problem(path, f"{key} is mounted twice (files, directories and volumes share one list)")
            seen.add(key)


def unmounted_image_volumes(image_volumes: t.Iterable[str], volumes: t.Iterable[str],
                            tmpfs: t.Iterable[str] = ()) -> list[str]:
    """The image's ``VOLUME`` paths that no mount of the accessory covers exactly.

    Docker gives each such path an anonymous volume, and the container that replaces this one gets a
    new, empty one: the data written there is gone (a mount of a parent directory does not help,
    Docker still mounts the anonymous volume on top of it).
    """
    mounted = {posixpath.normpath(path) for path in tmpfs}
    for volume in volumes:
        try:
            mounted.add(posixpath.normpath(parse_volume(volume)[1]))
        except OptionError:
            continue  # reported by the validation
    return sorted(path for path in image_volumes if posixpath.normpath(path) not in mounted)


def _mode(check: Checker, path: str, value: t.Any) -> str:
    """A file mode as '0640'; an unquoted YAML 0640 arrives as the int 416 and is read back as octal."""
    text = f"{value:o}" if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777 else str(value)
    if not MODE_PATTERN.fullmatch(text):
        check.problem(path, f"{show(value)} is not an octal file mode in quotes, e.g. '0640'")
        return FILE_MODE
    return text.rjust(4, "0")


def _owner(check: Checker, path: str, value: t.Any) -> str:
    return check.string(path, value, OWNER_PATTERN, "a user or group name, or a numeric id such as 999") or "root"


def _hosts(check: Checker, path: str, value: t.Any, name: str, context: Context) -> list[str]:
    """Inventory host or group names -> host names; default: group ``name``, else the primary host."""
    if value is None:
        if context.groups.get(name):
            return list(context.groups[name])
        return [context.primary_host] if context.primary_host else []
    every_host = {host for hosts in context.groups.values() for host in hosts}
    hosts: list[str] = []
    entries = check.string_list(path, value)
    for entry in entries:
        if entry in context.groups:
            hosts.extend(context.groups[entry])
        elif entry in every_host:
            hosts.append(entry)
        elif context.groups:
            check.problem(path, f"{show(entry)} is neither a host nor a group of the inventory")
    if context.groups and entries and not hosts:
        check.problem(path, f"{show(entries)} names no host: the accessory would run nowhere")
    return list(dict.fromkeys(hosts))


def _data_mount(data: str, default_volume: str, container_path: str, owner: int) -> dict[str, list[t.Any]]:
    """``data``: empty (a named volume), a volume name, or an absolute host directory (owned by ``owner``)."""
    if data.startswith("/"):
        return {"directories": [{"path": f"{data}:{container_path}", "owner": str(owner), "mode": "0700"}]}
    return {"volumes": [f"{data or default_volume}:{container_path}"]}


def _postgres(check: Checker, value: t.Any, context: Context) -> dict[str, t.Any]:
    """``berth_postgres``: the official postgres image's contract (POSTGRES_* env, PGDATA, uid 999)."""
    path = "berth_postgres"
    settings = check.mapping(path, value, POSTGRES_KEYS, secret=True)  # the password is inside
    name = check.string(f"{path}.name", settings.get("name", "db"), _naming.NAME_PATTERN,
                        "lowercase letters, digits and -") or "db"
    user = check.string(f"{path}.user", settings.get("user") or context.service.replace("-", "_") or "postgres",
                        POSTGRES_IDENTIFIER, "a Postgres role name: lowercase letters, digits and _")
    database = check.string(f"{path}.database", settings.get("database") or user, POSTGRES_IDENTIFIER,
                            "a database name: lowercase letters, digits and _")
    check.secret(f"{path}.password", settings.get("password"), required=True)
    max_connections = check.integer(f"{path}.max_connections", settings.get("max_connections", POSTGRES_DEFAULT_MAX_CONNECTIONS),
                                    5, 100000, "connections")
    server_settings = check.mapping(f"{path}.settings", settings.get("settings"))
    cmd = ["postgres", "-c", f"max_connections={max_connections}"]
    for key, setting in sorted(server_settings.items()):
        text = "on" if setting is True else "off" if setting is False else scalar_text(setting)
        if not SETTING_PATTERN.fullmatch(str(key)) or key == "max_connections":
            check.problem(f"{path}.settings.{key}", "is not a Postgres setting name (max_connections has its own key)")
        elif text is None or CONTROL_CHARACTERS.search(text):
            check.problem(f"{path}.settings.{key}", f"{show(setting)} is not a string or number on one line")
        else:
            cmd += ["-c", f"{key}={text}"]
    container = _naming.role_prefix(context.service, name, context.destination)
    data = _data(check, f"{path}.data", settings.get("data"), context.state_dir)
    generic = {
        "image": settings.get("image", "postgres:17"),
        "hosts": settings.get("hosts"),
        "port": settings.get("port"),
        "options": settings.get("options"),
        "cmd": cmd,
        "env": {"clear": {"POSTGRES_USER": user, "POSTGRES_DB": database, "PGDATA": POSTGRES_DATA}},
        # Over TCP: on first start the image runs a temporary server on the socket only (initdb, init
        # scripts), then restarts; a socket check would pass before the real server is up. No password
        # is needed: pg_isready does not log in.
        "healthcheck": {"cmd": 'pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"', "interval": 2, "timeout": 5,
                        "retries": 5, "start_period": 60},
        "stop_timeout": 60,
        **_data_mount(data, f"{container}-data", POSTGRES_DATA, POSTGRES_UID),
    }
    accessory = _generic(check, path, name, generic, context, kind="postgres")
    accessory["secret_names"] = ["POSTGRES_PASSWORD"]
    accessory["postgres"] = {"user": user, "database": database, "max_connections": max_connections, "port": 5432,
                             "backup": _backup(check, f"{path}.backup", settings.get("backup"), container,
                                               context.state_dir)}
    return accessory


def _data(check: Checker, path: str, value: t.Any, state_dir: str) -> str:
    """``data``: empty, a volume name, or an absolute host directory that is not a system directory."""
    data = check.string(path, value)
    return _host_directory(check, path, data, state_dir) if data.startswith("/") else data


def _backup(check: Checker, path: str, value: t.Any, container: str, state_dir: str) -> dict[str, t.Any]:
    backup = check.mapping(path, value, BACKUP_KEYS)
    directory = check.string(f"{path}.dir", backup.get("dir", f"{BACKUP_ROOT}/{container}"), HOST_PATH_PATTERN,
                             "an absolute path on the host")
    return {
        # OnCalendar= of a systemd timer
        "schedule": check.string(f"{path}.schedule", backup.get("schedule", "daily"), CALENDAR_PATTERN,
                                 "empty, or a systemd calendar event like daily or Mon..Fri 03:00"),
        "keep": check.integer(f"{path}.keep", backup.get("keep", 7), 1, 10000, "a number of backups to keep"),
        "dir": (_host_directory(check, f"{path}.dir", directory, state_dir) if directory else "").rstrip("/"),
    }


def _redis(check: Checker, value: t.Any, context: Context) -> dict[str, t.Any]:
    """``berth_redis``: the official redis image's contract (/data, uid 999), configured by one redis.conf."""
    path = "berth_redis"
    settings = check.mapping(path, value, REDIS_KEYS, secret=True)  # the password is inside
    name = check.string(f"{path}.name", settings.get("name", "redis"), _naming.NAME_PATTERN,
                        "lowercase letters, digits and -") or "redis"
    password = settings.get("password")
    # Redis listens on the deploy network every app and accessory shares: never without a password.
    if password is None or password == "":
        check.problem(f"{path}.password", "is required, a non-empty string (keep it in Ansible Vault and give the app "
                                          "REDIS_URL in berth_env.secret)")
    elif not isinstance(password, str):
        check.problem(f"{path}.password", f"is {kind(password)}, not a string {HIDDEN}")
    elif check.secret(f"{path}.password", password) and ('"' in password or "\\" in password):
        check.problem(f"{path}.password", "holds a double quote, a backslash or a line break, which redis.conf "
                                          f"cannot hold {HIDDEN}")
    maxmemory = check.string(f"{path}.maxmemory", settings.get("maxmemory", ""), REDIS_SIZE_PATTERN,
                             "a size like 256mb or 1gb (empty: no limit)")
    policy = check.string(f"{path}.maxmemory_policy", settings.get("maxmemory_policy", "noeviction"))
    if policy and policy not in REDIS_POLICIES:
        check.problem(f"{path}.maxmemory_policy", f"{show(policy)} is not one of {', '.join(REDIS_POLICIES)}")
    container = _naming.role_prefix(context.service, name, context.destination)
    data = _data(check, f"{path}.data", settings.get("data"), context.state_dir)
    generic = {
        "image": settings.get("image", "redis:7"),
        "hosts": settings.get("hosts"),
        "port": settings.get("port"),
        "options": settings.get("options"),
        "cmd": ["redis-server", REDIS_CONF],
        # redis-cli reads the password from REDISCLI_AUTH
        "healthcheck": {"cmd": "redis-cli ping | grep -q PONG", "interval": 2, "timeout": 5, "retries": 5,
                        "start_period": 30},
        **_data_mount(data, f"{container}-data", "/data", REDIS_UID),
    }
    accessory = _generic(check, path, name, generic, context, kind="redis")
    conf_path = f"{accessory['config_dir']}/redis.conf"
    accessory["volumes"].append(f"{conf_path}:{REDIS_CONF}:ro")
    accessory["secret_names"] = ["REDISCLI_AUTH"]
    accessory["redis"] = {"conf_path": conf_path, "owner": str(REDIS_UID), "maxmemory": maxmemory.lower(),
                          "maxmemory_policy": policy or "noeviction",
                          "appendonly": check.boolean(f"{path}.appendonly", settings.get("appendonly", True))}
    return accessory
