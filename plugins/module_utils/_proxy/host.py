# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy container of a host, shared by every service whose routes it serves.

Each service's setup (roles/proxy) runs the proxy with that service's ``berth_proxy``. When two services
on one host give it different settings, the second setup would silently take from the first what it
relies on (its ACME resolver, its ports, its trusted addresses). So the proxy carries its settings in
a label (nothing secret in them), and a setup that would change them while other services' routes are
on the proxy is refused before anything changes, naming each difference.
"""
from __future__ import annotations

import hashlib
import json
import typing as t

SETTINGS_LABEL = "berth.proxy-settings"
SETTING_KEYS = ("image", "http_port", "https_port", "publish_address", "api_port", "config_dir", "throttle_ms",
                "log_level", "access_log", "trusted_ips")
ACME_KEYS = ("email", "ca_server", "challenge", "dns_provider", "dns_env_names", "dns_resolvers", "dns_delay")


def shared_settings(proxy: t.Mapping[str, t.Any], ca_certificate_pem: str = "") -> dict[str, t.Any]:
    """The settings (of a normalized ``berth_proxy``) that shape the proxy for every service on it.
    ``ca_certificate_pem``: the ACME server's CA bundle, compared by digest; docker run options by digest too
    (a label holds nothing a user may have meant to keep to the host)."""
    settings: dict[str, t.Any] = {key: proxy.get(key) for key in SETTING_KEYS}
    acme = proxy.get("acme")
    settings["acme"] = None if not acme else {
        **{key: acme.get(key) for key in ACME_KEYS if acme.get(key) not in (None, "", [], 0)},
        **({"ca_certificate": _digest(ca_certificate_pem)} if ca_certificate_pem else {})}
    settings["options"] = _digest(json.dumps(proxy.get("options") or {}, sort_keys=True, default=str)) \
        if proxy.get("options") else ""
    return settings


def label_value(settings: t.Mapping[str, t.Any]) -> str:
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


def settings_of(labels: t.Mapping[str, str] | None) -> dict[str, t.Any] | None:
    """The settings a proxy container was started with (None: a proxy from before this label, or not berth's)."""
    try:
        value = json.loads((labels or {}).get(SETTINGS_LABEL) or "null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def differences(running: t.Mapping[str, t.Any], wanted: t.Mapping[str, t.Any]) -> list[str]:
    """Each setting that differs, as ``berth_proxy.<key>: <running> on the host, <wanted> here``."""
    found = []
    for key in sorted(set(running) | set(wanted)):
        if running.get(key) != wanted.get(key):
            found.append(f"berth_proxy.{key}: {_show(running.get(key))} on the host, {_show(wanted.get(key))} here")
    return found


def conflict(running: t.Mapping[str, t.Any] | None, wanted: t.Mapping[str, t.Any], other_routes: list[str]) -> str:
    """Why this setup must not replace the proxy ("": it may): other routes are on it and it would change."""
    if running is None or not other_routes:
        return ""
    changes = differences(running, wanted)
    if not changes:
        return ""
    return ("The proxy on this host also serves " + ", ".join(other_routes) + ", and this setup would restart it "
            "with other settings, taking from those routes what they rely on: " + "; ".join(changes) + ". Give every "
            "service on this host the same berth_proxy, or pass -e berth_proxy_force=true to replace it anyway. "
            "Nothing was changed.")


def _show(value: t.Any) -> str:
    if value is None or value == "":
        return "none"
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
