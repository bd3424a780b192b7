"""The journal viewer against the test fleet, driven with Textual's Pilot.

What the viewer shows is compared with what the host's own journalctl says
(run inside the host), so "exactly the matching entries" means journalctl's
idea of matching.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from rich.color import ColorSystem
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from config.loader import load_settings
from console.app import NixdeckApp
from console.events import EngineEvent
from console.fleet import Fleet
from console.journalview import JournalFilter
from screens.fleet import FleetScreen
from screens.journal import JournalScreen
from screens.journal_entry import JournalEntryScreen
from tests.fleet import HostSpec, TestFleet, TestHost
from tests.frozen import frozen_app
from tests.screen import screen_lines, screen_text, wait_until
from tests.test_app import make_app
from widgets.journal_log import JournalLog
from widgets.journal_pane import JournalPane

# --- helpers ----------------------------------------------------------------------------------


def journalctl(host: TestHost, *args: str) -> list[dict]:
    """The host's journal as its own journalctl reads it (JSON objects)."""
    out = host.run(["journalctl", "-o", "json", "--no-pager", *args], check=False).stdout
    return [json.loads(line) for line in out.splitlines()]


def cursors(entries: list[dict]) -> list[str]:
    return [entry["__CURSOR"] for entry in entries]


def shown_cursors(log: JournalLog) -> list[str]:
    return [row.entry.cursor for row in log.view.visible]


def status(app: App) -> str:
    return str(app.screen.query_one("#journal-status").content)


async def open_journal(app: NixdeckApp, pilot, host: str | None) -> JournalLog:
    """Open the viewer once the hosts' backlogs are in; returns its log."""
    hosts = [host] if host else list(app.fleet.monitors)
    await wait_until(pilot, lambda: all(len(app.fleet[name].journal) > 0 for name in hosts), 20, "the backlog")
    app.push_screen(JournalScreen(app.fleet, host))
    await pilot.pause()
    log = app.screen.query_one(JournalLog)
    await wait_until(pilot, lambda: len(log.view) == sum(len(app.fleet[name].journal) for name in hosts), 5,
                     "the backlog in the viewer")
    return log


def segments_of(log: JournalLog, text: str) -> list[Segment]:
    """The segments of the screen line showing `text`."""
    for y in range(log.scrollable_content_region.height):
        strip = log.render_line(y)
        if text in strip.text:
            return list(strip)
    raise AssertionError(f"{text!r} is not on screen")


def style_of(log: JournalLog, line_text: str, part: str):
    """The style of the segment holding `part` on the screen line showing `line_text`."""
    for segment in segments_of(log, line_text):
        if part in segment.text:
            return segment.style
    raise AssertionError(f"{part!r} is not one segment of the line showing {line_text!r}")


# --- live ---------------------------------------------------------------------------------------


async def test_the_viewer_shows_the_backlog_then_follows_live(fleet3: TestFleet, tmp_path: Path) -> None:
    alpha = fleet3.host("alpha")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "alpha")
        assert shown_cursors(log) == cursors(journalctl(alpha, "-b"))
        seeded = [entry["MESSAGE"] for entry in alpha.seeded_entries]
        assert [row.entry.message for row in log.view.visible][: len(seeded)] == seeded
        assert "● live" in status(app)

        marker = f"live entry {uuid.uuid4()}"
        alpha.log(marker, priority=3)
        await wait_until(pilot, lambda: marker in screen_text(app), 2.0, "the live entry on screen")
        assert log.lines()[-1].endswith(f"nixdeck-test[4242]: {marker}")


async def test_pause_buffers_and_counts_then_resume_jumps_to_the_end(fleet3: TestFleet, tmp_path: Path) -> None:
    alpha = fleet3.host("alpha")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "alpha")
        await pilot.press("p")
        assert "paused · 0 new" in status(app)
        before = log.lines()
        markers = [f"while paused {n} {uuid.uuid4()}" for n in range(3)]
        for marker in markers:
            alpha.log(marker)
        await wait_until(pilot, lambda: "paused · 3 new" in status(app), 5, "three new entries counted")
        assert log.lines() == before and not any(m in screen_text(app) for m in markers)

        await pilot.press("space")
        assert "● live" in status(app)
        assert [line.split(": ", 1)[1] for line in log.lines()[-3:]] == markers
        await pilot.pause()
        assert log.screen_lines()[-1].endswith(markers[-1]), "the view jumped to the end"

        await pilot.press("p")
        alpha.log(marker := f"before End {uuid.uuid4()}")
        await wait_until(pilot, lambda: "paused · 1 new" in status(app), 5, "one new entry counted")
        await pilot.press("end")
        assert "● live" in status(app) and log.lines()[-1].endswith(marker)


