"""The one writer of the host's audit log: no value can end its line or write a second one."""
import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _audit, _release

FORGED = "1970-01-01T00:00:00Z performer=mallory action=exec rc=0 command=true"


@pytest.mark.parametrize("breaker", ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                                     "\u2029", "\x00", "\x1b[2K"])
def test_no_line_breaking_character_survives_in_a_value(breaker, tmp_path):
    log = tmp_path / "berth" / "shop-deploys.log"
    for key in ("performer", "command", "message"):
        line = _audit.line(1800000000, [("action", "exec"), (key, f"harmless{breaker}{FORGED}")])
        assert len(line.splitlines()) == 1 and breaker not in line
        _audit.append(str(log), line)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and not any(line.startswith("1970") for line in lines)


def test_values_are_escaped_and_quoted_and_null_fields_left_out():
    line = _audit.line(0, [("performer", "alice@laptop"), ("rc", 0), ("page_message", None),
                           ("command", "sh -c 'echo hi'\nrm -rf /"), ("message", "")])
    assert line == ("1970-01-01T00:00:00Z performer=alice@laptop rc=0 "
                    "command='sh -c '\"'\"'echo hi'\"'\"'\\nrm -rf /' message=''")


def test_field_names_are_lower_case_words_and_lines_are_single():
    with pytest.raises(ValueError):
        _audit.line(0, [("rc=0\nforged", "x")])
    with pytest.raises(ValueError):
        _audit.append("/nonexistent/never-written.log", "one\ntwo")


def test_the_log_is_created_private_and_appended_to(tmp_path):
    log = tmp_path / "logs" / "shop-deploys.log"
    _audit.append(str(log), "first")
    _audit.append(str(log), "first")  # a repeated line is still a new event
    assert log.read_text() == "first\nfirst\n"
    assert log.stat().st_mode & 0o777 == 0o640


def test_the_release_line_goes_through_the_same_escaping():
    line = _release.audit_line(0, "alice\n" + FORGED, "v2", "ok", {"web": {"previous": ["v1\n"], "version": "v2"}},
                               "hotfix\u2028" + FORGED)
    assert len(line.splitlines()) == 1
    assert line.startswith("1970-01-01T00:00:00Z performer='alice\\n1970-01-01T00:00:00Z performer=mallory")
