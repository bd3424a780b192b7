"""The host view and the split view: frozen layouts, then the live fleet."""

from __future__ import annotations

import time
from pathlib import Path

from screens.host import HostScreen
from screens.multihost import MultiHostScreen, grid_shape
from tests.fleet import TestFleet
from tests.frozen import frozen_app
from tests.screen import screen_text, wait_until
from tests.test_app import make_app


async def test_enter_opens_the_host_with_its_facts_metrics_and_journal_and_esc_goes_back() -> None:
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("down", "down", "down", "down")  # razer
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HostScreen) and app.screen.host == "razer"
        text = screen_text(app)
        for shown in ("razer · 192.0.2.1", "24.05.20240601.abcdef0 (Uakari) · kernel 6.6.32",
                      "3 current · 3 booted", "battery low: 12%, not charging", "CPU", "Mem",
                      "New session 4 of user root.", "live"):
            assert shown in text, shown
        await pilot.press("escape")
        assert not isinstance(app.screen, HostScreen)


async def test_the_host_view_shows_every_metric_when_there_is_room() -> None:
    app = frozen_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        app.open_host("razer")
        await pilot.pause()
        text = screen_text(app)
        for shown in ("load 0.93", "13.1 GiB of 32.0 GiB", "/boot", "200.0 GiB of 500.0 GiB", "↓", "Package id 0 71°C",
                      "BAT0 12% discharging", " 3 "):
            assert shown in text, shown


async def test_brackets_move_to_the_next_host_in_the_overview_order() -> None:
    app = frozen_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        app.open_host("p620")
        await pilot.pause()
        await pilot.press("right_square_bracket")
        assert app.screen.host == "razer"
        await pilot.press("right_square_bracket")
        assert app.screen.host == "dex5550"  # wraps around
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.screen.host == "p620"
        assert "reboot pending" in screen_text(app)
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "FleetScreen"


async def test_m_shows_marked_hosts_side_by_side() -> None:
    app = frozen_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("space", "down", "down", "space", "m")  # dex5550 and p620
        await pilot.pause()
        assert isinstance(app.screen, MultiHostScreen) and app.screen.hosts == ["dex5550", "p620"]
        text = screen_text(app)
        assert "1 failed unit: nginx.service" in text and "reboot pending" in text
        assert text.count("live") == 2
        await pilot.press("tab", "o")
        assert isinstance(app.screen, HostScreen) and app.screen.host == "p620"


def test_the_split_view_adapts_to_the_terminal_width() -> None:
    assert grid_shape(2, 80) == (1, 2)
    assert grid_shape(2, 160) == (2, 1)
    assert grid_shape(4, 80) == (2, 2)
    assert grid_shape(3, 60) == (1, 3)


async def test_the_palette_jumps_to_a_host() -> None:
    app = frozen_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"host: razer")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HostScreen) and app.screen.host == "razer"


async def test_a_live_host_view_shows_new_journal_entries_within_two_seconds(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.fleet["alpha"].facts is not None and len(app.fleet["alpha"].journal) > 0,
                         20, "alpha's facts and journal")
        app.open_host("alpha")
        await pilot.pause()
        facts = app.fleet["alpha"].facts
        assert f"{facts.current_generation} current" in screen_text(app)
        marker = f"hv-{time.time_ns() % 10**9}"  # short: the compact pane does not wrap
        fleet3.host("alpha").log(marker, priority=4, unit="sshd.service", identifier="sshd")
        started = time.monotonic()
        await wait_until(pilot, lambda: marker in screen_text(app), 5, "the live entry")
        assert time.monotonic() - started < 2.0, "a live entry took over 2 s to show"