# --- filters and search -----------------------------------------------------------------------------


async def test_filters_show_exactly_what_journalctl_matches(fleet3: TestFleet, tmp_path: Path) -> None:
    # gamma has errors, a failed nginx and a previous boot the live view must leave out.
    gamma = fleet3.host("gamma")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "gamma")
        assert shown_cursors(log) == cursors(journalctl(gamma, "-b"))
        assert not {row.entry.boot_id for row in log.view.visible} & {gamma.previous_boot_id}

        await pilot.press("l", "l", "l")  # all levels -> info -> notice -> warning
        warnings = journalctl(gamma, "-b", "--priority=warning")
        assert shown_cursors(log) == cursors(warnings)
        assert len(warnings) < len(journalctl(gamma, "-b")) and any(e["PRIORITY"] == "3" for e in warnings)
        assert "≤warning" in status(app)
        await pilot.press(*"lllll")  # -> err, crit, alert, emerg, all levels again

        await pilot.press("u", *"sshd", "enter")
        assert shown_cursors(log) == cursors(journalctl(gamma, "-b", "--unit=sshd.service"))
        assert "unit sshd.service" in status(app)
        await pilot.press("u", "backspace", "enter")
        assert shown_cursors(log) == cursors(journalctl(gamma, "-b"))

        await pilot.press("slash", *"SESSION", "enter")
        sessions = journalctl(gamma, "-b", "--grep=session", "--case-sensitive=false")
        assert len(sessions) >= 4 and shown_cursors(log) == cursors(sessions)
        assert f"{len(sessions)}/" in status(app) and "“SESSION”" in status(app)


async def test_search_highlights_matches_and_n_and_shift_n_move_between_them(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "alpha")
        await pilot.press("slash", *"session", "enter")
        lines = log.lines()
        assert len(lines) >= 4 and all("session" in line.lower() for line in lines)
        # Every occurrence on screen is highlighted, and nothing else.
        for line in lines:
            highlighted = [s.text for s in segments_of(log, line) if s.style and s.style.underline]
            assert [text.lower() for text in highlighted] == ["session"] * line.lower().count("session")

        def current() -> tuple[int, str]:
            match = log.current_match
            assert match is not None
            row, start, end = match
            text = log.view.line(row).text
            assert text[start:end].lower() == "session"
            return log.view.index_of(row), text

        await pilot.press("n")  # from the cursor on the newest row: its match
        assert current()[0] == len(lines) - 1
        last_line = current()[1]
        await pilot.press("n")  # past the last match: back to the first
        assert current()[0] == 0
        await pilot.press("n")
        assert current()[0] == 1
        await pilot.press("N", "N")
        assert current() == (len(lines) - 1, last_line)
        # The current match stands out from the others: bold on a background.
        row, start, end = log.current_match
        matched = log.view.line(row).text[start:end]
        style = style_of(log, last_line, matched)
        assert style.bold and style.bgcolor is not None


async def test_priorities_are_coloured_as_journalctl_colours_them(fleet3: TestFleet, tmp_path: Path) -> None:
    alpha = fleet3.host("alpha")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        log = await open_journal(app, pilot, "alpha")
        tag = uuid.uuid4().hex[:8]
        for priority in range(8):
            alpha.log(f"colour {tag} at {priority}", priority=priority)
        await wait_until(pilot, lambda: f"colour {tag} at 7" in screen_text(app), 5, "the coloured lines")
        await pilot.press(*["up"] * 8)  # the cursor (reverse video) off the lines looked at

        def style(priority: int):
            text = f"colour {tag} at {priority}"
            return style_of(log, text, text)

        def rgb(priority: int):
            return style(priority).color.get_truecolor()

        for priority in (0, 1, 2, 3):
            red, green, blue = rgb(priority)
            assert style(priority).bold and red > 2 * max(green, blue), priority
        red, green, blue = rgb(4)
        assert style(4).bold and min(red, green) > 2 * blue
        plain = log.rich_style.color  # the log's own text colour
        assert style(5).bold and style(5).color == plain
        assert not style(6).bold and style(6).color == plain and not style(6).reverse
        red, green, blue = rgb(7)
        assert max(red, green, blue) - min(red, green, blue) < 20, "debug is grey"
        # On a 16-colour console (TERM=linux) they come out as its red, yellow and grey.
        standard = [style(priority).color.downgrade(ColorSystem.STANDARD).number for priority in (3, 4, 7)]
        assert standard[0] in (1, 9) and standard[1] in (3, 11) and standard[2] in (7, 8), standard


# --- boots and hosts ------------------------------------------------------------------------------


