import datetime
import re

import pytest

from ansible_collections.berth.deploy.plugins.module_utils import _logs

NOW = 1_800_000_000.0


@pytest.mark.parametrize("text, expected", [
    ("10m", NOW - 600),
    ("1h30m", NOW - 5400),
    ("45s", NOW - 45),
    ("1.5h", NOW - 5400),
    ("500ms", NOW - 0.5),
    ("1700000000", 1700000000),
    ("1700000000.9", 1700000000),
    ("2026-01-22T05:00:00Z", datetime.datetime(2026, 1, 22, 5, tzinfo=datetime.timezone.utc).timestamp()),
    ("2026-01-22T06:00:00+01:00", datetime.datetime(2026, 1, 22, 5, tzinfo=datetime.timezone.utc).timestamp()),
    ("2026-01-22", datetime.datetime(2026, 1, 22, tzinfo=datetime.timezone.utc).timestamp()),
])
def test_since_follows_dockers_syntax(text, expected):
    assert _logs.since_epoch(text, NOW) == int(expected)


@pytest.mark.parametrize("text", ["yesterday", "10", "10 m", "-5m", "1d", "2026-13-01", ""])
def test_since_refuses_the_rest(text):
    with pytest.raises(_logs.SinceError, match="is not a duration before now like 10m"):
        _logs.since_epoch(text, NOW)


def test_since_never_goes_below_one():
    assert _logs.since_epoch("100000h", 10.0) == 1


def test_tail_keeps_the_last_lines_across_chunks():
    tail = _logs.LineTail(2)
    for chunk in (b"one\ntw", b"o\r\nthree", b"\nfour"):
        tail.feed(chunk)
    assert tail.finish() == ["three", "four"]
    assert tail.seen == 4


def test_tail_keeps_the_last_matching_lines():
    tail = _logs.LineTail(2, re.compile("ERR"))
    tail.feed("ERR a\nok\nERR b\nok\nERR c\nok\n")
    assert tail.finish() == ["ERR b", "ERR c"]


def test_tail_matches_the_message_after_the_timestamp():
    tail = _logs.LineTail(5, re.compile("^2026"), timestamps=True)
    tail.feed(b"2026-01-22T05:00:00.000000000Z 2026 was a year\n2026-01-22T05:00:01.000000000Z other\n")
    assert tail.finish() == ["2026-01-22T05:00:00.000000000Z 2026 was a year"]


def test_tail_decodes_bad_bytes():
    tail = _logs.LineTail(5)
    tail.feed(b"caf\xc3\xa9 \xff\n")
    assert tail.finish() == ["café \ufffd"]


class FakeContainer:
    def __init__(self, text=b"", error=None):
        self.text = text
        self.error = error
        self.calls = []

    def logs(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        if kwargs.get("stream"):
            return iter([self.text[:5], self.text[5:]])
        return self.text


def test_read_lets_docker_cut_the_tail_without_a_pattern():
    container = FakeContainer(b"a\nb\nc\n")
    assert _logs.read(container, 2, since=123) == ["b", "c"]
    assert container.calls == [{"stdout": True, "stderr": True, "tail": 2, "since": 123, "timestamps": False}]


def test_read_streams_everything_with_a_pattern():
    container = FakeContainer(b"x1\ny\nx2\ny\nx3\n")
    assert _logs.read(container, 2, pattern=re.compile("x")) == ["x2", "x3"]
    assert container.calls[0]["stream"] is True and "tail" not in container.calls[0]


def test_read_reports_unreadable_logs_as_a_line():
    assert _logs.read(FakeContainer(error=RuntimeError("driver none cannot be read")), 5) == [
        "<logs unavailable: driver none cannot be read>"]


class TimestampedLogs:
    """A container whose log lines carry Docker's timestamps (trailing zeros of the fraction cut, as Docker does)."""

    def __init__(self, lines):
        self.lines = lines

    def logs(self, **options):
        assert options["timestamps"] is True
        since = options.get("since") or 0
        text = "\n".join(line for line in self.lines if _logs.since_epoch(line.split(" ", 1)[0], 0) >= since)
        return (text + "\n").encode() if text else b""


def test_following_prints_each_new_line_once():
    container = TimestampedLogs(["2026-12-07T10:00:00.5Z boot", "2026-12-07T10:00:01.12Z listening",
                                 "2026-12-07T10:00:01.2Z ready"])
    lines, cursor = _logs.read_after(container, "", 2)
    assert lines == ["listening", "ready"] and cursor == "2026-12-07T10:00:01.2Z"
    assert _logs.read_after(container, cursor, 2) == ([], cursor)  # nothing new
    container.lines.append("2026-12-07T10:00:01.25Z request")  # later within the same second: .25 > .2
    lines, cursor = _logs.read_after(container, cursor, 100, show_timestamps=True)
    assert lines == ["2026-12-07T10:00:01.25Z request"] and cursor == "2026-12-07T10:00:01.25Z"
