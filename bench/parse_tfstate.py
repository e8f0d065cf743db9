"""Benchmark: reading a Terraform state of N resources into servers (berth.deploy.terraform_state's core).

Writes a synthetic version 4 state (aws_instance resources with count = 2, tags, nested blocks,
sensitive attributes, plus as many non-server resources) and the same resources as
``terraform show -json`` would print them, and times parse + servers for each, best and median of
several runs. No Ansible: this is the parsing the inventory plugin does.

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


def as_show_json(state_text: str) -> str:
    """The same resources in ``terraform show -json``'s shape: modules nest, sensitive values marked."""
    modules: dict[str, list[dict]] = {}
    for resource in json.loads(state_text)["resources"]:
        for instance in resource["instances"]:
            index = instance.get("index_key")
            marks = {step[0]["value"]: True for step in instance["sensitive_attributes"]}
            modules.setdefault(resource.get("module", ""), []).append({
                "address": _tfstate.instance_address(resource, index), "mode": "managed", "type": resource["type"],
                "name": resource["name"], **({} if index is None else {"index": index}),
                "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 1,
                "values": instance["attributes"], "sensitive_values": marks})
    root = modules.pop("", [])
    return json.dumps({"format_version": "1.0", "terraform_version": "1.9.8", "values": {
        "outputs": {"db": {"sensitive": False, "value": "db.example.com", "type": "string"}},
        "root_module": {"resources": root, "child_modules": [
            {"address": address, "resources": resources} for address, resources in modules.items()]}}})


def timed(text: str, runs: int) -> tuple[list[float], int]:
    seconds = []
    found = []
    for _run in range(runs):
        started = time.perf_counter()
        found = _tfstate.servers(_tfstate.parse(text, "bench"), _tfstate.MAPPINGS)
        seconds.append(time.perf_counter() - started)
    return seconds, len(found)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    state = synthetic_state(args.resources)
    for kind, text in (("state v4", state), ("show -json", as_show_json(state))):
        seconds, servers = timed(text, args.runs)
        print(f"{kind}: {args.resources} resources ({len(text) / 1e6:.1f} MB, {servers} servers): "
              f"best {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
