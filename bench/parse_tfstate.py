"""Benchmark: reading a Terraform state of N resources into servers (berth.deploy.terraform_state's core).

Writes a synthetic version 4 state (aws_instance resources with count = 2, tags, nested blocks,
sensitive attributes, plus as many non-server resources) and times load_state + servers + outputs,
best and median of several runs. No Ansible: this is the parsing the inventory plugin does.

    python3 bench/parse_tfstate.py [--resources 10000] [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate  # noqa: E402


def synthetic_state(resources: int) -> str:
    items = []
    for number in range(resources):
        if number % 2:
            items.append({"mode": "managed", "type": "aws_security_group", "name": f"sg{number}", "instances": [
                {"schema_version": 1, "attributes": {"id": f"sg-{number}", "ingress": [{"from_port": 443, "cidr_blocks": ["0.0.0.0/0"]}]},
                 "sensitive_attributes": []}]})
            continue
        items.append({"mode": "managed", "type": "aws_instance", "name": f"web{number}", "module": f"module.app{number % 7}",
                      "instances": [{"index_key": index, "schema_version": 1, "sensitive_attributes": [[{"type": "get_attr", "value": "user_data"}]],
                                     "attributes": {"id": f"i-{number}-{index}", "public_ip": f"203.0.{number % 250}.{index}",
                                                    "private_ip": f"10.{number % 250}.0.{index}", "user_data": "secret",
                                                    "tags": {"Name": f"web-{number}-{index}", "Role": "web"},
                                                    "root_block_device": [{"volume_size": 20, "encrypted": True}]}}
                                    for index in range(2)]})
    return json.dumps({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "bench",
                       "outputs": {"db": {"value": "db.example.com", "type": "string"}}, "resources": items})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = synthetic_state(args.resources)
    seconds = []
    for _run in range(args.runs):
        started = time.perf_counter()
        state = _tfstate.load_state(text, "bench.tfstate")
        found = _tfstate.servers(state, _tfstate.MAPPINGS)
        _tfstate.outputs(state)
        seconds.append(time.perf_counter() - started)
    print(f"{args.resources} resources ({len(text) / 1e6:.1f} MB, {len(found)} servers): "
          f"best {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
