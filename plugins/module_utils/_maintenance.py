# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance page: a small HTML template and the message, HTML-escaped, put into it."""
from __future__ import annotations

import html

PLACEHOLDER = "%MESSAGE%"
DEFAULT_MESSAGE = "We are doing some maintenance and will be back shortly."
DEFAULT_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Down for maintenance</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 15vh auto; padding: 0 1rem;
       color: #222; line-height: 1.5; }
h1 { font-size: 1.6rem; }
</style>
</head>
<body>
<h1>Down for maintenance</h1>
<p>%MESSAGE%</p>
</body>
</html>
"""


def escape_message(message: str) -> str:
    """The message as HTML text: markup characters escaped, line breaks kept."""
    return "<br>\n".join(html.escape(line) for line in message.splitlines())


def render_page(message: str, template: str = "") -> str:
    """``template`` (default: a plain page) with every ``%MESSAGE%`` replaced by the escaped message."""
    page = (template or DEFAULT_TEMPLATE).replace(PLACEHOLDER, escape_message(message))
    return page if page.endswith("\n") else page + "\n"
