"""berth.deploy.terraform_state reads each source kind from a real local server, merged in one inventory.

S3 is moto's server (the S3 API over HTTP); the HTTP backend is served the way Terraform's http
backend and GitLab serve it (GET, basic auth); Terraform Cloud's three API calls are served over
HTTPS with a certificate made here; ``show`` runs a stand-in ``tofu`` on PATH, since no Terraform
or OpenTofu binary can be installed on this machine (it prints real ``show -json`` output).
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import ansible_env, plain

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "inventory" / "fixtures"
GITLAB_USER, GITLAB_TOKEN = "deployer", "glpat-http-s3cret"
CLOUD_TOKEN = "tfc-s3cret.atlasv1.token"
AWS = {"AWS_ACCESS_KEY_ID": "berth-test", "AWS_SECRET_ACCESS_KEY": "berth-test-s3cret", "AWS_DEFAULT_REGION": "eu-west-1"}


def state(servers: list[tuple[str, str, str]], outputs: dict[str, t.Any], sensitive: dict[str, str],
          labels: dict[str, str] | None = None) -> str:
    """A version 4 state of hcloud servers (name, address, role) counted by one resource."""
    instances = [{"index_key": number, "schema_version": 0, "sensitive_attributes": [],
                  "attributes": {"id": str(number), "name": name, "ipv4_address": address,
                                 "labels": {"role": role, **(labels or {})}}}
                 for number, (name, address, role) in enumerate(servers)]
    document = {"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "berth-sources",
                "outputs": {**{key: {"value": value, "type": "string"} for key, value in outputs.items()},
                            **{key: {"value": value, "type": "string", "sensitive": True}
                               for key, value in sensitive.items()}},
                "resources": [{"mode": "managed", "type": "hcloud_server", "name": "app",
                               "provider": 'provider["registry.terraform.io/hetznercloud/hcloud"]',
                               "instances": instances}]}
    return json.dumps(document)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def s3() -> t.Iterator[str]:
    """moto's S3 server with a state for the default workspace and one for workspace staging."""
    boto3 = pytest.importorskip("boto3")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id=AWS[
            "AWS_ACCESS_KEY_ID"], aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket="acme-tfstate", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.put_object(Bucket="acme-tfstate", Key="shop/terraform.tfstate", Body=state(
            [("s3-web-1", "198.51.100.11", "web"), ("s3-web-2", "198.51.100.12", "web")],
            {"s3_bucket_output": "from-s3"}, {"s3_db_password": "s3-output-s3cret"}, labels={"env": "ci"}))
        client.put_object(Bucket="acme-tfstate", Key="env:/staging/shop/terraform.tfstate", Body=state(
            [("s3-staging-1", "198.51.100.21", "web")], {"staging_output": "from-staging"}, {}))
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


class StateServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[str, str]]  # path -> (required Authorization header, body)


class StateHandler(http.server.BaseHTTPRequestHandler):
    server: StateServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        route = self.server.routes.get(self.path)
        if route is None:
            self._answer(404, '{"message": "404 Not Found"}')
        elif self.headers.get("Authorization") != route[0]:
            self._answer(401, '{"message": "401 Unauthorized"}')
        else:
            self._answer(200, route[1])

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: t.Any) -> None:
        pass


def serve(routes: dict[str, tuple[str, str]], port: int = 0, tls: ssl.SSLContext | None = None) -> t.Iterator[int]:
    server = StateServer(("127.0.0.1", port), StateHandler)
    server.routes = routes
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


GITLAB_STATE_PATH = "/api/v4/projects/42/terraform/state/production"


@pytest.fixture(scope="module")
def gitlab() -> t.Iterator[str]:
    """A GitLab-style http backend: GET with basic auth (user name and a personal access token)."""
    basic = "Basic " + base64.b64encode(f"{GITLAB_USER}:{GITLAB_TOKEN}".encode()).decode()
    body = state([("gl-job-1", "192.0.2.31", "job")], {"gitlab_output": "from-gitlab"}, {})
    for port in serve({GITLAB_STATE_PATH: (basic, body)}):
        yield f"http://127.0.0.1:{port}{GITLAB_STATE_PATH}"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[str, Path]]:
    """Terraform Cloud's API over HTTPS: workspace by name, its current state version, the state download."""
    directory = tmp_path_factory.mktemp("tfc-tls")
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, key)
    bearer = f"Bearer {CLOUD_TOKEN}"
    port = free_port()
    host = f"127.0.0.1:{port}"
    routes = {
        "/api/v2/organizations/acme/workspaces/shop-prod": (bearer, json.dumps(
            {"data": {"id": "ws-7kXq", "type": "workspaces", "attributes": {"name": "shop-prod"}}})),
        "/api/v2/workspaces/ws-7kXq/current-state-version": (bearer, json.dumps(
            {"data": {"id": "sv-1", "type": "state-versions", "attributes": {
                "serial": 9, "hosted-state-download-url": f"https://{host}/api/state-versions/sv-1/hosted_state"}}})),
        "/api/state-versions/sv-1/hosted_state": (bearer, state(
            [("tfc-web-1", "203.0.113.41", "web")], {"cloud_output": "from-cloud"}, {"cloud_token_out": "x"})),
    }
    for _port in serve(routes, port, tls):
        yield host, certificate


