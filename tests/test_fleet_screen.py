"""The fleet overview with frozen data: layout at 80x24 and wider, sorting,
filtering, marking, and the plain-terminal fallbacks."""

from __future__ import annotations

import pytest

from console.app import NixdeckApp
from console.audit import AuditLog
from tests.frozen import frozen_app
from tests.screen import screen_lines, screen_text
from widgets.fleet_table import COLUMNS, ESSENTIAL, FleetTable, fitting_columns

ESSENTIAL_HEADERS = ["Host", "State", "CPU", "Mem", "Disk", "Gen", "Alerts"]


def row_of(app: NixdeckApp, host: str) -> str:
    """The host's table row: the first line naming it (the alerts list is below)."""
    return next(line for line in screen_lines(app) if f" {host} " in line)


async def test_at_80x24_every_essential_column_and_alert_is_on_screen() -> None:
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert all(len(line) == 80 for line in lines)
        header = next(line for line in lines if " Host " in line)
        for label in ESSENTIAL_HEADERS:
            assert f" {label} " in f"{header} ", f"{label} missing from {header!r}"
        dex = row_of(app, "dex5550")
        assert "50%" in dex and "46%" in dex and "93%" in dex and "1 failed" in dex
        assert "down 2 min" in row_of(app, "lab-nas")
        assert "unknown key" in row_of(app, "new-laptop")
        assert "reboot" in row_of(app, "p620")
        assert "bat 12%" in row_of(app, "razer")
        # The alerts list says everything in full, the fingerprint included
        # (it may wrap, so compare without the line breaks).
        flat = "".join(line.strip() for line in lines)
        assert "SHA256:Vq1yPjk0n1Jd7rN4cNoWnQ3fX0pZbq5m2oT8hYc6e2E" in flat.replace(" ", "")
        assert "down: connection refused, last seen 2 min ago, retrying in 8 s" in screen_text(app)
        assert "reboot pending: running generation 6, booted generation 5" in screen_text(app)


async def test_a_wide_terminal_shows_every_column() -> None:
    app = frozen_app()
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        assert table.visible_columns == [column.key for column in COLUMNS]
        razer = row_of(app, "razer")
        for figure in ("12%-", "71°", "24.05", "3d2h"):
            assert figure in razer


def test_narrow_terminals_drop_optional_columns_first() -> None:
    essential = [c.key for c in COLUMNS if c.priority == ESSENTIAL]
    assert [c.key for c in fitting_columns(40, 10)] == essential
    at_80 = [c.key for c in fitting_columns(78, 10)]
    assert set(essential) < set(at_80) and "cpu_history" in at_80 and "nixos" not in at_80


async def test_s_cycles_the_sort_column_and_a_header_click_sorts_by_it() -> None:
    app = frozen_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        assert table.shown_hosts == ["dex5550", "lab-nas", "new-laptop", "p620", "razer"]
        await pilot.press("s")  # state, worst first
        assert table.shown_hosts[:2] == ["lab-nas", "new-laptop"]
        assert "sort: state ↓" in screen_text(app)
        await pilot.press("s")  # cpu, busiest first
        assert table.shown_hosts[:3] == ["dex5550", "razer", "p620"]
        shown = [line.split()[0] for line in screen_lines(app) if " up " in line and not line.lstrip().startswith("3/5")]
        assert shown[:3] == ["dex5550", "razer", "p620"]
        await pilot.press("S")
        assert table.shown_hosts[0] == "p620"
        header_row = next(index for index, line in enumerate(screen_lines(app)) if " Disk " in line)
        disk_x = screen_lines(app)[header_row].index(" Disk ") + 2
        await pilot.click(FleetTable, offset=(disk_x, 0))
        await pilot.pause()
        assert table.shown_hosts[0] == "dex5550" and "sort: disk ↓" in screen_text(app)


async def test_the_cursor_stays_on_its_host_when_rows_move() -> None:
    app = frozen_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        await pilot.press("down", "down", "down")
        assert table.highlighted_host == "p620"
        await pilot.press("s", "s")
        assert table.highlighted_host == "p620"


async def test_slash_filters_by_name_or_tag_and_escape_clears() -> None:
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        await pilot.press("slash", *"laptop")
        assert table.shown_hosts == ["new-laptop", "razer"]
        assert "filter: 'laptop' (2 of 5)" in screen_text(app)
        await pilot.press("enter")
        assert app.focused is table
        await pilot.press("slash", "ctrl+u", *"p62")
        assert table.shown_hosts == ["p620"]
        await pilot.press("escape")
        assert len(table.shown_hosts) == 5 and "filter:" not in screen_text(app)


async def test_space_marks_hosts_for_the_split_view() -> None:
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        await pilot.press("space", "down", "down", "space")
        assert table.marked == {"dex5550", "p620"}
        assert row_of(app, "p620").lstrip().startswith("▌")


async def test_question_mark_lists_the_keys() -> None:
    app = frozen_app()
    async with app.run_test(size=(120, 40)) as pilot:  # tall enough for the whole list
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        # Short footer labels; the help says more (a binding's tooltip, dim after it).
        for description in ("Open", "Log journal viewer", "Filter", "Sort", "Split", "Gens generations", "Audit log",
                            "Quit", "palette"):
            assert description in text


async def test_the_linux_console_gets_ascii_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "linux")
    app = frozen_app()
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        rows = "\n".join(row_of(app, host) for host in ("dex5550", "p620", "razer"))
        assert not set(rows) & set("▁▂▃▄▅▆▇█⠋")
        assert set(rows) & set("_.-=+*#")


async def test_at_80_columns_every_footer_shows_its_screens_keys_and_quit_and_help(tmp_path) -> None:
    app = frozen_app(AuditLog(tmp_path / "audit.sqlite3"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footers = {"fleet": screen_lines(app)[-1]}
        for screen, keys in (("host", ["enter"]), ("host generations", ["g"]),
                             ("fleet generations", ["escape", "escape", "g"]), ("audit", ["escape", "A"])):
            await pilot.press(*keys)
            await pilot.pause()
            footers[screen] = screen_lines(app)[-1]
        for screen, keys in {"fleet": ("⏎ Open", "j Log", "J All logs", "space Mark", "m Split", "/ Filter",
                                       "s Sort", "g Gens"),
                             "host": ("esc Back", "] Next host", "[ Previous host", "j Journal viewer", "g Gens"),
                             "host generations": ("esc Back", "r Refresh", "] Next", "[ Prev", "c Clean up",
                                                  "b Roll back"),
                             "fleet generations": ("⏎ Open", "esc Back", "r Refresh", "c Clean up"),
                             "audit": ("⏎ Details", "esc Back", "/ Search", "h Host", "o Outcome",
                                       "r Refresh")}.items():
            for key in (*keys, "q Quit", "? Keys"):
                assert key in footers[screen], f"{key!r} missing from the {screen} footer {footers[screen]!r}"
        assert "] Next" not in footers["fleet generations"] and "Roll back" not in footers["fleet generations"]