async def test_the_previous_boot_shows_the_crash_and_not_the_current_boot(fleet3: TestFleet, tmp_path: Path) -> None:
    beta = fleet3.host("beta")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "beta")
        await pilot.press("b")  # "loading previous boot…" meanwhile, too briefly to catch here
        await wait_until(pilot, lambda: "loading" not in status(app), 10, "the previous boot")
        assert "previous boot" in status(app)
        assert shown_cursors(log) == cursors(journalctl(beta, "--boot=-1"))
        assert [row.entry.message for row in log.view.visible] == [e["MESSAGE"] for e in beta.previous_boot_entries]
        assert {row.entry.boot_id for row in log.view.visible} == {beta.previous_boot_id}
        assert "Kernel panic - not syncing" in screen_text(app)

        await pilot.press("b")
        assert "● live" in status(app)
        assert shown_cursors(log) == cursors(journalctl(beta, "-b"))

        app.pop_screen()
        await open_journal(app, pilot, "alpha")
        await pilot.press("b")
        await wait_until(pilot, lambda: "loading" not in status(app), 10, "alpha's previous boot")
        assert "no previous boot in this host's journal" in status(app)
        assert app.screen.query_one(JournalLog).lines() == []


async def test_the_merged_view_tags_each_line_with_its_host(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, None)
        expected = {(host.name, cursor) for host in fleet3.hosts for cursor in cursors(journalctl(host, "-b"))}
        assert {(row.host, row.entry.cursor) for row in log.view.visible} == expected
        for row, line in zip(log.view.visible, log.lines(), strict=True):
            assert line[16:22] == f"{row.host:<5} "
        timestamps = [row.entry.timestamp for row in log.view.visible]
        assert timestamps == sorted(timestamps)

        tag = uuid.uuid4().hex[:8]
        fleet3.host("gamma").log(f"merged {tag} from gamma")
        fleet3.host("beta").log(f"merged {tag} from beta")
        await wait_until(pilot, lambda: f"merged {tag} from beta" in screen_text(app), 5, "both entries")
        assert any(line[16:22] == "gamma " and line.endswith(f"merged {tag} from gamma") for line in log.lines())
        assert any(line[16:22] == "beta  " and line.endswith(f"merged {tag} from beta") for line in log.lines())

        await pilot.press("h")  # all hosts -> alpha
        await pilot.pause()
        assert {row.host for row in log.view.visible} == {"alpha"} and "alpha" not in log.lines()[0][16:22]


# --- one entry -------------------------------------------------------------------------------------


async def test_enter_opens_every_field_of_the_entry_and_escape_closes_it(fleet3: TestFleet, tmp_path: Path) -> None:
    alpha = fleet3.host("alpha")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "alpha")
        marker = f"fields {uuid.uuid4()}"
        alpha.log(marker, priority=4, extra={"NIXDECK_LINES": "two\nlines", "NIXDECK_RAW": b"\x00\xff"})
        await wait_until(pilot, lambda: log.lines() and log.lines()[-1].endswith(marker), 5, "the entry")
        # The live stream carries a line's fields; the rest is read on opening.
        assert "NIXDECK_LINES" not in log.cursor_row.entry.fields
        await pilot.press("enter")
        assert isinstance(app.screen, JournalEntryScreen)
        await wait_until(pilot, lambda: "NIXDECK_LINES" in app.screen.entry.fields, 5, "every field")
        entry = app.screen.entry
        assert entry.message == marker
        truth = next(e for e in journalctl(alpha, "-b") if e["MESSAGE"] == marker)
        table = app.screen.query_one(DataTable)
        assert {key.value for key in table.rows} == set(entry.fields) == set(truth)
        for name, value in entry.fields.items():
            assert [str(cell) for cell in table.get_row(name)] == [name, value]
        assert entry.fields["NIXDECK_LINES"] == "two\nlines"
        assert entry.fields["MESSAGE"] == marker and entry.fields["PRIORITY"] == "4"
        assert "MESSAGE" in screen_text(app) and marker in screen_text(app)

        await pilot.press("escape")
        assert isinstance(app.screen, JournalScreen)


# --- size, keys and focus -----------------------------------------------------------------------------


async def test_the_panes_keys_type_into_the_search_box_when_it_has_focus() -> None:
    app = frozen_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.open_journal(None)
        await pilot.pause()
        await pilot.press("slash", "p", "w", "space", "x")
        assert app.screen.query_one("#journal-search", Input).value == "pw x"
        status = str(app.screen.query_one("#journal-status").content)
        assert "live" in status and "paused" not in status and "wrapped" not in status


