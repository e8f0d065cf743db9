# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Terraform state comes from: a file, ``terraform show -json``, S3, an HTTP backend, Terraform Cloud.

Each source of an inventory file is a mapping with one kind key (``path``, ``show``, ``s3``,
``http``, ``cloud``); ``fetch`` checks its settings, reads the document and returns it with a label
that names the source in messages and in ``berth_tf.source``. Labels and messages never carry a
password or token. Settings a Terraform backend takes from the environment (``TF_HTTP_PASSWORD``,
``TF_TOKEN_<host>``, the AWS chain) are read from it the same way here, so secrets stay out of
inventory files.
"""
from __future__ import annotations

import json
import os
import subprocess
import typing as t
import urllib.error
import urllib.parse
from dataclasses import dataclass

from ansible.module_utils.urls import ConnectionError as UrlConnectionError, open_url
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.berth.deploy.plugins.module_utils import _tfstate

try:  # ansible-core 2.19+: values a plugin returns are never templated (they carry no trust tag)
    from ansible._internal._templating import _engine  # noqa: F401  pylint: disable=unused-import
    NEEDS_UNSAFE = False
except ImportError:  # older: mark every value from state unsafe
    NEEDS_UNSAFE = True

KINDS = ("path", "show", "s3", "http", "cloud")
TIMEOUT = 30


class SourceError(Exception):
    """A source that cannot be read; the message starts with its label."""


@dataclass(frozen=True)
class Fetched:
    label: str
    text: str


Settings = t.Mapping[str, t.Any]


def untemplated(value: t.Any) -> t.Any:
    return wrap_var(value) if NEEDS_UNSAFE else value


def read_documents(sources: t.Any, base_dir: str) -> list[_tfstate.Document]:
    """Every source of an inventory file, parsed; SourceError or StateError names the one that failed."""
    if not isinstance(sources, list) or not sources:
        raise SourceError("sources: a list of state sources is required")
    documents = []
    for number, source in enumerate(sources):
        fetched = fetch(source, base_dir, f"sources[{number}]")
        documents.append(_tfstate.parse(fetched.text, fetched.label))
    return documents


def fetch(source: t.Any, base_dir: str, label: str) -> Fetched:
    """Read one source; relative paths start at ``base_dir`` (the inventory file's directory)."""
    if not isinstance(source, dict):
        raise SourceError(f"{label}: not a mapping with one of {', '.join(KINDS)}")
    kinds = [kind for kind in KINDS if kind in source]
    if len(kinds) != 1 or len(source) != 1:
        raise SourceError(f"{label}: give exactly one of {', '.join(KINDS)} (got {', '.join(map(str, source)) or 'none'})")
    kind = kinds[0]
    if kind == "path":
        return _read_file(source["path"], base_dir, label)
    settings = source[kind]
    if not isinstance(settings, dict):
        raise SourceError(f"{label}.{kind}: not a mapping of settings")
    return READERS[kind](settings, base_dir, f"{label}.{kind}")


def _checked(settings: Settings, label: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    unknown = sorted(set(map(str, settings)) - set(required) - set(optional))
    if unknown:
        raise SourceError(f"{label}: unknown setting {', '.join(unknown)} (allowed: {', '.join(required + optional)})")
    missing = [key for key in required if settings.get(key) in (None, "")]
    if missing:
        raise SourceError(f"{label}: {', '.join(missing)} is required")
    for key in ("validate_certs", "use_path_style"):
        if key in settings and not isinstance(settings[key], bool):
            raise SourceError(f"{label}.{key}: {settings[key]!r} is not allowed: true or false")
    timeout = settings.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise SourceError(f"{label}.timeout: {timeout!r} is not allowed: seconds, a number above 0")


def _read_file(path: t.Any, base_dir: str, label: str) -> Fetched:
    if not isinstance(path, str) or not path:
        raise SourceError(f"{label}: path must be a state file's path")
    full = os.path.join(base_dir, os.path.expanduser(path))
    try:
        with open(full, encoding="utf-8") as handle:
            return Fetched(full, handle.read())
    except OSError as error:
        raise SourceError(f"{label}: cannot read {full}: {error.strerror}") from None


def _show(settings: Settings, base_dir: str, label: str) -> Fetched:
    """``terraform show -json`` (or tofu's) in an initialized project directory."""
    _checked(settings, label, ("project_dir",), ("binary", "workspace", "timeout"))
    project = os.path.join(base_dir, os.path.expanduser(str(settings["project_dir"])))
    binary = str(settings.get("binary") or "terraform")
    environment = {**os.environ, "TF_IN_AUTOMATION": "1"}
    if settings.get("workspace"):
        environment["TF_WORKSPACE"] = str(settings["workspace"])
    name = f"{label} ({binary} show -json in {project})"
    if not os.path.isdir(project):
        raise SourceError(f"{name}: no such directory")
    try:
        run = subprocess.run([binary, "show", "-json"], cwd=project, env=environment, capture_output=True, text=True,
                             timeout=float(settings.get("timeout") or 300), check=False)
    except FileNotFoundError:
        raise SourceError(f"{name}: {binary} is not installed or not on PATH (set binary to its path)") from None
    except subprocess.TimeoutExpired as error:
        raise SourceError(f"{name}: no answer in {error.timeout:.0f} s") from None
    if run.returncode != 0:
        tail = " ".join(run.stderr.strip().splitlines()[-5:])
        raise SourceError(f"{name}: exit code {run.returncode}: {tail} (has `{binary} init` run there?)")
    return Fetched(f"{binary}-show:{project}", run.stdout)


def _s3(settings: Settings, base_dir: str, label: str) -> Fetched:
    """The S3 backend's object; credentials from the AWS chain (environment, profile, instance role)."""
    _checked(settings, label, ("bucket", "key"), ("region", "endpoint", "profile", "workspace",
                                                  "workspace_key_prefix", "use_path_style", "validate_certs"))
    try:
        import boto3  # pylint: disable=import-outside-toplevel
        import botocore.config  # pylint: disable=import-outside-toplevel
        import botocore.exceptions  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise SourceError(f"{label}: reading state from S3 needs boto3 on the controller (pip install boto3)") from None
    key = s3_key(settings)
    name = f"s3://{settings['bucket']}/{key}"
    try:
        session = boto3.session.Session(profile_name=settings.get("profile") or None)
        client = session.client(
            "s3", region_name=settings.get("region") or None, endpoint_url=settings.get("endpoint") or None,
            verify=bool(settings.get("validate_certs", True)),
            config=botocore.config.Config(s3={"addressing_style": "path" if settings.get("use_path_style") else "auto"},
                                          connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries={"max_attempts": 2}))
        body = client.get_object(Bucket=str(settings["bucket"]), Key=key)["Body"].read()
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        hint = {"NoSuchKey": "no state there (check key and workspace)", "NoSuchBucket": "no such bucket",
                "AccessDenied": "access denied to these credentials"}.get(code, str(error))
        raise SourceError(f"{label} ({name}): {code}: {hint}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise SourceError(f"{label} ({name}): {error}") from None
    return Fetched(name, body.decode("utf-8"))


def s3_key(settings: Settings) -> str:
    """Where the S3 backend keeps a workspace's state: ``key`` for default, else ``<prefix>/<workspace>/<key>``."""
    workspace = str(settings.get("workspace") or "default")
    if workspace == "default":
        return str(settings["key"])
    return f"{settings.get('workspace_key_prefix') or 'env:'}/{workspace}/{settings['key']}"


def _http(settings: Settings, base_dir: str, label: str) -> Fetched:
    """Terraform's HTTP backend (GitLab-managed state among others): GET the address, basic auth."""
    _checked(settings, label, (), ("address", "username", "password", "validate_certs", "ca_path", "timeout"))
    address = str(settings.get("address") or os.environ.get("TF_HTTP_ADDRESS") or "")
    if not address:
        raise SourceError(f"{label}: address is required (or TF_HTTP_ADDRESS)")
    username = settings.get("username") or os.environ.get("TF_HTTP_USERNAME")
    password = settings.get("password") or os.environ.get("TF_HTTP_PASSWORD")
    validate = bool(settings.get("validate_certs", os.environ.get("TF_HTTP_SKIP_CERT_VERIFICATION") != "true"))
    name = without_credentials(address)
    text = _get(f"{label} ({name})", address, {}, settings, validate,
                basic=(str(username), str(password)) if username else None,
                refused="check username and password (GitLab: your user name and a token with the api scope)")
    if not text.strip():
        raise SourceError(f"{label} ({name}): no state there yet")
    return Fetched(name, text)


def _cloud(settings: Settings, base_dir: str, label: str) -> Fetched:
    """A Terraform Cloud / HCP Terraform / Enterprise workspace's current state, through its API."""
    _checked(settings, label, ("workspace",), ("organization", "hostname", "token", "validate_certs", "ca_path",
                                               "timeout"))
    hostname = str(settings.get("hostname") or os.environ.get("TF_CLOUD_HOSTNAME") or "app.terraform.io")
    organization = str(settings.get("organization") or os.environ.get("TF_CLOUD_ORGANIZATION") or "")
    if not organization:
        raise SourceError(f"{label}: organization is required (or TF_CLOUD_ORGANIZATION)")
    workspace = str(settings["workspace"])
    name = f"cloud:{hostname}/{organization}/{workspace}"
    token = settings.get("token") or cloud_token(hostname)
    if not token:
        raise SourceError(f"{label} ({name}): no API token: set {token_variable(hostname)} or run `terraform login "
                          f"{hostname}`")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"}
    validate = bool(settings.get("validate_certs", True))

    def get(step: str, url: str, missing: str = "no state there") -> str:
        return _get(f"{label} ({name}{step})", url, headers, settings, validate, missing=missing,
                    refused="check the token and that it may read this workspace's state")

    api = f"https://{hostname}/api/v2"
    quoted = urllib.parse.quote
    workspace_data = _api_data(f"{label} ({name})", get(
        "", f"{api}/organizations/{quoted(organization)}/workspaces/{quoted(workspace)}"))
    version = _api_data(f"{label} ({name})", get(
        ": current state version", f"{api}/workspaces/{quoted(str(workspace_data.get('id') or ''))}"
        "/current-state-version", missing="the workspace has no state yet"))
    download = (version.get("attributes") or {}).get("hosted-state-download-url")
    if not download:
        raise SourceError(f"{label} ({name}): the current state version has no download URL")
    return Fetched(name, get(": state download", download))


def cloud_token(hostname: str) -> str:
    """The token Terraform would use: ``TF_TOKEN_<host>``, else ``terraform login``'s credentials file."""
    token = os.environ.get(token_variable(hostname))
    if token:
        return token
    directory = os.environ.get("TF_CLI_CONFIG_DIR") or os.path.expanduser("~/.terraform.d")
    try:
        with open(os.path.join(directory, "credentials.tfrc.json"), encoding="utf-8") as handle:
            return str(json.load(handle)["credentials"][hostname]["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def token_variable(hostname: str) -> str:
    """``app.terraform.io`` -> ``TF_TOKEN_app_terraform_io`` (Terraform's rule: dots to _, dashes to __)."""
    return "TF_TOKEN_" + hostname.split(":")[0].replace("-", "__").replace(".", "_")


def without_credentials(address: str) -> str:
    parts = urllib.parse.urlsplit(address)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")
                                                  if parts.hostname else parts.netloc))


def _get(name: str, url: str, headers: dict[str, str], settings: Settings, validate: bool, *,
         basic: tuple[str, str] | None = None, refused: str = "", missing: str = "no state there") -> str:
    try:
        response = open_url(url, headers=headers, timeout=float(settings.get("timeout") or TIMEOUT),
                            validate_certs=validate, ca_path=settings.get("ca_path") or None,
                            url_username=basic[0] if basic else None, url_password=basic[1] if basic else None,
                            force_basic_auth=bool(basic), use_netrc=False)
        return response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        reason = {401: refused, 403: refused, 404: missing}.get(error.code, error.reason)
        raise SourceError(f"{name}: HTTP {error.code}: {reason}") from None
    except urllib.error.URLError as error:
        raise SourceError(f"{name}: unreachable: {error.reason}") from None
    except (OSError, ValueError, UrlConnectionError) as error:  # timeouts, TLS failures
        raise SourceError(f"{name}: unreachable: {error}") from None


def _api_data(name: str, text: str) -> dict[str, t.Any]:
    """The ``data`` object of a JSON:API document."""
    try:
        document = json.loads(text)
        if isinstance(document, dict) and isinstance(document.get("data"), dict):
            return document["data"]
    except ValueError:
        pass
    raise SourceError(f"{name}: the API answered something other than a JSON:API document")


READERS: dict[str, t.Callable[[Settings, str, str], Fetched]] = {
    "show": _show, "s3": _s3, "http": _http, "cloud": _cloud,
}