@pytest.fixture(scope="module")
def tofu(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A stand-in ``tofu`` on PATH and an initialized project directory; -> (bin directory, project)."""
    directory = tmp_path_factory.mktemp("tofu")
    project = directory / "infra"
    (project / ".terraform").mkdir(parents=True)
    binary = directory / "bin" / "tofu"
    binary.parent.mkdir()
    binary.write_text(f"""#!{sys.executable}
import os, sys
if sys.argv[1:] != ["show", "-json"]:
    sys.exit("tofu stand-in: unexpected arguments " + " ".join(sys.argv[1:]))
if not os.path.isdir(".terraform"):
    sys.exit("Error: Backend initialization required, please run \\"tofu init\\"")
sys.stdout.write(open({str(FIXTURES / "fleet.show.json")!r}).read())
""")
    binary.chmod(0o755)
    return binary.parent, project


EXAMPLE = Path(__file__).resolve().parents[2] / "inventories" / "terraform"


def write_inventory(directory: Path, sources: list[dict[str, t.Any]], **settings: t.Any) -> Path:
    """inventories/terraform/ with other sources: its other plugin settings and group_vars as they are."""
    config = {**yaml.safe_load((EXAMPLE / "servers.terraform_state.yml").read_text()), "sources": sources, **settings}
    path = directory / "servers.terraform_state.yml"
    path.write_text(yaml.safe_dump(config))
    shutil.copytree(EXAMPLE / "group_vars", directory / "group_vars", dirs_exist_ok=True)
    return path


def ansible_inventory(path: Path, *arguments: str, extra_env: dict[str, str] | None = None,
                      ) -> subprocess.CompletedProcess[str]:
    environment = {**ansible_env(), **AWS, **(extra_env or {})}
    return subprocess.run(["ansible-inventory", "-i", str(path), *arguments], capture_output=True, text=True,
                          env=environment, timeout=120, check=False)


def test_every_source_kind_merges_into_one_inventory(tmp_path, s3, gitlab, cloud, tofu):
    bin_directory, project = tofu
    host, certificate = cloud
    (tmp_path / "local.tfstate").write_text(state([("local-web-1", "192.0.2.51", "web")], {"local_output": "here"}, {}))
    path = write_inventory(tmp_path, [
        {"path": "local.tfstate"},
        {"show": {"project_dir": str(project), "binary": "tofu"}},
        {"s3": {"bucket": "acme-tfstate", "key": "shop/terraform.tfstate", "region": "eu-west-1", "endpoint": s3,
                "use_path_style": True}},
        {"s3": {"bucket": "acme-tfstate", "key": "shop/terraform.tfstate", "region": "eu-west-1", "endpoint": s3,
                "use_path_style": True, "workspace": "staging"}},
        {"http": {"address": gitlab, "username": GITLAB_USER}},  # password from TF_HTTP_PASSWORD
        {"cloud": {"hostname": host, "organization": "acme", "workspace": "shop-prod", "ca_path": str(certificate)}},
    ], group_by_tags=["role", "Role"])  # the show -json fixture's AWS tags say Role
    environment = {"PATH": f"{bin_directory}:{os.environ['PATH']}", "TF_HTTP_PASSWORD": GITLAB_TOKEN,
                   "TF_TOKEN_127_0_0_1": CLOUD_TOKEN}
    run = ansible_inventory(path, "--list", extra_env=environment)
    assert run.returncode == 0 and "[WARNING]" not in run.stderr, run.stderr
    inventory = plain(json.loads(run.stdout))
    hostvars = inventory["_meta"]["hostvars"]
    sources = {name: hostvars[name]["berth_tf"]["source"] for name in hostvars}
    assert sources["local-web-1"] == str(tmp_path / "local.tfstate")
    assert sources["show-web-0"] == sources["show-worker-blue"] == f"tofu-show:{project}"
    assert sources["s3-web-2"] == "s3://acme-tfstate/shop/terraform.tfstate"
    assert sources["s3-staging-1"] == "s3://acme-tfstate/env:/staging/shop/terraform.tfstate"
    assert sources["gl-job-1"] == gitlab
    assert sources["tfc-web-1"] == f"cloud:{host}/acme/shop-prod"
    assert hostvars["s3-web-1"]["ansible_host"] == "198.51.100.11"
    assert hostvars["show-edge-eu"]["ansible_host"] == "198.51.100.30"
    assert sorted(inventory["web"]["hosts"]) == sorted(["local-web-1", "show-web-0", "show-web-1", "show-edge-eu",
                                                        "s3-web-1", "s3-web-2", "s3-staging-1", "tfc-web-1"])
    assert sorted(inventory["job"]["hosts"]) == ["gl-job-1", "show-worker-blue", "show-worker-green"]
    assert sorted(inventory["env_ci"]["hosts"]) == ["s3-web-1", "s3-web-2"]  # the example's keyed_groups
    assert hostvars["tfc-web-1"]["berth_service"] == "shop"  # the example's group_vars
    names = ("local_output", "db_endpoint", "s3_bucket_output", "staging_output", "gitlab_output", "cloud_output")
    outputs = {key: hostvars["local-web-1"][key] for key in names}
    assert outputs == {"local_output": "here", "db_endpoint": "show-db.internal:5432", "s3_bucket_output": "from-s3",
                       "staging_output": "from-staging", "gitlab_output": "from-gitlab", "cloud_output": "from-cloud"}
    assert "s3cret" not in run.stdout + run.stderr


@pytest.mark.parametrize("kind", ["s3-key", "s3-bucket", "http-password", "http-down", "cloud-token",
                                  "cloud-workspace", "cloud-tls", "show-init", "show-binary"])
def test_an_unreadable_source_is_one_clear_error_naming_it(tmp_path, s3, gitlab, cloud, tofu, kind):
    bin_directory, project = tofu
    host, certificate = cloud
    s3_source = {"bucket": "acme-tfstate", "key": "shop/terraform.tfstate", "endpoint": s3, "use_path_style": True}
    cases: dict[str, tuple[dict[str, t.Any], str]] = {
        "s3-key": ({"s3": {**s3_source, "workspace": "prod"}},
                   "sources[0].s3 (s3://acme-tfstate/env:/prod/shop/terraform.tfstate): NoSuchKey: no state there"),
        "s3-bucket": ({"s3": {**s3_source, "bucket": "nobody"}}, "(s3://nobody/shop/terraform.tfstate): NoSuchBucket"),
        "http-password": ({"http": {"address": gitlab, "username": GITLAB_USER, "password": "wrong-s3cret"}},
                          f"sources[0].http ({gitlab}): HTTP 401: check username and password"),
        "http-down": ({"http": {"address": f"http://127.0.0.1:{free_port()}/state"}}, "unreachable"),
        "cloud-token": ({"cloud": {"hostname": host, "organization": "acme", "workspace": "shop-prod",
                                   "ca_path": str(certificate), "token": "wrong-s3cret"}},
                        f"sources[0].cloud (cloud:{host}/acme/shop-prod): HTTP 401: check the token"),
        "cloud-workspace": ({"cloud": {"hostname": host, "organization": "acme", "workspace": "shop-dev",
                                       "ca_path": str(certificate), "token": CLOUD_TOKEN}}, "HTTP 404"),
        "cloud-tls": ({"cloud": {"hostname": host, "organization": "acme", "workspace": "shop-prod",
                                 "token": CLOUD_TOKEN}}, "CERTIFICATE_VERIFY_FAILED"),
        "show-init": ({"show": {"project_dir": str(tmp_path), "binary": "tofu"}},
                      "exit code 1: Error: Backend initialization required"),
        "show-binary": ({"show": {"project_dir": str(project), "binary": "terraform-nowhere"}},
                        "terraform-nowhere is not installed or not on PATH"),
    }
    source, message = cases[kind]
    path = write_inventory(tmp_path, [source])
    run = ansible_inventory(path, "--list", extra_env={"PATH": f"{bin_directory}:{os.environ['PATH']}"})
    assert message in run.stderr, run.stderr
    assert "s3cret" not in run.stdout + run.stderr


def test_source_settings_are_checked(tmp_path):
    path = write_inventory(tmp_path, [{"s3": {"bucket": "b", "region": "x", "acl": "private"}}])
    run = ansible_inventory(path, "--list")
    assert "sources[0].s3: unknown setting acl (allowed: bucket, key, region" in run.stderr, run.stderr
    path = write_inventory(tmp_path, [{"path": "a.tfstate", "http": {"address": "http://x"}}])
    assert "sources[0]: give exactly one of path, show, s3, http, cloud (got http, path)" in ansible_inventory(
        path, "--list").stderr
