"""The journal's lines, drawn with Textual's line API.

A JournalLog draws the visible rows of a JournalView (console/journalview.py).
Only the lines on screen are rendered, each row once (an LRU cache of
Strips keyed by the row), and a new row is measured once, so a flood of
entries costs a few lines per refresh however long the buffer is.

Rows reach the view through this widget (add, replace_host, set_filter...)
so that it knows what changed: it keeps following the end when it was there,
and otherwise keeps the cursor and the top line on the rows they were on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.journalview import JournalFilter, JournalRow, JournalView, LineText, Match
from console.model import JournalEntry

# Rendered rows kept: a few screens' worth, so scrolling back and forth is
# cheap. Few, for a Strip carries seven caches of its own: a thousand kept
# strips were a third of the objects a full garbage collection walks, which
# in a flood paused the UI for 100-150 ms.
STRIP_CACHE_ROWS = 256


def priority_class(priority: int) -> str | None:
    """The component class of a message at `priority`, coloured as journalctl
    colours it (systemd's get_log_colors): err and above highlighted red,
    warning highlighted yellow, notice highlighted, debug grey, info plain."""
    if priority <= 3:
        return "journal-log--error"
    if priority == 4:
        return "journal-log--warning"
    if priority == 5:
        return "journal-log--notice"
    if priority >= 7:
        return "journal-log--debug"
    return None


class JournalLog(ScrollView, can_focus=True):
    """Journal rows with a cursor, following the newest unless told otherwise."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "journal-log--time",
        "journal-log--host",
        "journal-log--error",
        "journal-log--warning",
        "journal-log--notice",
        "journal-log--debug",
        "journal-log--match",
        "journal-log--current-match",
        "journal-log--cursor",
    }

    # ANSI colours and text styles only, so that a 16-colour console
    # (TERM=linux) shows them as journalctl would.
    DEFAULT_CSS = """
    JournalLog {
        background: $surface;
        overflow: auto auto;
        & > .journal-log--time { color: ansi_bright_black; }
        & > .journal-log--host { color: ansi_cyan; text-style: bold; }
        & > .journal-log--error { color: ansi_red; text-style: bold; }
        & > .journal-log--warning { color: ansi_yellow; text-style: bold; }
        & > .journal-log--notice { text-style: bold; }
        & > .journal-log--debug { color: ansi_bright_black; }
        & > .journal-log--match { text-style: underline reverse; }
        & > .journal-log--current-match { color: ansi_black; background: ansi_yellow; text-style: bold; }
        & > .journal-log--cursor { text-style: reverse; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # The log's own, as a ScrollView binds end to scrolling; the pane
        # has the other keys that change its status line (see JournalPane).
        Binding("end", "follow", "End", show=False),
        Binding("G", "follow", "End", show=False),
        Binding("n", "match(1)", "Next"),
        Binding("N", "match(-1)", "Previous", show=False),
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
    ]

    def __init__(self, view: JournalView, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._view = view
        self.wrap = False
        self.following = True
        """Keep the cursor on the newest row and the newest row in sight."""
        self._cursor = -1  # index into view.visible; -1 when nothing shows
        self._match: tuple[JournalRow, int, int] | None = None  # the current search match
        self._cells: dict[int, int] = {}  # wrapped: cell width of each visible row's line, by row seq
        self._widest = 0  # unwrapped: the widest line measured
        self._measured_seq = -1  # unwrapped: the newest row measured
        self._line_starts: list[int] = [0]  # wrapped: first screen line of each visible row, then the total
        self._strips: LRUCache[int, Strip] = LRUCache(STRIP_CACHE_ROWS)

    # --- the view ----------------------------------------------------------------------

    @property
    def view(self) -> JournalView:
        return self._view

    @view.setter
    def view(self, view: JournalView) -> None:
        """Show another view (another host, another boot) from its end."""
        self._view = view
        self._match = None
        self._strips.clear()
        self._forget_widths()
        self.following = True
        self._update(lambda: True, to_end=True)

    @property
    def cursor_row(self) -> JournalRow | None:
        visible = self._view.visible
        return visible[self._cursor] if 0 <= self._cursor < len(visible) else None

    def add(self, host: str, entries: Iterable[JournalEntry]) -> None:
        self._update(lambda: self._view.add(host, entries), added=True)

    def replace_host(self, host: str, entries: Iterable[JournalEntry]) -> None:
        self._forget_widths()
        self._update(lambda: self._view.replace_host(host, entries))

    def set_filter(self, journal_filter: JournalFilter) -> None:
        if journal_filter.text != self._view.filter.text:
            self._match = None
            self._strips.clear()  # the highlighted matches change
        self._forget_widths()
        self._update(lambda: self._view.set_filter(journal_filter))

    def pause(self) -> None:
        self._view.pause()

    def resume(self) -> None:
        """Show what waited and jump to the end."""
        self.following = True
        self._update(self._view.resume)

    # --- what is on screen ---------------------------------------------------------------

    def lines(self) -> list[str]:
        """The text of every visible row, top to bottom, as the log draws it."""
        return [self._view.line(row).text for row in self._view.visible]

    def screen_lines(self) -> list[str]:
        """The lines on screen now, as plain text."""
        return [self.render_line(y).text.rstrip() for y in range(self.scrollable_content_region.height)]

    def _update(self, change: Callable[[], bool], *, to_end: bool = False, added: bool = False) -> None:
        """Apply `change` to the view (it returns whether the visible rows
        changed), then put the cursor and the scroll position back: at the
        end if following, else on the rows they were on. `added`: the change
        only added rows, so only those need measuring."""
        stick = to_end or (self.following and not self.is_vertical_scrollbar_grabbed)
        cursor_row = self.cursor_row
        top_row, top_offset = self._row_at(round(self.scroll_y))
        if not change():
            return
        self._measure(self._view.newly_visible if added else None)
        visible = self._view.visible
        if stick or not visible:
            self._cursor = len(visible) - 1
            self._scroll(y=self.max_scroll_y)
        else:
            if cursor_row is not None:
                self._cursor = min(self._view.index_of(cursor_row), len(visible) - 1)
            if top_row is not None:
                top = min(self._view.index_of(top_row), len(visible) - 1)
                self._scroll(y=self._line_starts_at(top) + top_offset)
        self.refresh()

    def _measure(self, new_rows: list[JournalRow] | None = None) -> None:
        """The virtual size and, when wrapping, where each row starts on screen.

        Unwrapped, only the widest line matters: the rows not yet measured
        (`new_rows` when the caller knows them) are measured and the widest
        width is kept (it never shrinks while this view and filter last).
        Rebuilding a width table of every row for each batch cost the most CPU
        in a 5,000 lines/s flood. Wrapped, every row's height counts, so all
        are measured (once each).
        """
        visible = self._view.visible
        if self.wrap:
            widths = self._cells
            self._cells = {row.seq: widths.get(row.seq) or self._line_width(row) for row in visible}
            width = max(self.scrollable_content_region.width, 1)
            heights = (max(1, -(-cells // width)) for cells in self._cells.values())
            self._line_starts = list(accumulate(heights, initial=0))
            self.virtual_size = Size(width, self._line_starts[-1])
            return
        measured = self._measured_seq
        unmeasured = new_rows if new_rows is not None else (row for row in visible if row.seq > measured)
        for row in unmeasured:
            self._widest = max(self._widest, self._line_width(row))
            self._measured_seq = max(self._measured_seq, row.seq)
        self.virtual_size = Size(self._widest, len(visible))

    def _line_width(self, row: JournalRow) -> int:
        body = self._view.body(row)
        # Printable ASCII (control characters are already made visible) is
        # one cell a character; rich's cell_len walks the string.
        return self._view.head_width + (len(body) if body.isascii() else cell_len(body))

    def _forget_widths(self) -> None:
        """Measure afresh: the rows shown are no longer those measured."""
        self._cells = {}
        self._widest = 0
        self._measured_seq = -1

    def _line_starts_at(self, index: int) -> int:
        return self._line_starts[index] if self.wrap else index

    def _row_at(self, line: int) -> tuple[JournalRow | None, int]:
        """The row drawn on screen line `line` (of the whole log) and which of its lines that is."""
        visible = self._view.visible
        if not visible:
            return None, 0
        if not self.wrap:
            index = min(line, len(visible) - 1)
            return visible[index], 0
        index = min(bisect_right(self._line_starts, line) - 1, len(visible) - 1)
        return visible[index], line - self._line_starts[index]

    # --- drawing -------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def on_resize(self) -> None:
        # The first size comes after the first rows: only now can the end be scrolled to.
        self._update(lambda: True)

    def on_click(self, event: events.Click) -> None:
        row, _ = self._row_at(round(self.scroll_y) + event.y)
        if row is not None:
            self._move_cursor(self._view.index_of(row))

    def on_mouse_scroll_up(self) -> None:
        self.following = False  # reading back: new rows must not pull the view down

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        row, sub_line = self._row_at(line)
        if row is None or line >= self.virtual_size.height:
            return Strip.blank(width, base)
        strip = self._row_strip(row)
        if self.wrap:
            strip = strip.crop_extend(sub_line * width, (sub_line + 1) * width, base)
        else:
            strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if row is self.cursor_row and self.has_focus:
            strip = strip.apply_style(self.get_component_rich_style("journal-log--cursor"))
        return strip

    def _row_strip(self, row: JournalRow) -> Strip:
        """A row's whole line, styled; the current match's row is drawn afresh."""
        current = self._match if self._match is not None and self._match[0] is row else None
        if current is None and (cached := self._strips.get(row.seq)) is not None:
            return cached
        line = self._view.line(row)
        segments = self._plain_segments(row, line)
        spans = self._view.spans(row)
        if spans or current is not None:
            # Matches are laid over the plain styles through rich Text.
            style = self.get_component_rich_style
            text = Text.assemble(*((segment.text, segment.style) for segment in segments), no_wrap=True, end="")
            match_style = style("journal-log--match")
            for start, end in spans:
                text.stylize(match_style, start, end)
            if current is not None:
                text.stylize(style("journal-log--current-match"), current[1], current[2])
            segments = list(text.render(self.app.console))
        strip = Strip(segments, cell_len(line.text))
        if current is None:
            self._strips[row.seq] = strip
        return strip

    def _plain_segments(self, row: JournalRow, line: LineText) -> list[Segment]:
        """A row's styles (time, host, priority) as segments made directly:
        rendering rich Text for every line of every repaint was most of what
        a flood cost to draw."""
        base = self.rich_style
        style = self.get_component_rich_style
        text = line.text
        segments = [Segment(text[:line.host], base + style("journal-log--time"))]
        if line.body > line.host:
            segments.append(Segment(text[line.host:line.body - 1], base + style("journal-log--host")))
            segments.append(Segment(text[line.body - 1:line.body], base))
        name = priority_class(row.entry.priority)
        segments.append(Segment(text[line.body:line.message], base))
        segments.append(Segment(text[line.message:], base + style(name) if name is not None else base))
        return [segment for segment in segments if segment.text]

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- moving about -------------------------------------------------------------------------

    def _scroll(self, *, x: float | None = None, y: float | None = None) -> None:
        # Forced: the scrollbars catch up with a new virtual size only at the
        # next layout, and until then scrolling would be refused.
        self.scroll_to(x=x, y=y, animate=False, immediate=True, force=True)

    def _move_cursor(self, index: int) -> None:
        visible = self._view.visible
        if not visible:
            return
        self._cursor = min(max(index, 0), len(visible) - 1)
        self.following = self._cursor == len(visible) - 1
        self._show_line(self._line_starts_at(self._cursor))
        self.refresh()

    def _show_line(self, line: int, column: int | None = None) -> None:
        """Scroll just enough for screen line `line` (and, unwrapped, `column`) to be in sight."""
        height = self.scrollable_content_region.height
        width = self.scrollable_content_region.width
        y = self.scroll_y
        if line < y:
            y = line
        elif line >= y + height:
            y = line - height + 1
        x = self.scroll_x
        if column is not None and (column < x or column >= x + width):
            x = max(0, column - width // 3)
        self._scroll(x=x, y=y)

    def action_cursor(self, step: int) -> None:
        self._move_cursor(self._cursor + step)

    def action_page(self, direction: int) -> None:
        self._move_cursor(self._cursor + direction * max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self._move_cursor(0)
        self._scroll(x=0)

    class Followed(Message):
        """End resumed the log or moved it to the newest row."""

    def action_follow(self) -> None:
        self.follow()
        self.post_message(self.Followed())

    def follow(self) -> None:
        """Resume if paused, and follow the newest row."""
        if self._view.paused:
            self.resume()
        else:
            self.following = True
            self._move_cursor(len(self._view.visible) - 1)
            self._scroll(y=self.max_scroll_y)

    def toggle_pause(self) -> None:
        if self._view.paused:
            self.resume()
        else:
            self.pause()

    def toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self._forget_widths()
        self._scroll(x=0)
        self._update(lambda: True)
        if self.cursor_row is not None and not self.following:
            self._show_line(self._line_starts_at(self._cursor))

    def action_match(self, step: int) -> None:
        """The next (step 1) or previous (-1) occurrence of the search text,
        from the current one or else from the cursor."""
        find = self._view.next_match if step > 0 else self._view.previous_match
        if self._match is not None:
            self._go_to_match(find(self._view.index_of(self._match[0]), self._match[1]))
        else:
            self._go_to_match(find(max(self._cursor, 0)))

    def _go_to_match(self, found: Match | None) -> None:
        if found is None:
            self.app.bell()
            return
        row = self._view.visible[found.index]
        self._match = (row, found.start, found.end)
        self._cursor = found.index
        self.following = False
        line = self._view.line(row).text
        column = cell_len(line[: found.start])
        if self.wrap:
            width = max(self.scrollable_content_region.width, 1)
            self._show_line(self._line_starts[found.index] + column // width)
        else:
            self._show_line(found.index, column)
        self.refresh()

    @property
    def current_match(self) -> tuple[JournalRow, int, int] | None:
        """The match n/N moved to last: its row and its start and end in the row's line."""
        return self._match
