# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTPS settings: the proxy's ACME resolver (``berth_proxy.acme``) and a web role's ``proxy.ssl``,
``proxy.ssl_redirect`` and ``proxy.hsts``.

A role's ``ssl`` is ``false`` (plain HTTP), ``true`` (a certificate from ACME for the role's hosts,
through the proxy's resolver) or ``{certificate, private_key}`` (your own PEM certificate chain and
key, from Vault). The plan keeps only which of the three it is: the PEM values stay where the user
put them and reach the host through a no_log parameter (filter ``route_certificates``).
"""
from __future__ import annotations

import datetime
import os
import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._checks import ABSOLUTE_PATH_PATTERN, HIDDEN, Checker, show
from ansible_collections.berth.deploy.plugins.module_utils._proxy import RESOLVER

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
CHALLENGES = ("http-01", "tls-alpn-01", "dns-01")
ACME_KEYS = ("email", "ca_server", "ca_certificate", "challenge", "dns")
DNS_KEYS = ("provider", "env", "resolvers", "delay")
SSL_KEYS = ("certificate", "private_key")
HSTS_DEFAULTS: dict[str, t.Any] = {"max_age": 31536000, "include_subdomains": False, "preload": False}
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HTTPS_URL_PATTERN = re.compile(r"https://[^\s/]+(/\S*)?")
LEGO_PROVIDER_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]*")
ENV_NAME_PATTERN = re.compile(r"[A-Z_][A-Z0-9_]*")
RESOLVER_PATTERN = re.compile(r"[0-9a-fA-F.:\[\]]+:[0-9]{1,5}")
CERTIFICATE_PATTERN = re.compile(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----")
PRIVATE_KEY_PATTERN = re.compile(r"-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----[^-]+-----END (RSA |EC |ENCRYPTED )?PRIVATE KEY-----")


def acme_settings(check: Checker, value: t.Any, wanted: bool, path: str = "berth_proxy.acme") -> dict[str, t.Any] | None:
    """The proxy's ACME resolver: None when no role asks for ACME and ``berth_proxy.acme`` is not set.

    ``dns.env`` holds the DNS provider's credentials: the plan keeps their names (``dns_env_names``),
    the proxy role passes the values no_log."""
    if value is None and not wanted:
        return None
    acme = check.mapping(path, value, ACME_KEYS, secret=True)
    email = check.string(f"{path}.email", acme.get("email", ""), EMAIL_PATTERN, "an email address, e.g. ops@example.com")
    ca_server = check.string(f"{path}.ca_server", acme.get("ca_server") or LETS_ENCRYPT, HTTPS_URL_PATTERN,
                             "the https:// URL of an ACME directory; Let's Encrypt's by default")
    ca_certificate = check.string(f"{path}.ca_certificate", acme.get("ca_certificate", ""), ABSOLUTE_PATH_PATTERN,
                                  "an absolute path on the controller to a PEM CA bundle")
    if ca_certificate.startswith("/") and not os.path.isfile(ca_certificate):
        check.problem(f"{path}.ca_certificate", f"{ca_certificate!r} is not a file on the controller")
    challenge = check.string(f"{path}.challenge", acme.get("challenge") or "http-01", re.compile("|".join(CHALLENGES)),
                             ", ".join(CHALLENGES))
    dns = _dns(check, f"{path}.dns", acme.get("dns"), challenge == "dns-01")
    return {"resolver": RESOLVER, "email": email, "ca_server": ca_server, "ca_certificate": ca_certificate,
            "challenge": challenge, **dns}


def check_wildcards(check: Checker, roles: t.Mapping[str, t.Mapping[str, t.Any]], acme: t.Mapping[str, t.Any] | None) -> None:
    """ACME issues a wildcard certificate only through a DNS-01 challenge."""
    if acme is None or acme["challenge"] == "dns-01":
        return
    for name, role in roles.items():
        route = role.get("proxy")
        for host in route["hosts"] if route and route["tls"]["mode"] == "acme" else ():
            if host.startswith("*."):
                check.problem(f"berth_roles.{name}.proxy.hosts", f"{host!r}: ssl: true gets certificates from ACME, "
                                                                 "which issues wildcards only through berth_proxy.acme.challenge: dns-01")


def _dns(check: Checker, path: str, value: t.Any, needed: bool) -> dict[str, t.Any]:
    dns = check.mapping(path, value, DNS_KEYS, secret=True)
    if dns and not needed:
        check.problem(path, "is set but challenge is not dns-01")
    provider = check.string(f"{path}.provider", dns.get("provider", ""), LEGO_PROVIDER_PATTERN,
                            "a DNS provider code of Traefik (lego), e.g. cloudflare, route53, hetzner",
                            required=needed)
    env = check.mapping(f"{path}.env", dns.get("env"), secret=True)
    for name, secret in env.items():
        if not isinstance(name, str) or not ENV_NAME_PATTERN.fullmatch(name):
            check.problem(f"{path}.env", f"{show(name)} is not an environment variable name (e.g. CF_DNS_API_TOKEN)")
        else:
            check.secret(f"{path}.env.{name}", secret, required=True)
    resolvers = check.string_list(f"{path}.resolvers", dns.get("resolvers", []))
    for index, resolver in enumerate(resolvers):
        if not RESOLVER_PATTERN.fullmatch(resolver):
            check.problem(f"{path}.resolvers[{index}]", f"{show(resolver)} is not a DNS server address:port, e.g. 1.1.1.1:53")
    return {"dns_provider": provider, "dns_env_names": sorted(name for name in env if isinstance(name, str)),
            "dns_resolvers": resolvers,
            "dns_delay": check.integer(f"{path}.delay", dns.get("delay", 0), 0, 600, "seconds")}


def route_tls(check: Checker, path: str, route: t.Mapping[str, t.Any], hosts: list[str]) -> dict[str, t.Any]:
    """A role's HTTPS: ``mode`` off, acme or certificate; ``redirect`` HTTP to HTTPS; ``hsts`` or None."""
    ssl = route.get("ssl", False)
    mode = "off"
    if isinstance(ssl, bool):
        mode = "acme" if ssl else "off"
    elif isinstance(ssl, dict):
        mode = "certificate"
        own_certificate(check, f"{path}.ssl", ssl, hosts)
    else:
        check.problem(f"{path}.ssl", f"is {type(ssl).__name__}, not true, false or {{certificate, private_key}} {HIDDEN}")
    if mode == "acme" and not hosts:
        check.problem(f"{path}.ssl", "true needs host (or hosts): ACME issues certificates for host names")
    redirect = check.boolean(f"{path}.ssl_redirect", route.get("ssl_redirect", True))
    hsts = _hsts(check, f"{path}.hsts", route.get("hsts", False))
    if mode == "off" and hsts is not None:
        check.problem(f"{path}.hsts", "needs ssl: browsers ignore Strict-Transport-Security over plain HTTP")
    return {"mode": mode, "redirect": redirect and mode != "off", "hsts": hsts}


