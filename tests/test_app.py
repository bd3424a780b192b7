"""The console app against the test fleet, driven with Textual's Pilot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from config.loader import load_settings
from console.app import NixdeckApp
from tests.fleet import HostSpec, TestFleet
from widgets.fleet_table import FleetTable


def make_app(fleet: TestFleet, tmp_path: Path) -> NixdeckApp:
    config = tmp_path / "app.toml"
    config.write_text(fleet.config_toml())
    settings, path = load_settings(config, {"refresh_interval": 0.5})
    return NixdeckApp(settings, config_path=path)


def row_text(table: FleetTable, host: str) -> str:
    return " ".join(str(cell) for cell in table.get_row(host))


async def wait_until(pilot, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


async def test_the_fleet_table_shows_every_host_live_and_q_quits(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(FleetTable)
        assert set(table.rows) == {"alpha", "beta", "gamma"}
        await wait_until(pilot, lambda: all(" up " in f" {row_text(table, h)} " for h in table.rows), 20, "all hosts up")
        await wait_until(pilot, lambda: "%" in row_text(table, "alpha").split("up", 1)[1], 10, "a CPU figure")
        await wait_until(pilot, lambda: "reboot pending" in row_text(table, "gamma"), 10, "gamma's facts")
        await wait_until(pilot, lambda: "76%" in row_text(table, "beta"), 10, "beta's battery")
        assert row_text(table, "gamma").split()[-1] == "1", "one failed unit on gamma"
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_a_host_that_drops_is_shown_down_then_up_again(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("delta", generations=3)])
    app = make_app(test_fleet, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(FleetTable)
        await wait_until(pilot, lambda: row_text(table, "delta").split()[1] == "up", 20, "delta up")
        await asyncio.to_thread(test_fleet.host("delta").kill)
        await wait_until(pilot, lambda: "down" in row_text(table, "delta"), 10, "delta shown down")
        assert "seen" in row_text(table, "delta")
        await asyncio.to_thread(test_fleet.host("delta").revive)
        await wait_until(pilot, lambda: row_text(table, "delta").split()[1] == "up", 15, "delta back up")
