# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parameters of the ops playbooks (app_exec.yml, logs.yml, remove.yml), checked before anything runs.

They are passed with ``-e`` and carry their playbook's prefix (``exec_``, ``logs_``, ``remove_``):
every ``berth_*`` variable is configuration, and an unknown one is a configuration error. Each
reader takes the given values (None or "" meaning "not given") and the host's ``berth_plan`` and
returns the settings with defaults applied plus ``problems``, one line per problem naming the
variable, the value given and what is allowed.
"""
from __future__ import annotations

import re
import shlex
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils import _logs, _naming

EXEC_MODES = ("new", "running")
EXEC_HOSTS = ("primary", "all")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


class _Params:
    def __init__(self, given: t.Mapping[str, t.Any]):
        self.given = given
        self.problems: list[str] = []

    def value(self, name: str) -> t.Any:
        value = self.given.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{name}: {message}")

    def choice(self, name: str, allowed: t.Sequence[str], default: str) -> str:
        value = self.value(name)
        if value is None:
            return default
        if str(value) not in allowed:
            self.problem(name, f"{_show(value)} is not allowed ({' or '.join(allowed)})")
            return default
        return str(value)

    def integer(self, name: str, default: int, low: int, high: int, what: str) -> int:
        value = self.value(name)
        if value is None:
            return default
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.strip().isdigit():
            number = int(value)
        if number is None or not low <= number <= high:
            self.problem(name, f"{_show(value)} is not {what} ({low}-{high})")
            return default
        return number

    def flag(self, name: str) -> bool:
        value = self.value(name)
        if value is None or isinstance(value, bool):
            return bool(value)
        if str(value).strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return str(value).strip().lower() in TRUE_WORDS
        self.problem(name, f"{_show(value)} is not true or false")
        return False

    def role(self, name: str, plan: t.Mapping[str, t.Any], default: str | None) -> str | None:
        value = self.value(name)
        if value is None:
            return default
        roles = list(plan.get("roles") or {})
        if str(value) not in roles:
            self.problem(name, f"{_show(value)} is not a role of berth_roles ({', '.join(roles) or 'none'})")
            return default
        return str(value)

    def version(self, name: str) -> str | None:
        value = self.value(name)
        if value is None:
            return None
        if not _naming.is_valid_version(str(value)):
            self.problem(name, f"{_show(value)} is not an image tag (letters, digits, _ . -, max 128), e.g. v42")
            return None
        return str(value)


def _show(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def default_role(plan: t.Mapping[str, t.Any]) -> str | None:
    """The first web role (one with ``proxy``) of berth_roles, else the first role."""
    roles = plan.get("roles") or {}
    web = [name for name, role in roles.items() if role.get("proxy")]
    return (web or list(roles) or [None])[0]


def exec_settings(given: t.Mapping[str, t.Any], plan: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    params = _Params(given)
    mode = params.choice("exec_mode", EXEC_MODES, "new")
    version = params.version("exec_version")
    if version is not None and mode == "running":
        params.problem("exec_version", f"{_show(version)} applies to exec_mode=new only "
                                       "(exec_mode=running uses the running container)")
    return {
        "cmd": _command(params, "exec_cmd"),
        "role": params.role("exec_role", plan, default_role(plan)),
        "mode": mode,
        "hosts": params.choice("exec_hosts", EXEC_HOSTS, "primary"),
        "version": version,
        "timeout": params.integer("exec_timeout", 3600, 1, 86400, "a number of seconds"),
        "keep_failed": params.flag("exec_keep_failed"),
        "problems": params.problems,
    }


def _command(params: _Params, name: str) -> t.Any:
    value = params.value(name)
    example = f"e.g. -e {name}='bin/rails db:migrate', or a list of strings"
    if value is None:
        params.problem(name, f"is required: the command to run, {example}")
        return None
    if isinstance(value, list):
        if not value or not all(isinstance(arg, str) and arg for arg in value):
            params.problem(name, f"{_show(value)} is not a command ({example})")
            return None
        return value
    if not isinstance(value, str):
        params.problem(name, f"{_show(value)} is not a command ({example})")
        return None
    try:
        shlex.split(value)
    except ValueError as exc:
        params.problem(name, f"{_show(value)} cannot be split into arguments like a shell would ({exc})")
        return None
    return value


def logs_settings(given: t.Mapping[str, t.Any], plan: t.Mapping[str, t.Any], now: float) -> dict[str, t.Any]:
    params = _Params(given)
    since = params.value("logs_since")
    if since is not None:
        try:
            _logs.since_epoch(str(since), now)
        except _logs.SinceError:
            params.problem("logs_since", f"{_show(since)} is not allowed ({_logs.SINCE_ALLOWED})")
            since = None
    grep = params.value("logs_grep")
    if grep is not None:
        try:
            re.compile(str(grep))
        except re.error as exc:
            params.problem("logs_grep", f"{_show(grep)} is not a regular expression (Python syntax): {exc}")
            grep = None
    return {
        "role": params.role("logs_role", plan, None),
        "lines": params.integer("logs_lines", 100, 1, 100000, "a number of lines"),
        "since": str(since) if since is not None else None,
        "grep": str(grep) if grep is not None else None,
        "version": params.version("logs_version"),
        "timestamps": params.flag("logs_timestamps"),
        "follow": params.flag("logs_follow"),
        "problems": params.problems,
    }


def confirm_word(plan: t.Mapping[str, t.Any]) -> str:
    """What remove_confirm must say: the service, and its destination when it has one."""
    return "-".join(part for part in (plan.get("service"), plan.get("destination")) if part)


def remove_settings(given: t.Mapping[str, t.Any], plan: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    params = _Params(given)
    expected = confirm_word(plan)
    what = (f"remove.yml stops and deletes every container, proxy route, env file and image of {expected}; "
            f"confirm with -e remove_confirm={expected}")
    confirm = params.value("remove_confirm")
    if confirm is None:
        params.problem("remove_confirm", f"is required: {what}")
    elif str(confirm) != expected:
        params.problem("remove_confirm", f"{_show(confirm)} is not {expected!r}: {what}")
    return {"confirm": expected, "proxy": params.flag("remove_proxy"), "problems": params.problems}


CANARY_ACTIONS = ("start", "promote", "abort")


def canary_settings(given: t.Mapping[str, t.Any], plan: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """canary.yml: ``canary_action`` (start by default) and, to start, ``berth_canary_percent`` (in the plan)."""
    params = _Params(given)
    action = params.choice("canary_action", CANARY_ACTIONS, "start")
    if params.problems:
        return {"action": action, "percent": 0, "problems": params.problems}
    if action == "start" and plan.get("canary_percent") is None:
        params.problem("berth_canary_percent", "is required to start a canary: the share of new clients (1-99) "
                                               "that reach berth_version, e.g. -e berth_canary_percent=10")
    if action == "start" and not plan.get("version"):
        params.problem("berth_version", "is required to start a canary: the version to try, e.g. -e berth_version=v43")
    return {"action": action, "percent": plan.get("canary_percent") or 0, "problems": params.problems}


ACCESSORY_ACTIONS = ("boot", "reboot", "upgrade", "stop", "remove", "logs", "exec")
ACCESSORY_READS = ("logs", "exec")  # no deploy lock: they change nothing berth manages


def accessory_settings(given: t.Mapping[str, t.Any], plan: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """accessory.yml: ``accessory`` (a name or ``all``), ``accessory_action``; ``names`` are the ones to act on."""
    params = _Params(given)
    known = list(plan.get("accessories") or {})
    action = params.choice("accessory_action", ACCESSORY_ACTIONS, "")
    if params.value("accessory_action") is None:
        params.problem("accessory_action", f"is required ({' or '.join(ACCESSORY_ACTIONS)})")
    name = str(params.value("accessory") or "all")
    if not known:
        params.problem("accessory", "there are no accessories: set berth_accessories, berth_postgres or berth_redis")
    elif name != "all" and name not in known:
        params.problem("accessory", f"{_show(name)} is not an accessory ({', '.join(known)} or all)")
    names = known if name == "all" else [name] if name in known else []
    settings = {"accessory": name, "action": action, "names": names, "lines": 100, "cmd": None}
    if action == "logs":
        settings["lines"] = params.integer("accessory_lines", 100, 1, 100000, "a count of lines")
    if action == "exec":
        if name == "all" and known:
            params.problem("accessory", f"exec runs in one accessory: name it (-e accessory={known[0]})")
        settings["cmd"] = _command(params, "accessory_cmd")
    return {**settings, "problems": params.problems}


def rollback_target(found: t.Mapping[str, t.Iterable[t.Any]]) -> dict[str, t.Any]:
    """The version rollback.yml returns to when none is given: on each host, the newest retained version of its
    roles that is not running (the one that served before the last deploy); the same on every host.
    ``found``: host -> its berth.deploy.container_info results (one per role). -> {version, problem}."""
    return _one_version(found, _previous_of, "No earlier version is retained on {hosts}: nothing to roll back to")


def start_target(found: t.Mapping[str, t.Iterable[t.Any]]) -> dict[str, t.Any]:
    """The version app.yml (app_action=start) serves again: each role's newest container's, the same everywhere."""
    return _one_version(found, _newest_of, "No container of the service is on {hosts}: nothing to start "
                                           "(deploy.yml deploys a version)")


def _previous_of(result: t.Mapping[str, t.Any]) -> str | None:
    running = set(result.get("running") or [])
    stopped = [item["version"] for item in result.get("containers") or []
               if item.get("version") and item["version"] not in running]
    return stopped[0] if stopped else None


def _newest_of(result: t.Mapping[str, t.Any]) -> str | None:
    versions = [item["version"] for item in result.get("containers") or [] if item.get("version")]
    return versions[0] if versions else None


def _one_version(found: t.Mapping[str, t.Iterable[t.Any]], pick: t.Callable[[t.Mapping[str, t.Any]], str | None],
                 none_found: str) -> dict[str, t.Any]:
    """The one version ``pick`` finds in every role of every host (hosts without roles skipped). -> {version, problem}."""
    chosen: dict[str, str | None] = {}
    for host, results in found.items():
        picked = [pick(result) for result in results or []
                  if isinstance(result, t.Mapping) and not result.get("skipped")]
        if not picked:
            continue  # no role here (an accessory's host)
        versions = {version for version in picked if version}
        if len(versions) > 1:
            return {"version": None, "problem": f"{host}: its roles ran different versions ({', '.join(sorted(versions))}); "
                                                "pass -e berth_version=..."}
        chosen[host] = versions.pop() if versions and None not in picked else None
    missing = sorted(host for host, version in chosen.items() if not version)
    if missing:
        problem = none_found.format(hosts=", ".join(missing)) + " (status.yml lists what each host keeps)"
        return {"version": None, "problem": problem}
    versions = sorted(set(chosen.values()))  # type: ignore[arg-type]
    if len(versions) != 1:
        return {"version": None, "problem": "The hosts differ: " + "; ".join(
            f"{host}: {version}" for host, version in sorted(chosen.items())) + ". Pass -e berth_version=..."}
    return {"version": versions[0], "problem": ""}