def _hsts(check: Checker, path: str, value: t.Any) -> dict[str, t.Any] | None:
    if value is False or value is None:
        return None
    if value is True:
        return dict(HSTS_DEFAULTS)
    given = check.mapping(path, value, tuple(HSTS_DEFAULTS))
    hsts = {**HSTS_DEFAULTS, **given}
    return {"max_age": check.integer(f"{path}.max_age", hsts["max_age"], 0, 2 ** 31 - 1, "seconds"),
            "include_subdomains": check.boolean(f"{path}.include_subdomains", hsts["include_subdomains"]),
            "preload": check.boolean(f"{path}.preload", hsts["preload"])}


def own_certificate(check: Checker, path: str, ssl: t.Mapping[str, t.Any], hosts: list[str]) -> None:
    """``{certificate, private_key}``: PEM text; when the controller has ``cryptography``, also that the key
    belongs to the certificate, that it has not expired and that it names the role's hosts (a warning)."""
    for key in ssl:
        if key not in SSL_KEYS:
            check.problem(f"{path}.{key}", f"unknown key (allowed: {', '.join(SSL_KEYS)})")
    certificate, key = ssl.get("certificate"), ssl.get("private_key")
    if not isinstance(certificate, str) or not CERTIFICATE_PATTERN.search(certificate):
        check.problem(f"{path}.certificate", "is required: the PEM certificate (chain), "
                                             "-----BEGIN CERTIFICATE----- ...")
        certificate = None
    if not isinstance(key, str) or not PRIVATE_KEY_PATTERN.search(key):
        check.problem(f"{path}.private_key", f"is required: the PEM private key (keep it in Ansible Vault) {HIDDEN}")
        key = None
    if certificate and key:
        _check_pair(check, path, certificate, key, hosts)


def _check_pair(check: Checker, path: str, certificate: str, key: str, hosts: list[str]) -> None:
    try:
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    if not hasattr(x509, "load_pem_x509_certificates"):  # cryptography < 39: PEM checked above, nothing more
        return
    try:
        leaf = x509.load_pem_x509_certificates(certificate.encode())[0]
    except ValueError as exc:
        check.problem(f"{path}.certificate", f"is not a readable PEM certificate ({exc})")
        return
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        check.problem(f"{path}.private_key", f"is not a readable unencrypted PEM private key {HIDDEN}")
        return
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(serialization.Encoding.PEM, public) != \
            leaf.public_key().public_bytes(serialization.Encoding.PEM, public):
        check.problem(f"{path}.private_key", "does not belong to the certificate (the first one of the chain)")
    expires = leaf.not_valid_after_utc if hasattr(leaf, "not_valid_after_utc") else \
        leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    if expires <= datetime.datetime.now(datetime.timezone.utc):
        check.problem(f"{path}.certificate", f"expired on {expires:%Y-%m-%d}")
    names = certificate_names(leaf)
    uncovered = [host for host in hosts if not any(_covers(name, host) for name in names)]
    if uncovered:
        check.warn(f"{path}.certificate names {', '.join(names) or 'no host'}, not {', '.join(uncovered)}: "
                   "browsers will refuse it for those")


def certificate_names(leaf: t.Any) -> list[str]:
    from cryptography import x509  # pylint: disable=import-outside-toplevel

    try:
        return list(leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                    .get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        return [attribute.value for attribute in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]


def _covers(name: str, host: str) -> bool:
    name, host = name.lower(), host.lower()
    if name.startswith("*."):
        return host.endswith(name[1:]) and "." not in host[: -len(name) + 1]
    return name == host
