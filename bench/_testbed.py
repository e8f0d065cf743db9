"""What the benchmarks share: throwaway servers from tests/testbed and median/min/max summaries."""
from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.conftest import run_script  # noqa: E402

RESULTS = REPO / "bench" / "results"


@contextlib.contextmanager
def servers(addresses: dict[str, str]) -> t.Iterator[tuple[Path, Path]]:
    """Start one test-bed server per name (container berth-<name> on its loopback address), authorize a
    fresh SSH key on each; yield (work directory, key); remove the servers afterwards."""
    run_script("tests/testbed/prepare.sh")
    work = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    try:
        for name, address in addresses.items():
            run_script("tests/testbed/server.sh", "down", f"berth-{name}")
            run_script("tests/testbed/server.sh", "up", f"berth-{name}", address)
            run_script("tests/testbed/server.sh", "authorize", f"berth-{name}", f"{key}.pub")
        yield work, key
    finally:
        for name in addresses:
            run_script("tests/testbed/server.sh", "down", f"berth-{name}")


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}
