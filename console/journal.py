"""Journal entries: the journalctl command line, the parser of its JSON
output, and a bounded buffer that survives a resumed stream."""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from console.errors import ParseError
from console.model import JournalEntry

PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
DEFAULT_PRIORITY = 6  # journald's own default for entries that carry none

# journalctl -o json sends null for a value over 4096 bytes unless --all.
TOO_LONG_MESSAGE = "[message too long, not shown]"
TOO_LONG_VALUE = "[value too long, not shown]"

# The fields a live view reads; journalctl adds __CURSOR, __REALTIME_TIMESTAMP,
# __MONOTONIC_TIMESTAMP and _BOOT_ID to any --output-fields. An entry carries
# some thirty fields, and sending them all for every line tripled what a
# flood costs to carry and parse; an entry opened in full is read again by
# its cursor (entry_argv).
STREAM_FIELDS = (
    "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "_COMM", "_PID",
    "_SYSTEMD_UNIT", "UNIT", "_SYSTEMD_USER_UNIT", "_HOSTNAME",
)

# journalctl accepts these spellings beside PRIORITY_NAMES.
_PRIORITY_ALIASES = {"error": 3, "warn": 4, "emergency": 0, "critical": 2, "information": 6}


def parse_priority(text: str) -> int:
    """A priority given as a digit 0-7 or a name (`err`, `warning`, ...)."""
    word = text.strip().lower()
    if len(word) == 1 and word in "01234567":
        return int(word)
    if word in PRIORITY_NAMES:
        return PRIORITY_NAMES.index(word)
    if word in _PRIORITY_ALIASES:
        return _PRIORITY_ALIASES[word]
    raise ValueError(f"not a journal priority: {text[:40]!r}")


def journal_argv(
    *,
    after_cursor: str | None = None,
    lines: int = 200,
    units: Sequence[str] = (),
    priority: str | None = None,
    follow: bool = True,
    boot: str | None = None,
) -> list[str]:
    """The journalctl command for a host's journal as JSON lines.

    With a cursor the stream resumes right after it; --no-tail keeps -f from
    cutting what came since to its implied last 10 lines. `priority` is a
    level or a range (`err`, `0..3`, `warning..emerg`). `boot` is
    journalctl's -b argument (`0`, `-1`, a boot id); attached with `=` so
    that `-1` is not read as an option. Only STREAM_FIELDS are sent.
    """
    argv = ["journalctl", "-o", "json", "--no-pager", f"--output-fields={','.join(STREAM_FIELDS)}"]
    if follow:
        argv.append("-f")
    if after_cursor is not None:
        argv += [f"--after-cursor={after_cursor}", "--no-tail"]
    else:
        if lines < 0:
            raise ValueError(f"lines must be >= 0, not {lines}")
        argv += ["-n", str(lines)]
    for unit in units:
        argv.append(f"--unit={unit}")
    if priority is not None:
        for level in priority.split("..", 1):
            parse_priority(level)
        argv.append(f"--priority={priority}")
    if boot is not None:
        argv.append(f"--boot={boot}" if boot else "--boot")
    return argv


def entry_argv(cursor: str) -> list[str]:
    """The journalctl command for the one entry at `cursor`, every field."""
    return ["journalctl", "-o", "json", "--no-pager", "--all", f"--cursor={cursor}", "-n", "1"]


def parse_entry_at(output: str, cursor: str) -> JournalEntry:
    """The entry at `cursor` in entry_argv's output; ParseError when the
    journal no longer holds it (rotated or vacuumed away)."""
    for line in output.splitlines():
        entry = parse_entry(line)
        if entry.cursor == cursor:
            return entry
    raise ParseError("the entry is no longer in the journal")


def _value_text(value: object, too_long: str) -> str:
    """One journal value as text: a string as is, an array of bytes (a
    non-UTF-8 or non-printable value) decoded with replacement, null (a
    value too long to send) as a placeholder, and a repeated field's array
    of values joined one per line."""
    if isinstance(value, str):
        return value
    if value is None:
        return too_long
    if isinstance(value, list):
        if all(type(b) is int and 0 <= b <= 255 for b in value):
            return bytes(value).decode("utf-8", "replace")
        return "\n".join(_value_text(v, too_long) for v in value)
    return json.dumps(value)  # numbers, booleans, objects: journalctl sends none of these


def _first_text(value: object) -> str | None:
    """A field that should have one value (unit, identifier): the first of a
    repeated field's values; None for an empty or too-long value."""
    if type(value) is str:  # nearly every value: no further questions
        return value or None
    if isinstance(value, list) and value and not all(type(b) is int for b in value):
        value = value[0]
    if value is None:
        return None
    text = _value_text(value, "")
    return text or None


