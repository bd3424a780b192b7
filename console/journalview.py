"""The journal viewer's model, free of any UI: which entries show (filters),
in what order (timestamp order, one host's or merged across hosts), what
waits while the view is paused, the text of each line and where the search
matches are.

Rows are kept in timestamp order, ties in order of arrival. The UI draws
`visible`; every method that changes it says so by returning True.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from console.journal import PRIORITY_NAMES
from console.model import JournalEntry

DEBUG = len(PRIORITY_NAMES) - 1  # the least severe level: a filter at it lets everything through

# Control characters would move the terminal's cursor or restyle it: a line
# shows a newline as ⏎, a tab as a space and any other as U+FFFD.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_SHOWN = {"\n": "⏎", "\t": " "}


TIME_FORMAT = "%b %d %H:%M:%S "
TIME_WIDTH = len(time.strftime(TIME_FORMAT, time.localtime(0)))


def _source(entry: JournalEntry) -> str:
    """"sshd[702]: ", as journalctl names where an entry comes from."""
    source = entry.identifier or "unknown"
    return source + (f"[{entry.pid}]: " if entry.pid is not None else ": ")


def _visible_text(text: str) -> str:
    return _CONTROL_RE.sub(lambda m: _CONTROL_SHOWN.get(m.group(), "\ufffd"), text)


def parse_units(text: str) -> tuple[str, ...]:
    """Unit names typed by a user, separated by commas or spaces; a name
    without a type gets `.service`, as `journalctl -u` does."""
    names = (word for word in re.split(r"[,\s]+", text) if word)
    return tuple(dict.fromkeys(name if "." in name else f"{name}.service" for name in names))


@dataclass(frozen=True)
class JournalFilter:
    """What the user asked to see: entries at `priority` or more severe (0
    emerg .. 7 debug), of one of `units` (any when empty), and containing
    `text` in the message, unit or identifier, ignoring case."""

    priority: int = DEBUG
    units: tuple[str, ...] = ()
    text: str = ""
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.priority <= DEBUG:
            raise ValueError(f"priority must be 0..{DEBUG}, not {self.priority}")
        # A regular expression, not str.lower(): lowering can change a text's
        # length, and spans must index the text as shown.
        pattern = re.compile(re.escape(self.text), re.IGNORECASE) if self.text else None
        object.__setattr__(self, "_pattern", pattern)

    def matches(self, entry: JournalEntry) -> bool:
        if entry.priority > self.priority:
            return False
        if self.units and entry.unit not in self.units:
            return False
        if self._pattern is None:
            return True
        return any(value and self._pattern.search(value) for value in (entry.message, entry.unit, entry.identifier))

    def match_spans(self, text: str) -> list[tuple[int, int]]:
        """Where the search text occurs in `text`, as (start, end) indexes."""
        if self._pattern is None:
            return []
        return [match.span() for match in self._pattern.finditer(text)]

    def describe(self) -> str:
        """A short summary for a status line; empty when nothing is filtered."""
        parts = []
        if self.priority < DEBUG:
            parts.append(f"≤{PRIORITY_NAMES[self.priority]}")
        if self.units:
            parts.append("unit " + ",".join(self.units))
        if self.text:
            parts.append(f"“{self.text}”")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One entry of one host. `seq` is the order of arrival: it breaks ties
    between equal timestamps and names the row for caches."""

    seq: int
    host: str
    entry: JournalEntry


def _order(row: JournalRow) -> tuple[float, int]:
    return row.entry.timestamp, row.seq


class LineText(NamedTuple):
    """A row as one line: `text` is what is shown; the time runs up to
    `host`, where the host's name starts in a merged view; `body` is where
    the part searched and highlighted starts, `message` where the message
    starts (the part coloured by priority)."""

    text: str
    host: int
    body: int
    message: int


class Match(NamedTuple):
    """One occurrence of the search text: visible row `index`, columns start..end."""

    index: int
    start: int
    end: int


