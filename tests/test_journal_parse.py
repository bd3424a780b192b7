"""journalctl's command line and JSON output: checked against the real
journalctl on journal files written by systemd-journal-remote, and against
hand-made lines with byte arrays, nulls and repeated fields."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.errors import ParseError
from console.journal import (
    DEFAULT_PRIORITY,
    PRIORITY_NAMES,
    STREAM_FIELDS,
    TOO_LONG_MESSAGE,
    JournalBuffer,
    entry_argv,
    journal_argv,
    parse_entry,
    parse_entry_at,
    parse_priority,
)
from console.model import JournalEntry
from tests.properties import PARSER_PROPERTIES, only_parse_errors

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
# What journalctl adds to any --output-fields.
ALWAYS_SENT = ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP", "_BOOT_ID")
BOOT_ID = "0123456789abcdef0123456789abcdef"


def test_journal_argv_forms() -> None:
    head = ["journalctl", "-o", "json", "--no-pager", f"--output-fields={','.join(STREAM_FIELDS)}"]
    assert journal_argv() == [*head, "-f", "-n", "200"]
    assert journal_argv(after_cursor="s=1;i=2", lines=50) == [*head, "-f", "--after-cursor=s=1;i=2", "--no-tail"]
    assert journal_argv(follow=False, lines=10, units=["nginx.service", "sshd.service"], priority="err", boot="-1") == [
        *head, "-n", "10", "--unit=nginx.service", "--unit=sshd.service", "--priority=err", "--boot=-1"]
    assert journal_argv(follow=False, priority="0..3", boot="")[-2:] == ["--priority=0..3", "--boot"]
    with pytest.raises(ValueError):
        journal_argv(priority="loud")
    with pytest.raises(ValueError):
        journal_argv(lines=-1)


def test_parse_priority() -> None:
    assert [parse_priority(name) for name in PRIORITY_NAMES] == list(range(8))
    assert [parse_priority(str(n)) for n in range(8)] == list(range(8))
    assert parse_priority(" Warning ") == 4 and parse_priority("error") == 3
    for bad in ("8", "-1", "", "info2", "٣"):
        with pytest.raises(ValueError):
            parse_priority(bad)


# --- lines as journalctl writes them ---------------------------------------------------


def line(**fields: object) -> str:
    return json.dumps({"__CURSOR": "s=abc;i=1", "__REALTIME_TIMESTAMP": "1700000000123456", **fields})


def test_plain_entry() -> None:
    entry = parse_entry(line(MESSAGE="Started nginx.", PRIORITY="6", _SYSTEMD_UNIT="nginx.service",
                             SYSLOG_IDENTIFIER="systemd", _PID="1", _HOSTNAME="web1", _BOOT_ID=BOOT_ID))
    assert entry == JournalEntry("s=abc;i=1", 1700000000.123456, 6, "Started nginx.", "nginx.service", "systemd", 1,
                                 "web1", BOOT_ID)
    assert entry.fields["_PID"] == "1" and entry.fields["__CURSOR"] == "s=abc;i=1"


def test_byte_arrays_are_decoded_with_replacement() -> None:
    entry = parse_entry(line(MESSAGE=list(b"bad \xff utf-8 \x1b[1mbold"), _COMM=list(b"caf\xc3\xa9")))
    assert entry.message == "bad \ufffd utf-8 \x1b[1mbold"
    assert entry.identifier == "café"


def test_null_message_is_a_placeholder() -> None:
    entry = parse_entry(line(MESSAGE=None, CODE_FILE=None))
    assert entry.message == TOO_LONG_MESSAGE
    assert "too long" in entry.fields["CODE_FILE"]


def test_repeated_fields() -> None:
    entry = parse_entry(line(MESSAGE=["first", list(b"second \xff")], SYSLOG_IDENTIFIER=["sshd", "sshd-session"],
                             PRIORITY=["3", "6"], TAG=["a", "b"]))
    assert entry.message == "first\nsecond \ufffd"
    assert entry.identifier == "sshd" and entry.priority == 3
    assert entry.fields["TAG"] == "a\nb"


def test_unit_and_identifier_fall_back() -> None:
    # systemd's lines about a unit come from init.scope; journalctl -u files them under UNIT.
    assert parse_entry(line(UNIT="foo.service", _SYSTEMD_UNIT="init.scope")).unit == "foo.service"
    assert parse_entry(line(_SYSTEMD_UNIT="init.scope")).unit == "init.scope"
    assert parse_entry(line(UNIT="foo.service")).unit == "foo.service"
    assert parse_entry(line(_SYSTEMD_USER_UNIT="pipewire.service")).unit == "pipewire.service"
    assert parse_entry(line()).unit is None
    assert parse_entry(line(_COMM="cron")).identifier == "cron"


@pytest.mark.parametrize("priority", [None, "9", "", "x", 9, [], list(b"\xff")])
def test_missing_or_bad_priority_is_info(priority: object) -> None:
    fields = {} if priority is None else {"PRIORITY": priority}
    assert parse_entry(line(**fields)).priority == DEFAULT_PRIORITY


def test_missing_or_bad_timestamp_and_pid() -> None:
    entry = parse_entry(json.dumps({"__CURSOR": "c", "_PID": "x", "__REALTIME_TIMESTAMP": "9" * 400}))
    assert entry.timestamp == 0.0 and entry.pid is None and entry.message == ""


@pytest.mark.parametrize("text", [
    "", "not json", "[]", '"string"', "null", "42", "{}", '{"__CURSOR": 5}', '{"__CURSOR": ""}',
    '{"MESSAGE": "no cursor"}', "[" * 100_000, '{"__CURSOR": "c", "X": ' + "[" * 5000 + "]" * 5000 + "}",
])
def test_unusable_lines_are_parse_errors(text: str) -> None:
    with pytest.raises(ParseError):
        parse_entry(text)


# --- the real journalctl ---------------------------------------------------------------


def export_entry(n: int, message: bytes, extra: bytes = b"") -> bytes:
    """One entry in the journal export format; binary-safe form for values
    with newlines or non-printable bytes."""
    head = (
        b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\nPRIORITY=%d\n"
        b"_SYSTEMD_UNIT=%s\nSYSLOG_IDENTIFIER=demo\n_HOSTNAME=web1\n_PID=42\nCODE_FILE=demo.c\n"
    ) % (1700000000000000 + n * 1_000_000, n * 1_000_000 + 1, BOOT_ID.encode(), n % 8,
         b"a.service" if n % 2 else b"b.service")
    if any(c < 32 or c > 126 for c in message):
        body = b"MESSAGE\n" + struct.pack("<Q", len(message)) + message + b"\n"
    else:
        body = b"MESSAGE=" + message + b"\n"
    return head + body + extra + b"\n"


@pytest.fixture(scope="module")
def journal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (shutil.which("journalctl") and Path(JOURNAL_REMOTE).exists()):
        pytest.skip("needs journalctl and systemd-journal-remote")
    directory = tmp_path_factory.mktemp("journal")
    export = b"".join([
        *(export_entry(n, b"line %d" % n) for n in range(30)),
        export_entry(30, b"bad \xff\xfe utf-8"),
        export_entry(31, b"two\nlines"),
        export_entry(32, b"x" * 5000),
        export_entry(33, b"tagged", b"TAG=one\nTAG=two\n"),
    ])
    subprocess.run([JOURNAL_REMOTE, "-o", str(directory / "demo.journal"), "-"], input=export, check=True,
                   capture_output=True, timeout=30)
    return directory


def journalctl(directory: Path, argv: list[str], *, follow_for: float | None = None) -> list[str]:
    """Run an argv from journal_argv against `directory`; a following one is
    stopped after `follow_for` seconds."""
    command = [argv[0], "-D", str(directory), *argv[1:]]
    if follow_for is None:
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout.splitlines()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    time.sleep(follow_for)
    process.terminate()
    out, _ = process.communicate(timeout=10)
    return out.splitlines()


def test_real_journal_entries(journal_dir: Path) -> None:
    entries = [parse_entry(text) for text in journalctl(journal_dir, journal_argv(follow=False, lines=100))]
    assert len(entries) == 34
    assert [e.message for e in entries[:3]] == ["line 0", "line 1", "line 2"]
    assert entries[30].message == "bad \ufffd\ufffd utf-8"
    assert entries[31].message == "two\nlines"
    assert entries[32].message == TOO_LONG_MESSAGE  # over 4096 bytes and no --all
    assert "TAG" not in entries[33].fields  # the stream carries only what a line needs
    assert set(entries[5].fields) == {*STREAM_FIELDS, *ALWAYS_SENT} - {"_SYSTEMD_USER_UNIT", "_COMM", "UNIT"}
    assert entries[5].timestamp == pytest.approx(1700000005.0)
    assert (entries[5].priority, entries[5].unit, entries[5].identifier, entries[5].pid) == (5, "a.service", "demo", 42)
    assert entries[5].boot_id == BOOT_ID and entries[5].hostname == "web1"
    assert len({e.cursor for e in entries}) == 34


def test_real_entry_by_cursor_has_every_field_in_full(journal_dir: Path) -> None:
    streamed = [parse_entry(t) for t in journalctl(journal_dir, journal_argv(follow=False, lines=100))]
    for index in (33, 32, 0):
        cursor = streamed[index].cursor
        full = parse_entry_at("\n".join(journalctl(journal_dir, entry_argv(cursor))), cursor)
        assert full.cursor == cursor and set(streamed[index].fields) < set(full.fields)
    assert full.message == "line 0" and full.fields["CODE_FILE"] == "demo.c"
    tagged = parse_entry_at("\n".join(journalctl(journal_dir, entry_argv(streamed[33].cursor))), streamed[33].cursor)
    assert tagged.fields["TAG"] == "one\ntwo"
    long = parse_entry_at("\n".join(journalctl(journal_dir, entry_argv(streamed[32].cursor))), streamed[32].cursor)
    assert long.message == "x" * 5000  # --all: no value is too long to send
    with pytest.raises(ParseError):
        parse_entry_at("\n".join(journalctl(journal_dir, entry_argv(streamed[1].cursor))), streamed[2].cursor)


def test_real_filters(journal_dir: Path) -> None:
    def messages(**options: object) -> list[str]:
        return [parse_entry(t).message for t in journalctl(journal_dir, journal_argv(follow=False, **options))]

    assert messages(lines=3) == ["two\nlines", TOO_LONG_MESSAGE, "tagged"]
    assert all(int(m.split()[1]) % 2 == 1 for m in messages(units=["a.service"], lines=100)[:-2])
    assert len(messages(priority="err", lines=100)) == sum(1 for n in range(34) if n % 8 <= 3)
    assert len(messages(priority="0..1", lines=100)) == sum(1 for n in range(34) if n % 8 <= 1)
    assert len(messages(boot=BOOT_ID, lines=100)) == 34


def test_real_follow_resumes_after_the_cursor_without_a_gap(journal_dir: Path) -> None:
    everything = [parse_entry(t) for t in journalctl(journal_dir, journal_argv(follow=False, lines=100))]
    cursor = everything[4].cursor
    resumed = [parse_entry(t) for t in journalctl(journal_dir, journal_argv(after_cursor=cursor), follow_for=1.5)]
    # -f alone would have shown only the last 10
    assert [e.cursor for e in resumed] == [e.cursor for e in everything[5:]]
    tail = [parse_entry(t) for t in journalctl(journal_dir, journal_argv(lines=7), follow_for=1.5)]
    assert [e.cursor for e in tail] == [e.cursor for e in everything[-7:]]


# --- the buffer --------------------------------------------------------------------------


def entry(n: int) -> JournalEntry:
    return JournalEntry(cursor=f"c{n}", timestamp=float(n), priority=6, message=f"m{n}")


def test_buffer_skips_a_repeat_of_the_last_cursor() -> None:
    buffer = JournalBuffer(10)
    assert buffer.extend([entry(1), entry(2)]) == [entry(1), entry(2)]
    assert buffer.last_cursor == "c2"
    # a resumed stream that repeats the entry it resumed from
    assert buffer.extend([entry(2), entry(3)]) == [entry(3)]
    assert buffer.extend([]) == [] and buffer.last_cursor == "c3"
    assert [e.cursor for e in buffer] == ["c1", "c2", "c3"] and len(buffer) == 3


def test_buffer_is_bounded_and_counts_what_fell_off() -> None:
    buffer = JournalBuffer(5)
    buffer.extend(entry(n) for n in range(3))
    assert buffer.dropped == 0
    buffer.extend(entry(n) for n in range(3, 12))
    assert [e.cursor for e in buffer] == [f"c{n}" for n in range(7, 12)]
    assert buffer.dropped == 7 and len(buffer) == 5
    buffer.clear()
    assert len(buffer) == 0 and buffer.dropped == 0 and buffer.last_cursor is None
    with pytest.raises(ValueError):
        JournalBuffer(0)


def test_a_reader_gets_each_new_entry_once_and_a_full_reload_when_it_fell_behind() -> None:
    buffer = JournalBuffer(5)
    entries, replace, mark = buffer.since(None)
    assert (entries, replace) == ([], True)
    buffer.extend([entry(1), entry(2)])
    entries, replace, mark = buffer.since(mark)
    assert ([e.cursor for e in entries], replace) == (["c1", "c2"], False)
    assert buffer.since(mark)[:2] == ([], False)
    buffer.extend([entry(3)])
    entries, replace, mark = buffer.since(mark)
    assert ([e.cursor for e in entries], replace) == (["c3"], False)
    # more than the buffer holds arrived: the reader must start over
    buffer.extend(entry(n) for n in range(4, 11))
    entries, replace, mark = buffer.since(mark)
    assert ([e.cursor for e in entries], replace) == ([f"c{n}" for n in range(6, 11)], True)
    # a clear() (new stream filter) makes every older mark stale
    buffer.clear()
    buffer.extend([entry(20)])
    entries, replace, mark = buffer.since(mark)
    assert ([e.cursor for e in entries], replace) == (["c20"], True)


def test_buffer_keeps_up_with_5000_lines_a_second() -> None:
    lines = [line(MESSAGE=f"request {n} done", PRIORITY="6", _SYSTEMD_UNIT="nginx.service", _PID="812",
                  SYSLOG_IDENTIFIER="nginx", _HOSTNAME="web1", _BOOT_ID=BOOT_ID, _TRANSPORT="stdout",
                  __CURSOR=f"s=abc;i={n}") for n in range(5000)]
    buffer = JournalBuffer(2000)
    started = time.perf_counter()
    buffer.extend(parse_entry(text) for text in lines)
    elapsed = time.perf_counter() - started
    assert len(buffer) == 2000 and buffer.dropped == 3000
    print(f"\n5000 journal lines parsed and buffered in {elapsed * 1000:.0f} ms")


# --- nothing from a host crashes the parser ---------------------------------------------------


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.lists(st.integers(-5, 300), max_size=20),
    st.lists(st.one_of(st.text(max_size=10), st.none(), st.lists(st.integers(0, 255), max_size=8)), max_size=4),
)
FIELD_NAMES = st.sampled_from([
    "MESSAGE", "PRIORITY", "__REALTIME_TIMESTAMP", "_PID", "_SYSTEMD_UNIT", "UNIT", "_SYSTEMD_USER_UNIT",
    "SYSLOG_IDENTIFIER", "_COMM", "_HOSTNAME", "_BOOT_ID", "X",
])



@PARSER_PROPERTIES
@given(st.text())
def test_parse_entry_on_any_text(text: str) -> None:
    only_parse_errors(lambda: parse_entry(text))


@PARSER_PROPERTIES
@given(JSON_VALUES)
def test_parse_entry_on_any_json(value: object) -> None:
    only_parse_errors(lambda: parse_entry(json.dumps(value)))


@PARSER_PROPERTIES
@given(st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=8), st.text(min_size=1, max_size=20))
def test_an_entry_with_a_cursor_always_parses(fields: dict[str, object], cursor: str) -> None:
    parsed = parse_entry(json.dumps({**fields, "__CURSOR": cursor}))
    assert parsed.cursor == cursor and 0 <= parsed.priority <= 7
    assert isinstance(parsed.message, str)


@PARSER_PROPERTIES
@given(st.data())
def test_parse_entry_on_cut_real_lines(data: st.DataObject) -> None:
    text = line(MESSAGE=list(b"bad \xff"), PRIORITY="3", TAG=["a", "b"], CODE=None)
    cut = data.draw(st.integers(0, len(text)))
    only_parse_errors(lambda: parse_entry(text[:cut] + data.draw(st.text(max_size=5))))

