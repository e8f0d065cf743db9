# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rails checks made before a deploy touches any host (``berth_rails``).

- Database connections: every app container opens up to (processes x pool) connections; during a
  rolling deploy the old and the new container of each host in a batch are both up. The sum over
  all roles and hosts, plus the batch overlap, plus headroom (migrations, consoles, backups) must fit
  in Postgres's ``max_connections`` minus its superuser reserve, or the deploy fails (or warns).
- Puma workers x memory per worker must fit in a web role's memory limit (a warning).
- ``MALLOC_ARENA_MAX=2`` unless set: glibc's per-thread arenas bloat threaded Ruby processes.
- A Rails role must get ``SECRET_KEY_BASE`` or ``RAILS_MASTER_KEY`` as a secret: without it Rails
  refuses to boot in production, and a changed one logs every user out (the session cookie is
  signed and encrypted with it).

Whether an app is Rails: ``berth_rails.enabled`` (true/false), or ``auto`` (the default): any role's
environment sets ``RAILS_ENV`` or ``RAILS_MASTER_KEY``/``SECRET_KEY_BASE`` is among its secrets.
"""
from __future__ import annotations

import math
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._checks import Checker, as_int, show
from ansible_collections.berth.deploy.plugins.module_utils._options import size_bytes

RAILS_KEYS = ("enabled", "pool_check", "max_connections", "headroom", "worker_memory", "malloc_arena_max")
POOL_CHECKS = ("fail", "warn", "off")
KEY_SECRETS = ("SECRET_KEY_BASE", "RAILS_MASTER_KEY")
# Postgres keeps superuser_reserved_connections (default 3) out of reach of application users.
POSTGRES_RESERVED = 3
# Rails' database.yml template: pool = RAILS_MAX_THREADS, 5 when unset (3 since Rails 7.2).
DEFAULT_THREADS = 5


def rails_plan(check: Checker, value: t.Any, roles: dict[str, dict[str, t.Any]],
               groups: t.Mapping[str, t.Sequence[str]], boot_limit: int | str,
               postgres_max_connections: int | None) -> dict[str, t.Any]:
    """Check ``berth_rails`` against the normalized roles; adds MALLOC_ARENA_MAX to their env.

    ``postgres_max_connections``: the Postgres accessory's (``berth_postgres``), if there is one.
    """
    settings = check.mapping("berth_rails", value, RAILS_KEYS)
    enabled = _enabled(check, settings.get("enabled", "auto"), roles)
    plan: dict[str, t.Any] = {"enabled": enabled, "connections": None}
    if not enabled:
        return plan
    arena = settings.get("malloc_arena_max", 2)
    if arena is not False:
        arena = check.integer("berth_rails.malloc_arena_max", arena, 1, 64, "a number of arenas, or false to leave it unset")
        for role in roles.values():
            role["env"].setdefault("MALLOC_ARENA_MAX", str(arena))
    for name, role in roles.items():
        if not any(secret in role["secret_names"] for secret in KEY_SECRETS):
            check.problem(f"berth_roles.{name}", "a Rails role needs SECRET_KEY_BASE or RAILS_MASTER_KEY in berth_env.secret "
                                                 "(or the role's env.secret): Rails does not boot in production without it, "
                                                 "and a changed one logs every user out")
        for secret in KEY_SECRETS:
            if secret in role["env"] and secret not in role["secret_names"]:
                check.problem(f"berth_roles.{name}", f"{secret} is in a clear env: move it to env.secret (it signs sessions)")
    _check_memory(check, settings.get("worker_memory", "300m"), roles)
    plan["connections"] = _check_connections(check, settings, roles, groups, boot_limit, postgres_max_connections)
    return plan


def _enabled(check: Checker, value: t.Any, roles: dict[str, dict[str, t.Any]]) -> bool:
    if value == "auto":
        return any("RAILS_ENV" in role["env"] or set(KEY_SECRETS) & set(role["secret_names"]) for role in roles.values())
    if isinstance(value, bool):
        return value
    check.problem("berth_rails.enabled", f"{show(value)} is not true, false or auto")
    return False


def role_connections(role: dict[str, t.Any]) -> dict[str, int]:
    """Connections one container of ``role`` may open: processes x pool per process."""
    env = role["env"]
    web = role["proxy"] is not None
    processes = _env_int(env, ("WEB_CONCURRENCY",) if web else ("JOB_CONCURRENCY",), 1)
    threads = _env_int(env, ("DB_POOL", "RAILS_MAX_THREADS") if web else ("DB_POOL", "SIDEKIQ_CONCURRENCY", "RAILS_MAX_THREADS"),
                       DEFAULT_THREADS)
    return {"processes": max(processes, 1), "pool": threads, "per_container": max(processes, 1) * threads}


def _env_int(env: t.Mapping[str, str], names: t.Sequence[str], default: int) -> int:
    for name in names:
        number = as_int(env.get(name))
        if number is not None and number >= 0:
            return number
    return default


def _check_connections(check: Checker, settings: dict[str, t.Any], roles: dict[str, dict[str, t.Any]],
                       groups: t.Mapping[str, t.Sequence[str]], boot_limit: int | str,
                       postgres_max_connections: int | None) -> dict[str, t.Any] | None:
    pool_check = settings.get("pool_check", "fail")
    if pool_check not in POOL_CHECKS:
        check.problem("berth_rails.pool_check", f"{show(pool_check)} is not one of {', '.join(POOL_CHECKS)}")
        return None
    max_connections, source = _max_connections(check, settings, postgres_max_connections)
    if pool_check == "off" or max_connections is None:
        return None
    headroom = check.integer("berth_rails.headroom", settings.get("headroom", 5), 0, 10000, "a number of connections")
    lines, steady, overlap = [], 0, 0
    for name, role in roles.items():
        demand = role_connections(role)
        hosts = len(groups.get(name, ()))
        batch = _batch_size(boot_limit, hosts)
        steady += demand["per_container"] * hosts
        overlap += demand["per_container"] * batch
        lines.append(f"{name}: {demand['processes']} processes x pool {demand['pool']} = {demand['per_container']} "
                     f"per container x {hosts} hosts")
    total = steady + overlap + headroom
    available = max_connections - POSTGRES_RESERVED
    numbers = {"steady": steady, "deploy_overlap": overlap, "headroom": headroom, "total": total,
               "max_connections": max_connections, "available": available, "source": source}
    if total > available:
        message = (f"the database connections do not fit: {'; '.join(lines)}; steady {steady} + old and new containers "
                   f"of one deploy batch {overlap} + headroom {headroom} = {total} > {available} "
                   f"({source} {max_connections} minus {POSTGRES_RESERVED} reserved for superusers). "
                   "Lower WEB_CONCURRENCY/RAILS_MAX_THREADS/JOB_CONCURRENCY, deploy in smaller batches (berth_boot.limit), "
                   "raise max_connections, or put PgBouncer in front")
        if pool_check == "fail":
            check.problem("berth_rails", message)
        else:
            check.warn(f"berth_rails: {message}")
    return numbers


def _max_connections(check: Checker, settings: dict[str, t.Any],
                     postgres_max_connections: int | None) -> tuple[int | None, str]:
    if settings.get("max_connections") is not None:
        return check.integer("berth_rails.max_connections", settings["max_connections"], 1, 1_000_000,
                             "the database's max_connections"), "berth_rails.max_connections"
    if postgres_max_connections is not None:
        return postgres_max_connections, "berth_postgres.max_connections"
    return None, ""


def _batch_size(limit: int | str, hosts: int) -> int:
    """Hosts of one role deployed at once: Ansible's serial, a count or a percentage (at least 1)."""
    if not hosts:
        return 0
    if isinstance(limit, str) and limit.endswith("%"):
        return min(hosts, max(1, math.floor(hosts * float(limit[:-1]) / 100)))
    return min(hosts, int(limit))


def _check_memory(check: Checker, worker_memory: t.Any, roles: dict[str, dict[str, t.Any]]) -> None:
    per_worker = _bytes(worker_memory)
    if per_worker is None:
        check.problem("berth_rails.worker_memory", f"{show(worker_memory)} is not a size like 300m or 1g")
        return
    for name, role in roles.items():
        limit = _bytes(role["options"].get("memory"))
        if role["proxy"] is None or limit is None:
            continue
        workers = role_connections(role)["processes"]
        if workers * per_worker > limit:
            check.warn(f"berth_roles.{name}.options.memory: {role['options']['memory']} cannot hold {workers} Puma "
                       f"workers of about {worker_memory} each (berth_rails.worker_memory): expect the kernel to kill "
                       "workers; lower WEB_CONCURRENCY or raise the limit")


def _bytes(value: t.Any) -> int | None:
    return size_bytes(value.strip() if isinstance(value, str) else value)
