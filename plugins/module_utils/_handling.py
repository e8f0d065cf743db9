# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a web role's requests reach the app: ``proxy.path_prefix``/``path_prefixes``,
``strip_path_prefix`` and ``buffering`` (plan: ``berth_plan.roles.<role>.proxy.handling``, the
module option HANDLING_OPTIONS of plugins/module_utils/_proxy/__init__.py)."""
from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.berth.deploy.plugins.module_utils._checks import URL_PATH_PATTERN, Checker

BUFFERING_KEYS = ("requests", "responses", "max_request_body", "max_response_body")
MAX_BODY = 2 ** 40  # 1 TiB: beyond it a limit means nothing


def prefixes(check: Checker, path: str, route: t.Mapping[str, t.Any]) -> list[str]:
    """``path_prefix`` and ``path_prefixes``, in order, without repeats ("/": every path)."""
    given = [route["path_prefix"]] if route.get("path_prefix") not in (None, "") else []
    given += check.string_list(f"{path}.path_prefixes", route.get("path_prefixes", []))
    found = []
    for index, prefix in enumerate(given):
        where = f"{path}.path_prefix" if index == 0 and route.get("path_prefix") not in (None, "") else f"{path}.path_prefixes"
        found.append(check.string(where, prefix, URL_PATH_PATTERN, "a URL path starting with /"))
    return list(dict.fromkeys(prefix for prefix in found if prefix)) or ["/"]


def handling(check: Checker, path: str, route: t.Mapping[str, t.Any], all_prefixes: list[str]) -> dict[str, t.Any]:
    strip = check.boolean(f"{path}.strip_path_prefix", route.get("strip_path_prefix", False))
    if strip and all_prefixes == ["/"]:
        check.problem(f"{path}.strip_path_prefix", "needs path_prefix (or path_prefixes): there is no prefix to strip")
    return {"path_prefixes": all_prefixes[1:], "strip_path_prefix": strip,
            "buffering": _buffering(check, f"{path}.buffering", route.get("buffering")),
            "error_pages": _error_pages(check, f"{path}.error_pages", route.get("error_pages"))}


ERROR_PAGE_PATTERN = re.compile(r"([45][0-9][0-9])\.html")
MAX_ERROR_PAGE_BYTES = 256 * 1024


def _error_pages(check: Checker, path: str, value: t.Any) -> dict[str, t.Any] | None:
    """A controller directory of ``<status>.html`` pages (502.html, 503.html, 504.html, ...) that replace the
    body of the app's or the proxy's answers with that status. ``url`` (the page server) is the plan's."""
    if value in (None, ""):
        return None
    directory = check.string(path, value, re.compile(r"/.*"),
                             "an absolute directory on the controller, e.g. {{ inventory_dir }}/error_pages")
    if not directory.startswith("/"):
        return None
    if not os.path.isdir(directory):
        check.problem(path, f"{directory!r} is not a directory on the controller")
        return None
    codes = sorted(int(match.group(1)) for name in os.listdir(directory) if (match := ERROR_PAGE_PATTERN.fullmatch(name)))
    if not codes:
        check.problem(path, f"{directory!r} holds no page named like 502.html, 503.html or 504.html (400-599)")
        return None
    pages = {str(code): _page(check, path, os.path.join(directory, f"{code}.html")) for code in codes}
    return {"dir": directory, "codes": codes, "url": "", "pages": pages}


def _page(check: Checker, path: str, page: str) -> str:
    """One error page's HTML (each deploy writes the pages beside the route that uses them)."""
    try:
        if os.path.getsize(page) > MAX_ERROR_PAGE_BYTES:
            check.problem(path, f"{page!r} is larger than {MAX_ERROR_PAGE_BYTES // 1024} KiB: an error page should be "
                                "one small HTML file (inline its styles and images)")
            return ""
        with open(page, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        check.problem(path, f"{page!r} cannot be read as UTF-8 text: {exc.__class__.__name__}")
        return ""


def _buffering(check: Checker, path: str, value: t.Any) -> dict[str, int] | None:
    """Kamal's buffering keys; Traefik buffers requests and responses together once either is on."""
    if value is None or value is False:
        return None
    given = {"requests": True, "responses": True} if value is True else check.mapping(path, value, BUFFERING_KEYS)
    on = {key: check.boolean(f"{path}.{key}", given.get(key, False)) for key in ("requests", "responses")}
    limits = {key: check.integer(f"{path}.{key}", given.get(key, 0), 0, MAX_BODY, "bytes (0: no limit)")
              for key in ("max_request_body", "max_response_body")}
    for key, direction in (("max_request_body", "requests"), ("max_response_body", "responses")):
        if limits[key] and not on[direction]:
            check.problem(f"{path}.{key}", f"needs {direction}: true (only a buffered body can be limited)")
    return limits if any(on.values()) else None
