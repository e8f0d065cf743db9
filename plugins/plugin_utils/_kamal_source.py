# Copyright (c) berth.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a Kamal 2 configuration as Kamal does, without running anything.

- ``config/deploy.yml`` and, with a destination, ``config/deploy.<destination>.yml`` deep-merged over it
  (mappings merged key by key, anything else replaced);
- ERB, in the forms Kamal configurations use: ``<%= ENV["X"] %>``, ``ENV['X']``, ``ENV.fetch("X")``,
  ``ENV.fetch("X", "default")``, ``ENV["X"] || "default"``, string literals, ``<%# comments %>``. Any other
  Ruby is refused with its file and line: berth never evaluates code from a configuration;
- the secrets files ``<secrets_path>-common`` and ``<secrets_path>`` (or ``<secrets_path>.<destination>``),
  dotenv syntax. ``$VAR``/``${VAR}`` expand from earlier lines and the environment. A ``$(command)``
  (``kamal secrets fetch``, ``op read``) is never run: its secret's value comes from the environment
  variable of the same name, or ``berth_kamal_secrets`` (from Vault). ``$(cat FILE)`` alone is read as the
  file it names (relative to the app's root), since reading a file runs nothing.

``environment`` below is the controller's environment with ``berth_kamal_secrets`` over it.
"""
from __future__ import annotations

import os
import re
import typing as t

import yaml

ERB_TAG = re.compile(r"<%(?P<kind>[=#-]?)(?P<code>.*?)-?%>", re.S)
STRING = r"""(?:"(?P<{0}d>[^"\\]*)"|'(?P<{0}s>[^'\\]*)')"""
ENV_INDEX = re.compile(r"ENV\[\s*" + STRING.format("n") + r"\s*\](?:\s*\|\|\s*" + STRING.format("f") + r")?")
ENV_FETCH = re.compile(r"ENV\.fetch\(\s*" + STRING.format("n") + r"\s*(?:,\s*" + STRING.format("f") + r"\s*)?\)")
LITERAL = re.compile(STRING.format("l"))
DOTENV_LINE = re.compile(r"\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<value>.*)")
COMMAND = re.compile(r"(?<!\\)\$\((?:[^()]|\([^()]*\))*\)")
CAT_FILE = re.compile(r"\$\(\s*cat\s+(?P<path>[A-Za-z0-9_./-]+)\s*\)")
VARIABLE = re.compile(r"(?<!\\)\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


class KamalError(Exception):
    """The Kamal configuration cannot be read; ``problems`` holds one line each (file, key, why)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid Kamal configuration:\n- " + "\n- ".join(problems))


def _group(match: re.Match[str], prefix: str) -> str | None:
    for suffix in ("d", "s", "l"):
        value = match.groupdict().get(prefix + suffix)
        if value is not None:
            return value
    return None


def render_erb(text: str, path: str, environment: t.Mapping[str, str], warnings: list[str]) -> str:
    """``text`` with its ERB tags replaced, or KamalError naming each tag berth does not evaluate."""
    problems: list[str] = []

    def line_of(match: re.Match[str]) -> int:
        return text.count("\n", 0, match.start()) + 1

    def replace(match: re.Match[str]) -> str:
        code = match.group("code").strip()
        line_start = text.rfind("\n", 0, match.start()) + 1
        if match.group("kind") == "#" or text[line_start:match.start()].lstrip().startswith("#"):
            return ""  # an ERB comment, or a tag in a YAML comment line: its value would be thrown away
        where = f"{path}:{line_of(match)}"
        if match.group("kind") != "=":
            problems.append(f"{where}: ERB <% {code} %> runs Ruby, which berth does not evaluate; use "
                            "<%= ENV[\"NAME\"] %> with NAME in the environment")
            return ""
        value = _erb_value(code, environment, where, problems, warnings)
        return "" if value is None else value

    rendered = ERB_TAG.sub(replace, text)
    if problems:
        raise KamalError(problems)
    return rendered


def _erb_value(code: str, environment: t.Mapping[str, str], where: str, problems: list[str],
               warnings: list[str]) -> str | None:
    index, fetch, literal = ENV_INDEX.fullmatch(code), ENV_FETCH.fullmatch(code), LITERAL.fullmatch(code)
    if literal:
        return _group(literal, "l")
    if index or fetch:
        match = index or fetch
        name, fallback = _group(match, "n") or "", _group(match, "f")
        if name in environment:
            return environment[name] if not (index and fallback is not None and environment[name] is None) else fallback
        if fallback is not None:
            return fallback
        if fetch:
            problems.append(f"{where}: ENV.fetch(\"{name}\") and {name} is not set: export it, or give it in "
                            "berth_kamal_secrets")
            return None
        warnings.append(f"{where}: ENV[\"{name}\"] is not set, so it is empty (as in Kamal)")
        return ""
    problems.append(f"{where}: ERB <%= {code} %> is Ruby berth does not evaluate (it reads ENV[\"X\"], "
                    "ENV.fetch(\"X\"), ENV.fetch(\"X\", \"default\") and string literals); put the value in an "
                    "environment variable and read it with <%= ENV[\"X\"] %>")
    return None


def load_yaml(path: str, environment: t.Mapping[str, str], warnings: list[str]) -> dict[str, t.Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise KamalError([f"Configuration file not found in {path}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KamalError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    try:
        data = yaml.safe_load(render_erb(text, path, environment, warnings))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise KamalError([f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KamalError([f"{path}: the configuration must be a mapping of keys (service:, image:, servers: ...)"])
    return {_key(key): value for key, value in data.items()}


def _key(key: t.Any) -> str:
    """Kamal symbolizes keys; YAML written for Ruby sometimes spells them :name."""
    text = str(key)
    return text[1:] if text.startswith(":") else text


def deep_merge(base: t.Mapping[str, t.Any], override: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """ActiveSupport's deep_merge: mappings merged key by key, anything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def destination_file(path: str, destination: str) -> str:
    stem, _extension = os.path.splitext(path)
    return f"{stem}.{destination}.yml"


def load_config(path: str, destination: str, environment: t.Mapping[str, str],
                warnings: list[str]) -> dict[str, t.Any]:
    """The raw configuration: the base file with the destination's merged over it."""
    config = load_yaml(path, environment, warnings)
    if destination:
        config = deep_merge(config, load_yaml(destination_file(path, destination), environment, warnings))
    return config


def app_root(path: str) -> str:
    """Kamal runs from the app's root: config/deploy.yml sits in its config directory."""
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.dirname(directory) if os.path.basename(directory) == "config" else directory


def secrets_files(root: str, secrets_path: str, destination: str) -> list[str]:
    """The files Kamal reads secrets from, those that exist, in order (a later one wins)."""
    base = secrets_path if os.path.isabs(secrets_path) else os.path.join(root, secrets_path)
    names = [f"{base}-common", f"{base}.{destination}" if destination else base]
    return [name for name in names if os.path.isfile(name)]


class Secrets:
    """The secrets of the files, resolved on demand: a secret the configuration never names is never needed."""

    def __init__(self, files: list[str], environment: t.Mapping[str, str], root: str = ""):
        self.files = files
        self.root = root  # the app's root: $(cat config/master.key) reads from it
        self.environment = environment
        self.lines: dict[str, tuple[str, str, bool]] = {}  # name -> (raw value, where, literal: single-quoted)
        for path in files:
            self.lines.update(parse_dotenv(path))

    def names(self) -> list[str]:
        return sorted(self.lines)

    def get(self, name: str, problems: list[str], context: str) -> str | None:
        """The value of secret ``name`` (None after adding a problem that names ``context``, the key that wants it)."""
        if name not in self.lines:
            where = ", ".join(self.files) if self.files else "no secrets file (.kamal/secrets) exists"
            if name in self.environment:  # as in Kamal only when the file names it; berth also takes it from the vault
                return self.environment[name]
            problems.append(f"{context}: secret {name} is not in {where}; add {name}=... there, or give it in "
                            "berth_kamal_secrets")
            return None
        raw, where, literal = self.lines[name]
        if literal:
            return raw
        if name in self.environment and COMMAND.search(raw):
            return self.environment[name]
        read = CAT_FILE.fullmatch(raw.strip())
        if read:  # $(cat config/master.key): a file berth reads itself, nothing runs
            return self._read(read.group("path"), name, where, problems)
        if COMMAND.search(raw):
            problems.append(f"{where}: {name} comes from a command ({_short(raw)}), which berth does not run: "
                            f"export {name}, or give it in berth_kamal_secrets (from Vault)")
            return None
        return self._expand(raw, name)

    def _read(self, path: str, name: str, where: str, problems: list[str]) -> str | None:
        full = path if os.path.isabs(path) else os.path.join(self.root, path)
        try:
            with open(full, encoding="utf-8") as handle:
                return handle.read().rstrip("\n")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{where}: {name} is read from {path}, which cannot be read ({exc.__class__.__name__}); "
                            f"export {name} or give it in berth_kamal_secrets instead")
            return None

    def _expand(self, raw: str, name: str) -> str:
        def variable(match: re.Match[str]) -> str:
            key = match.group("braced") or match.group("bare")
            if key in self.environment:
                return self.environment[key]
            if key in self.lines and key != name:
                value, _where, literal = self.lines[key]
                if literal:
                    return value
                if not COMMAND.search(value):
                    return self._expand(value, key)
            return ""
        return VARIABLE.sub(variable, raw).replace("\\$", "$")


