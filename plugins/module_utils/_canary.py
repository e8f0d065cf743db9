# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canary releases on one host: what a release does given the canaries recorded on its routes.

- ``start`` (``percent``): the web roles boot the new version beside the serving one; the route sends
  ``percent`` of new clients to it, the rest to what served before, and a cookie keeps each client on
  its side. Nothing retires; other roles are not touched. Again with the same version: a new split.
- ``promote``: a normal release of the canary's version (its container is reused), so the route moves
  to it alone, the old containers drain and retire, and the other roles follow (also on hosts that
  run no canary: job roles).
- ``abort``: the roles with a canary serve what served before (a restore), and the canary's container
  goes.
- no action: a normal deploy, refused while a canary runs (it would silently end the experiment).
"""
from __future__ import annotations

import typing as t
from dataclasses import replace

from ansible_collections.berth.deploy.plugins.module_utils._proxy import Canary

ACTIONS = ("", "start", "promote", "abort")


class CanaryRefused(Exception):
    """The release cannot run with the canaries on this host; nothing was changed."""


def resolve(request: t.Any, canaries: t.Mapping[str, Canary]) -> t.Any:
    """The release ``request`` (a _release.Request) adjusted for its canary action and the ``canaries``
    recorded on this host (role -> canary), or CanaryRefused."""
    action = request.canary
    if action == "":
        if canaries and not request.restore:
            raise CanaryRefused(_running(canaries) + ": a deploy would end it unseen. Promote it "
                                "(playbooks/canary.yml -e canary_action=promote) or abort it "
                                "(-e canary_action=abort) first. Nothing was changed on this host.")
        return request
    if action == "start":
        other = {role: canary for role, canary in canaries.items() if canary.version != request.version}
        if other:
            raise CanaryRefused(_running(other) + f": promote or abort it before a canary of {request.version}. "
                                                  "Nothing was changed on this host.")
        return replace(request, roles=[role for role in request.roles if role.route is not None])
    if action == "promote":
        versions = sorted({canary.version for canary in canaries.values()})
        if not versions:  # job roles, or a host whose canary start was put back: a deploy of that version
            return request if request.version else replace(request, roles=[])
        if len(versions) > 1 or (request.version and request.version != versions[0]):
            raise CanaryRefused(_running(canaries) + f", not {request.version}: promote without berth_version, or "
                                                     "abort it. Nothing was changed on this host.")
        return replace(request, version=versions[0])
    if action == "abort":
        roles = [role for role in request.roles if role.name in canaries]
        version = next(iter(canaries.values())).version if canaries else request.version
        return replace(request, roles=roles, version=version,
                       restore={name: canary.stable[0] for name, canary in canaries.items()})
    raise CanaryRefused(f"canary: {action!r} is not one of start, promote, abort")


def _running(canaries: t.Mapping[str, Canary]) -> str:
    return "A canary runs on this host (" + "; ".join(
        f"role {role}: {canary.version} for {canary.percent}% of clients" for role, canary in sorted(canaries.items())) + ")"


def weights(percent: int) -> tuple[int, int]:
    """(stable, canary) server weights of a route for a ``percent`` canary."""
    if not 1 <= percent <= 99:
        raise ValueError(f"a canary takes 1-99% of clients, not {percent}")
    return 100 - percent, percent


def running_version(found: t.Iterable[t.Any], given: str | None) -> dict[str, t.Any]:
    """The version of the canary that ``found`` (canary_info results, one per host) report: one version on every
    host that runs one. -> {version, problem}; ``given`` (berth_version, when passed) must be that version."""
    versions = sorted({canary["version"] for result in found if isinstance(result, t.Mapping)
                       for canary in (result.get("canaries") or {}).values()})
    if not versions:
        return {"version": None, "problem": "No canary runs on these hosts: nothing to promote or abort "
                                            "(start one with -e berth_version=... -e berth_canary_percent=...)"}
    if len(versions) > 1:
        return {"version": None, "problem": f"Canaries of {', '.join(versions)} run on these hosts; abort them "
                                            "with --limit per group of hosts, or promote with -e berth_version=..."}
    if given and given != versions[0]:
        return {"version": None, "problem": f"The canary runs {versions[0]}, not berth_version={given}"}
    return {"version": versions[0], "problem": ""}
