"""Run real ansible-playbook against the collection in this checkout and read back every task result."""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CALLBACKS = REPO / "tests" / "support" / "callbacks"


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    results: list[dict[str, t.Any]] = field(default_factory=list)

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """Per host: ok/changed/failed/... counts from the PLAY RECAP."""
        recap = {}
        for match in re.finditer(r"^(\S+)\s+:\s+(.*)$", self.stdout.split("PLAY RECAP")[-1], re.M):
            recap[match.group(1)] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
        return recap

    def changed(self, host: str | None = None) -> int:
        return sum(counts.get("changed", 0) for name, counts in self.recap.items() if host in (None, name))

    def task(self, name_part: str, host: str | None = None) -> dict[str, t.Any]:
        """The last result of the task whose name contains ``name_part``."""
        found = [item for item in self.results if name_part in item["task"] and host in (None, item["host"])]
        assert found, f"no task matching {name_part!r}; tasks: {[item['task'] for item in self.results]}"
        return found[-1]

    def failures(self) -> list[dict[str, t.Any]]:
        return [item for item in self.results if item["status"] == "failed"]


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_CALLBACKS_ENABLED": "berth_results",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    })
    env.update(extra or {})
    return env


def run_playbook(playbook: str | Path, inventory: str | Path | None, extra_vars: dict[str, t.Any] | None = None,
                 check: bool = False, env: dict[str, str] | None = None, timeout: float = 600,
                 cwd: Path = REPO) -> PlaybookRun:
    """``inventory`` None: no -i (a Kamal file's hosts become the inventory)."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as results:
        command = ["ansible-playbook", *(["-i", str(inventory)] if inventory is not None else []), str(playbook)]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        process = subprocess.run(command, cwd=cwd, env=ansible_env({**(env or {}), "BERTH_RESULTS_FILE": results.name}),
                                 capture_output=True, text=True, timeout=timeout, check=False)
        records = [json.loads(line) for line in results.read().splitlines() if line.strip()]
    return PlaybookRun(process.returncode, process.stdout + process.stderr, records)


def run_tasks(tasks: list[dict[str, t.Any]], inventory: str | Path, hosts: str = "all", check: bool = False,
              extra_vars: dict[str, t.Any] | None = None, env: dict[str, str] | None = None) -> PlaybookRun:
    """Run ad hoc tasks (a one-play playbook) and return their results."""
    play = [{"name": "test", "hosts": hosts, "gather_facts": False, "tasks": tasks}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=REPO / "tests" / "integration", delete=True) as handle:
        yaml.safe_dump(play, handle)
        handle.flush()
        return run_playbook(handle.name, inventory, extra_vars=extra_vars, check=check, env=env)


def run_module(module: str, args: dict[str, t.Any], inventory: str | Path, check: bool = False,
               diff: bool = False) -> dict[str, t.Any]:
    task = {"name": f"call {module}", module: args, "ignore_errors": True}
    if diff:
        task["diff"] = True
    run = run_tasks([task], inventory, check=check)
    return run.task(f"call {module}")


def plain(value):
    """ansible-inventory --list shows values a constructed template saw as {"__ansible_unsafe": value}."""
    if isinstance(value, dict):
        return plain(value["__ansible_unsafe"]) if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
