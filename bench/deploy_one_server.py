"""Benchmark: wall time of a deploy on one server, split into pull / boot / health / switch / drain / stop.

Starts a throwaway server (tests/testbed), runs setup once, then N deploys alternating between two
versions (no load), and prints the median and range of each phase plus the playbook's wall time
(what Ansible itself adds). Results also go to bench/results/deploy_one_server.json.

    python3 bench/deploy_one_server.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _testbed import REPO, RESULTS, servers, summarize

from tests.integration.conftest import APP_IMAGE, DAEMON_EXTRA, TRAEFIK_IMAGE, write_server_inventory
from tests.support.ansible_run import run_playbook

SERVER, ADDRESS = "bench1", "127.0.0.101"
PHASES = ("pull", "boot", "health", "switch", "drain", "stop")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with servers({SERVER: ADDRESS}) as (work, key):
        samples = measure(work, key, args.runs)
    summary = {name: summarize(values) for name, values in samples.items()}
    print(f"deploy on one server, {args.runs} runs (seconds): phase median [min-max]")
    for name, numbers in summary.items():
        print(f"  {name:9} {numbers['median']:7.3f}  [{numbers['min']:.3f}-{numbers['max']:.3f}]")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "deploy_one_server.json").write_text(json.dumps({"runs": args.runs, "seconds": summary}, indent=2))
    return 0


def measure(work: Path, key: Path, runs: int) -> dict[str, list[float]]:
    inventory = write_server_inventory(work / "inventory", {SERVER: ADDRESS}, key, {
        "berth_service": "bench", "berth_image": APP_IMAGE, "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {"web": {"proxy": {"host": "bench.test", "app_port": 3000,
                                          "healthcheck": {"interval": 0.2, "timeout": 2}}}},
        "berth_host_docker_daemon_extra": DAEMON_EXTRA,
    })
    setup = run_playbook(REPO / "playbooks" / "setup.yml", inventory)
    assert setup.rc == 0, setup.stdout
    first = run_playbook(REPO / "playbooks" / "deploy.yml", inventory, env={"BERTH_VERSION": "v1"})
    assert first.rc == 0, first.stdout
    samples: dict[str, list[float]] = {phase: [] for phase in PHASES + ("modules", "playbook")}
    for index in range(runs):
        version = ("v2", "v1")[index % 2]
        started = time.monotonic()
        run = run_playbook(REPO / "playbooks" / "deploy.yml", inventory, env={"BERTH_VERSION": version})
        wall = time.monotonic() - started
        assert run.rc == 0, run.stdout
        report = run.task(f"Release on this host {version} (")["result"]["roles"]["web"]["seconds"]
        for phase in PHASES:
            samples[phase].append(float(report[phase]))
        samples["modules"].append(sum(float(report[phase]) for phase in PHASES))
        samples["playbook"].append(wall)
    return samples


if __name__ == "__main__":
    raise SystemExit(main())