async def test_at_80x24_the_filter_bar_status_and_keys_fit_and_long_lines_wrap_on_w(
    fleet3: TestFleet, tmp_path: Path
) -> None:
    alpha = fleet3.host("alpha")
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_journal(app, pilot, "alpha")
        long_marker = f"long {uuid.uuid4()} " + "x" * 120 + " END-OF-LONG-LINE"
        alpha.log(long_marker)
        await wait_until(pilot, lambda: long_marker[:40] in screen_text(app), 5, "the long line")
        lines = screen_lines(app)
        assert len(lines) == 24
        assert "alpha" in lines[1] and "all levels" in lines[1] and "unit" in lines[1] and "search" in lines[1]
        assert "● live" in lines[-2]
        for key in ("p Pause", "/ Find", "n Next", "w Wrap", "⏎ Entry", "l Prio", "b Boot", "h Host", "esc Back", "q Quit", "? Keys"):
            assert key in lines[-1], f"{key!r} missing from the footer {lines[-1]!r}"
        assert "END-OF-LONG-LINE" not in screen_text(app), "one line per entry, cut at the edge"

        await pilot.press("w")
        assert "END-OF-LONG-LINE" in screen_text(app), "wrapped: the whole entry shows"
        await pilot.press("w")
        assert "END-OF-LONG-LINE" not in screen_text(app)

        await pilot.press("slash")
        assert app.screen.focused is not None and app.screen.focused.id == "journal-search"
        await pilot.press("escape")
        assert isinstance(app.screen, JournalScreen) and isinstance(app.screen.focused, JournalLog)
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)


# --- a flood --------------------------------------------------------------------------------------------


async def test_a_flood_stays_bounded_and_keys_still_work(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("flooded", generations=3)])
    host = test_fleet.host("flooded")
    app = make_app(test_fleet, tmp_path)
    total = 20_000
    async with app.run_test(size=(100, 30)) as pilot:
        log = await open_journal(app, pilot, "flooded")
        monitor = app.fleet["flooded"]
        buffer = monitor.journal.maxlen
        flood = host.flood(5000, total=total)
        try:
            await wait_until(pilot, lambda: len(monitor.journal) == buffer, 20, "a full buffer")
            await pilot.press("p")
            await wait_until(pilot, lambda: "paused" in status(app), 10, "the pause while flooding")
            await wait_until(pilot, lambda: f"/{total - 1} " in list(monitor.journal)[-1].message, 30, "the flood's end")
        finally:
            await asyncio.to_thread(flood.stop)
        assert len(monitor.journal) == buffer and len(log.view) <= buffer
        assert 0 < log.view.pending <= buffer
        await pilot.press("p")
        assert "● live" in status(app)
        assert len(log.lines()) <= buffer and f"/{total - 1} " in log.lines()[-1]
        await pilot.pause()
        assert f"/{total - 1} " in screen_text(app)


# --- embedded ---------------------------------------------------------------------------------------------


class PaneApp(App[None]):
    """A compact pane alone, fed the way NixdeckApp feeds its screens."""

    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet

    def compose(self) -> ComposeResult:
        yield JournalPane(self.fleet, "alpha", compact=True)

    def on_mount(self) -> None:
        self.fleet.subscribe(self._forward)
        self.fleet.start()

    def _forward(self, event: EngineEvent) -> None:
        self.query_one(JournalPane).hosts_changed([event.host])

    async def on_unmount(self) -> None:
        await self.fleet.stop()


async def test_a_compact_pane_is_the_live_log_and_its_status_alone(fleet3: TestFleet, tmp_path: Path) -> None:
    alpha = fleet3.host("alpha")
    config = tmp_path / "pane.toml"
    config.write_text(fleet3.config_toml(hosts=[alpha]))
    settings, _ = load_settings(config, {"refresh_interval": 0.5})
    app = PaneApp(Fleet(settings))
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(JournalPane)
        assert not pane.query("#journal-filters")
        await wait_until(pilot, lambda: len(pane.log.view) > 0, 20, "the backlog")
        alpha.log(marker := f"compact {uuid.uuid4().hex[:8]}")
        await wait_until(pilot, lambda: marker in screen_text(app), 5, "the live entry")
        assert "● live" in screen_lines(app)[-1]
        pane.log.focus()
        await pilot.press("b", "h", "l")  # no filter bar: these do nothing
        assert not pane.previous_boot and pane.host == "alpha" and pane.log.view.filter == JournalFilter()
        await pilot.press("w")
        assert "wrapped" in screen_lines(app)[-1]

        # What the engine says went wrong with the host's journal shows on the status line.
        app.fleet["alpha"].journal_error = "journalctl exited with status 1: No journal files were found."
        pane.hosts_changed(["alpha"])
        await pilot.pause()
        assert "No journal files were found." in screen_lines(app)[-1]