def parse_entry(line: str) -> JournalEntry:
    """One line of `journalctl -o json`."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ParseError(f"journal line is not JSON: {exc}") from None
    except RecursionError:
        raise ParseError("journal line nests too deeply") from None
    try:
        return _entry(data)
    except RecursionError:  # nested arrays that _value_text walks
        raise ParseError("journal entry nests too deeply") from None


def _entry(data: object) -> JournalEntry:
    if not isinstance(data, dict):
        raise ParseError("journal line is not a JSON object")
    cursor = data.get("__CURSOR")
    if not isinstance(cursor, str) or not cursor:
        raise ParseError("journal entry has no cursor")

    # Plain strings (nearly all values) are taken as they are: in a flood
    # every call saved is thousands a second.
    fields = {key: value if type(value) is str else _value_text(value, TOO_LONG_VALUE) for key, value in data.items()}
    try:
        priority = parse_priority(_first_text(data.get("PRIORITY")) or "")
    except ValueError:
        priority = DEFAULT_PRIORITY
    try:
        timestamp = int(_first_text(data.get("__REALTIME_TIMESTAMP")) or "") / 1e6
    except (ValueError, OverflowError):
        timestamp = 0.0
    try:
        pid: int | None = int(_first_text(data.get("_PID")) or "")
    except ValueError:
        pid = None
    # systemd's own lines about a unit ("Started nginx.service") come from
    # init.scope and name the unit in UNIT; `journalctl -u` files them there.
    unit = _first_text(data.get("_SYSTEMD_UNIT"))
    if unit in (None, "init.scope"):
        unit = _first_text(data.get("UNIT")) or unit
    return JournalEntry(
        cursor=cursor,
        timestamp=timestamp,
        priority=priority,
        message=_value_text(data["MESSAGE"], TOO_LONG_MESSAGE) if "MESSAGE" in data else "",
        unit=unit or _first_text(data.get("_SYSTEMD_USER_UNIT")),
        identifier=_first_text(data.get("SYSLOG_IDENTIFIER")) or _first_text(data.get("_COMM")),
        pid=pid,
        hostname=_first_text(data.get("_HOSTNAME")),
        boot_id=_first_text(data.get("_BOOT_ID")),
        fields=fields,
    )


class JournalBuffer:
    """The newest `maxlen` entries of one host's journal.

    `last_cursor` is where a resumed stream starts. clear() forgets it too: a
    cleared buffer (say, for a new unit filter) starts again from the backlog.

    Readers that show the journal live keep a `JournalMark` and ask for what
    came after it, so each new entry is handled once however often they look.
    """

    def __init__(self, maxlen: int) -> None:
        if maxlen <= 0:
            raise ValueError(f"maxlen must be positive, not {maxlen}")
        self._maxlen = maxlen
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)
        self.last_cursor: str | None = None
        self.dropped = 0
        self._appended = 0  # entries stored since the last clear()
        self._epoch = 0  # clear() count: a mark from before a clear is stale

    @property
    def maxlen(self) -> int:
        return self._maxlen

    def extend(self, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
        """Store entries and return those that are new: an entry repeating the
        last cursor (journalctl can resend it after a resume) is skipped."""
        fresh: list[JournalEntry] = []
        last = self.last_cursor
        for entry in entries:
            if entry.cursor != last:
                fresh.append(entry)
                last = entry.cursor
        self.dropped += max(0, len(self._entries) + len(fresh) - self._maxlen)
        self._entries.extend(fresh)
        self._appended += len(fresh)
        self.last_cursor = last
        return fresh

    def clear(self) -> None:
        self._entries.clear()
        self.last_cursor = None
        self.dropped = 0
        self._appended = 0
        self._epoch += 1

    def mark(self) -> JournalMark:
        """Where the buffer stands now."""
        return JournalMark(self._epoch, self._appended)

    def since(self, mark: JournalMark | None) -> tuple[list[JournalEntry], bool, JournalMark]:
        """The entries stored after `mark`, whether they replace everything
        before (the mark is None, predates a clear(), or fell out of the
        buffer) and the new mark."""
        now = self.mark()
        if mark is None or mark.epoch != self._epoch or self._appended - mark.appended > len(self._entries):
            return list(self._entries), True, now
        count = self._appended - mark.appended
        if count == 0:
            return [], False, now
        return list(itertools.islice(reversed(self._entries), count))[::-1], False, now

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._entries)


@dataclass(frozen=True, slots=True)
class JournalMark:
    """A reader's place in a JournalBuffer (see JournalBuffer.since)."""

    epoch: int
    appended: int
