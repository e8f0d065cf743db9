"""Benchmark: wall time of deploy.yml on 1, 3 and 6 servers, and which Ansible settings make it fast.

Starts the largest fleet once (test-bed servers with Docker, 127.0.0.111...), runs setup once, then per
fleet size (an inventory of the first N servers) and per variant deploys alternating between two
versions (no load) and records the playbook's wall time, the tasks each host ran (not skipped; a loop counts once) and, from the app
role's report, the seconds spent in the modules (pull, boot, health, switch, drain, stop).

Variants (each against the repository's ansible.cfg: pipelining on, ControlPersist 60 s, forks 10):

- ``tuned``: ansible.cfg as it is, all hosts at once (``berth_boot`` default);
- ``no-pipelining``: ``ANSIBLE_PIPELINING=False`` (every module is copied over SFTP first);
- ``no-controlpersist``: ``ANSIBLE_SSH_ARGS=-o ControlMaster=no`` (a new SSH connection per task);
- ``forks-5``: Ansible's default forks (hosts beyond 5 wait for a free worker);
- ``serial-1``: ``berth_boot: {limit: 1}``, one host at a time.

    python3 bench/deploy_fleet.py [--sizes 1,3,6] [--runs 2] [--variants tuned,serial-1]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from _testbed import REPO, RESULTS, servers, summarize

from tests.integration.conftest import APP_IMAGE, TRAEFIK_IMAGE, write_server_inventory
from tests.support.ansible_run import run_playbook

PHASES = ("pull", "boot", "health", "switch", "drain", "stop")
VARIANTS: dict[str, tuple[dict[str, str], dict[str, object]]] = {
    "tuned": ({}, {}),
    "no-pipelining": ({"ANSIBLE_PIPELINING": "False"}, {}),
    "no-controlpersist": ({"ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}, {}),
    "forks-5": ({"ANSIBLE_FORKS": "5"}, {}),
    "serial-1": ({}, {"berth_boot": {"limit": 1}}),
}
# Variants whose effect needs more hosts than this to show at all.
MIN_SIZE = {"forks-5": 6, "serial-1": 2}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,3,6", help="fleet sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=2, help="deploys per size and variant")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    variants = [name for name in args.variants.split(",") if name]
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    fleet = {f"benchf{index}": f"127.0.0.{110 + index}" for index in range(1, max(sizes) + 1)}
    with servers(fleet) as (work, key):
        setup_fleet(fleet_inventory(work / "inventory", key, fleet))
        rows = []
        for size in sizes:
            first = dict(list(fleet.items())[:size])
            inventory = fleet_inventory(work / f"inventory-{size}", key, first)
            rows += [measure(inventory, list(first), variant, args.runs)
                     for variant in variants if size >= MIN_SIZE.get(variant, 1)]
    print_table(rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "deploy_fleet.json").write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2))
    return 0


def fleet_inventory(directory: Path, key: Path, fleet: dict[str, str]) -> Path:
    return write_server_inventory(directory, fleet, key, {
        "berth_service": "bench", "berth_image": APP_IMAGE, "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {"web": {"proxy": {"host": "bench.test", "app_port": 3000,
                                          "healthcheck": {"interval": 0.2, "timeout": 2}}}},
        "berth_host_bootstrap": False,  # the test-bed server image already has Docker
    })


def setup_fleet(inventory: Path) -> None:
    for playbook, env in (("setup.yml", {}), ("deploy.yml", {"BERTH_VERSION": "v1"})):
        run = run_playbook(REPO / "playbooks" / playbook, inventory, env=env, timeout=1200)
        assert run.rc == 0, run.stdout


def measure(inventory: Path, hosts: list[str], variant: str, runs: int) -> dict[str, object]:
    env, extra_vars = VARIANTS[variant]
    walls, tasks, modules = [], [], []
    for index in range(runs):
        version = ("v2", "v1")[index % 2]
        started = time.monotonic()
        run = run_playbook(REPO / "playbooks" / "deploy.yml", inventory, extra_vars=extra_vars or None,
                           env={**env, "BERTH_VERSION": version}, timeout=1200)
        walls.append(time.monotonic() - started)
        assert run.rc == 0, run.stdout
        per_host = Counter(item["host"] for item in run.results if item["status"] != "skipped" and not item["item"])
        tasks.append(max(per_host[host] for host in hosts))
        reports = [item["result"]["roles"]["web"]["seconds"]
                   for item in run.results if item["action"] == "berth.deploy.release"]
        assert len(reports) == len(hosts), f"{len(reports)} deploy reports for {len(hosts)} hosts"
        modules.append(max(sum(float(report[phase]) for phase in PHASES) for report in reports))
    row = {"servers": len(hosts), "variant": variant, "wall": summarize(walls), "tasks_per_host": max(tasks),
           "modules_slowest_host": summarize(modules)}
    print(f"{len(hosts)} servers, {variant}: wall {row['wall']['median']:.1f} s, {row['tasks_per_host']} tasks/host",
          flush=True)
    return row


def print_table(rows: list[dict[str, object]]) -> None:
    print(f"\n{'servers':>7}  {'variant':18}  {'wall median [min-max] s':24}  {'tasks/host':>10}  modules (slowest host) s")
    for row in rows:
        wall, modules = row["wall"], row["modules_slowest_host"]
        spread = f"{wall['median']:.1f} [{wall['min']:.1f}-{wall['max']:.1f}]"
        print(f"{row['servers']:7}  {row['variant']:18}  {spread:24}  {row['tasks_per_host']:10}  {modules['median']:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