def parse_dotenv(path: str) -> dict[str, tuple[str, str, bool]]:
    """name -> (value with quotes removed, "file:line", single-quoted), in the dotenv syntax of Kamal's secrets files."""
    found: dict[str, tuple[str, str, bool]] = {}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        match = DOTENV_LINE.fullmatch(line)
        if not match or line.lstrip().startswith("#"):
            continue
        value = match.group("value").strip()
        start = number
        literal = value[:1] == "'"
        if value[:1] in ("'", '"'):
            quote = value[0]
            while not _closed(value, quote) and number < len(lines):
                value += "\n" + lines[number]
                number += 1
            value = _unquote(value, quote)
        else:
            value = re.sub(r"\s+#.*$", "", value)
        found[match.group("name")] = (value, f"{path}:{start}", literal)
    return found


def _closed(value: str, quote: str) -> bool:
    body = value[1:]
    position = 0
    while True:
        position = body.find(quote, position)
        if position < 0:
            return False
        if quote == "'" or not _escaped(body, position):
            return True
        position += 1


def _escaped(text: str, position: int) -> bool:
    backslashes = 0
    while position > 0 and text[position - 1] == "\\":
        backslashes += 1
        position -= 1
    return backslashes % 2 == 1


def _unquote(value: str, quote: str) -> str:
    body = value[1:]
    end = len(body)
    position = 0
    while True:
        found = body.find(quote, position)
        if found < 0:
            break
        if quote == "'" or not _escaped(body, found):
            end = found
            break
        position = found + 1
    inner = body[:end]
    if quote == '"':
        inner = inner.replace("\\n", "\n").replace('\\"', '"')
    return inner


def _short(raw: str) -> str:
    return raw if len(raw) <= 60 else raw[:57] + "..."