class JournalView:
    """The newest `maxlen` journal rows of one or more hosts, and the ones shown.

    Only each host's newest boot is shown (the boot of its newest entry), so
    a live view shows the current boot even when the backlog reaches into
    the one before. While paused, `visible` stays as it was and `pending`
    counts the rows that will show on resume. `tag_width` > 0 starts each
    line with the host's name padded to that width (a merged view).
    """

    def __init__(self, maxlen: int, *, filter: JournalFilter | None = None, tag_width: int = 0) -> None:
        if maxlen <= 0:
            raise ValueError(f"maxlen must be positive, not {maxlen}")
        self.maxlen = maxlen
        self.tag_width = tag_width
        self.filter = filter or JournalFilter()
        self.rows: list[JournalRow] = []
        self.visible: list[JournalRow] = []
        self.pending = 0
        self._paused_after: int | None = None  # the last seq shown when the view was paused
        self._next_seq = 0
        self._newest: dict[str, JournalRow] = {}  # each host's newest row: its boot is the one shown
        self.newly_visible: list[JournalRow] | None = None
        """The rows the last add() put among the visible ones; None when it
        chose them all afresh (a new boot), so a reader measuring rows
        measures only the new ones."""

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def paused(self) -> bool:
        return self._paused_after is not None

    # --- rows ------------------------------------------------------------------

    def add(self, host: str, entries: Iterable[JournalEntry]) -> bool:
        """Take new entries of `host`, in any order, dropping the oldest rows
        beyond maxlen."""
        new_rows, dropped, boot_changed = self._insert(host, entries)
        self.newly_visible = None
        if self.paused:
            if boot_changed:
                self._count_pending()
            else:
                limit = self._paused_after
                self.pending += sum(map(self._shows, new_rows))
                self.pending -= sum(1 for row in dropped if row.seq > limit and self._shows(row))
            return False
        if boot_changed:
            return self._refilter()
        removed = 0
        if dropped:
            # Rows are dropped oldest first, so the visible ones among them
            # are at the front; new rows older than the last dropped went too.
            cutoff = _order(dropped[-1])
            removed = bisect.bisect_right(self.visible, cutoff, key=_order)
            del self.visible[:removed]
            new_rows = [row for row in new_rows if _order(row) > cutoff]
        shown = [row for row in new_rows if self._shows(row)]
        self.newly_visible = shown
        for row in shown:
            if self.visible and _order(row) < _order(self.visible[-1]):
                bisect.insort(self.visible, row, key=_order)
            else:
                self.visible.append(row)
        return bool(removed or shown)

    def replace_host(self, host: str, entries: Iterable[JournalEntry]) -> bool:
        """Forget every row of `host` and take `entries` instead (its buffer
        was cleared, or more came than a reader could take one by one)."""
        self.rows = [row for row in self.rows if row.host != host]
        self._newest.pop(host, None)
        self._insert(host, entries)
        if self.paused:
            self._count_pending()
            return False
        return self._refilter()

    def _insert(self, host: str, entries: Iterable[JournalEntry]) -> tuple[list[JournalRow], list[JournalRow], bool]:
        """Store entries as rows; returns the new rows, the rows dropped for
        room, and whether the host's newest boot changed."""
        new_rows: list[JournalRow] = []
        boot_changed = False
        for entry in entries:
            row = JournalRow(self._next_seq, host, entry)
            self._next_seq += 1
            newest = self._newest.get(host)
            if newest is None or _order(row) > _order(newest):
                boot_changed |= newest is not None and newest.entry.boot_id != entry.boot_id
                self._newest[host] = row
            if self.rows and _order(row) < _order(self.rows[-1]):
                bisect.insort(self.rows, row, key=_order)
            else:
                self.rows.append(row)
            new_rows.append(row)
        excess = len(self.rows) - self.maxlen
        dropped = self.rows[:excess] if excess > 0 else []
        del self.rows[: len(dropped)]
        for row in dropped:
            if self._newest.get(row.host) is row:  # the host's rows are all gone
                del self._newest[row.host]
        return new_rows, dropped, boot_changed

    # --- what shows --------------------------------------------------------------

    def set_filter(self, journal_filter: JournalFilter) -> bool:
        if journal_filter == self.filter:
            return False
        self.filter = journal_filter
        return self._refilter()

    def pause(self) -> None:
        if not self.paused:
            self._paused_after = self._next_seq - 1
            self.pending = 0

    def resume(self) -> bool:
        if not self.paused:
            return False
        self._paused_after = None
        return self._refilter()

    def _shows(self, row: JournalRow) -> bool:
        newest = self._newest.get(row.host)
        if newest is not None and row.entry.boot_id != newest.entry.boot_id:
            return False
        return self.filter.matches(row.entry)

    def _refilter(self) -> bool:
        """Choose the visible rows afresh; while paused, among those that came before the pause."""
        limit = self._paused_after
        self.visible = [row for row in self.rows if (limit is None or row.seq <= limit) and self._shows(row)]
        self._count_pending()
        return True

    def _count_pending(self) -> None:
        limit = self._paused_after
        self.pending = 0 if limit is None else sum(1 for row in self.rows if row.seq > limit and self._shows(row))

    def index_of(self, row: JournalRow) -> int:
        """Where `row` is among the visible rows or, gone, where it would be."""
        return bisect.bisect_left(self.visible, _order(row), key=_order)

    # --- lines and matches ---------------------------------------------------------

    def line(self, row: JournalRow) -> LineText:
        """A row as journalctl's short format shows it ("Mar 05 12:34:56
        sshd[702]: message"), with the host's name after the time in a
        merged view and control characters made visible."""
        entry = row.entry
        head = time.strftime(TIME_FORMAT, time.localtime(entry.timestamp))
        host = len(head)
        if self.tag_width:
            head += f"{row.host:<{self.tag_width}} "
        source = _source(entry)
        # _visible_text keeps lengths, so indexes into the raw text hold.
        text = head + _visible_text(source + entry.message)
        return LineText(text, host, len(head), len(head) + len(source))

    @property
    def head_width(self) -> int:
        """How many characters `line()` puts before the body: the time (as
        wide for every entry: numbers zero-padded, C-locale month names), and
        the host's tag in a merged view."""
        return TIME_WIDTH + (self.tag_width + 1 if self.tag_width else 0)

    def body(self, row: JournalRow) -> str:
        """The text `line()` shows after the head, without formatting the time
        (measuring every row of a flood must be cheap)."""
        return _visible_text(_source(row.entry) + row.entry.message)

    def spans(self, row: JournalRow) -> list[tuple[int, int]]:
        """Where the search text occurs in the row's line, after the time and host."""
        text, _, body, _ = self.line(row)
        return [(body + start, body + end) for start, end in self.filter.match_spans(text[body:])]

    def next_match(self, index: int, column: int = -1) -> Match | None:
        """The first match after `column` of visible row `index`, else in
        the rows below it, wrapping around to the top."""
        count = len(self.visible)
        if not self.filter.text or not count:
            return None
        index = min(max(index, 0), count - 1)
        for step in range(count + 1):
            at = (index + step) % count
            for start, end in self.spans(self.visible[at]):
                if step > 0 or start > column:
                    return Match(at, start, end)
        return None

    def previous_match(self, index: int, column: int | None = None) -> Match | None:
        """The last match before `column` (the end of the line if None) of
        visible row `index`, else in the rows above it, wrapping around to
        the bottom."""
        count = len(self.visible)
        if not self.filter.text or not count:
            return None
        index = min(max(index, 0), count - 1)
        for step in range(count + 1):
            at = (index - step) % count
            for start, end in reversed(self.spans(self.visible[at])):
                if step > 0 or column is None or start < column:
                    return Match(at, start, end)
        return None
