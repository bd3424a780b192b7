"""The console app against the test fleet, driven with Textual's Pilot and
checked on what the screen shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config.loader import CONFIG_ERROR_EXIT, load_settings, read_config
from console.app import NixdeckApp
from screens.fleet import FleetScreen
from screens.starting import StartingScreen
from tests.fleet import HostSpec, TestFleet
from tests.screen import screen_lines, screen_text, wait_until
from widgets.fleet_table import FleetTable


def make_app(fleet: TestFleet, tmp_path: Path, **overrides: object) -> NixdeckApp:
    config = tmp_path / "app.toml"
    config.write_text(fleet.config_toml())
    settings, path = load_settings(config, {"refresh_interval": 0.5, **overrides})
    return NixdeckApp(settings, config_path=path)


def row(app: NixdeckApp, host: str) -> list[str]:
    """The words of the host's row in the fleet table, as shown."""
    return app.screen.query_one(FleetTable).rendered_row(host).split()


def state(app: NixdeckApp, host: str) -> str:
    return " ".join(row(app, host)[1:3])


async def test_every_host_shows_live_values_that_change(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.screen.query_one(FleetTable)
        assert set(table.shown_hosts) == {"alpha", "beta", "gamma"}
        await wait_until(pilot, lambda: all(row(app, h)[1] == "up" for h in table.shown_hosts), 20, "all hosts up")
        await wait_until(pilot, lambda: row(app, "alpha")[2].endswith("%"), 10, "alpha's CPU figure")
        await wait_until(pilot, lambda: "reboot" in row(app, "gamma"), 10, "gamma's facts")
        await wait_until(pilot, lambda: "76%-" in row(app, "beta"), 10, "beta's battery, discharging")
        assert "failed" in row(app, "gamma") and row(app, "alpha")[-1] == "ok"
        assert "nginx.service" in screen_text(app)
        # The sparklines grow with each sample: the rows really are live.
        history_before = table.rendered_cell("alpha", "cpu_history")
        await wait_until(pilot, lambda: table.rendered_cell("alpha", "cpu_history") != history_before, 5,
                         "alpha's CPU history to move")
        assert {"6", "4", "3"} <= {table.rendered_cell(h, "generation") for h in table.shown_hosts}
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_a_killed_host_is_shown_down_and_comes_back_by_itself(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("delta", generations=3)])
    app = make_app(test_fleet, tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: row(app, "delta")[1] == "up", 20, "delta up")
        await asyncio.to_thread(test_fleet.host("delta").kill)
        await wait_until(pilot, lambda: row(app, "delta")[1] == "down", 10, "delta shown down")
        await wait_until(pilot, lambda: "last seen" in screen_text(app), 5, "the alert saying when delta was seen")
        assert "down" in row(app, "delta")[-1]  # the alerts column
        await asyncio.to_thread(test_fleet.host("delta").revive)
        await wait_until(pilot, lambda: row(app, "delta")[1] == "up", 15, "delta back up")


async def test_a_changed_host_key_shows_the_warning_and_the_offered_fingerprint(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("epsilon", generations=3)])
    app = make_app(test_fleet, tmp_path)
    host = test_fleet.host("epsilon")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: row(app, "epsilon")[1] == "up", 20, "epsilon up")
        await asyncio.to_thread(host.kill)
        await asyncio.to_thread(host.revive, True)  # with a new host key
        await wait_until(pilot, lambda: state(app, "epsilon") == "KEY CHANGED", 20, "the key warning")
        flat = "".join(line.strip() for line in screen_lines(app)).replace(" ", "")
        assert host.host_key_fingerprint in flat
        assert "hostkeyCHANGED" in flat


async def test_started_from_an_unvalidated_config_it_shows_the_fleet_once_the_settings_are_read(
        fleet3: TestFleet, tmp_path: Path) -> None:
    config = tmp_path / "app.toml"
    config.write_text(fleet3.config_toml())
    app = NixdeckApp(read_config(config, {"refresh_interval": 0.5}))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, FleetScreen)
                         and any(len(table.shown_hosts) == 3 for table in app.screen.query(FleetTable)), 20,
                         "the fleet overview listing the hosts")
        assert not any(isinstance(screen, StartingScreen) for screen in app.screen_stack)
        assert app.settings.refresh_interval == 0.5 and app.theme == "nord"
        await wait_until(pilot, lambda: all(row(app, h)[1] == "up" for h in ("alpha", "beta", "gamma")), 20,
                         "all hosts up")
        # Esc-ing through the stack ends on the fleet, not the reading note.
        await pilot.press("enter")
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)


@pytest.mark.parametrize(("config_text", "fragments"), [
    ("refresh_interval = 0\n", ["refresh_interval", "greater than or equal to 0.2", "fix:"]),
    ('theme = "solarised-purple"\n', ["theme", "no theme is called 'solarised-purple'", "nord"]),
], ids=["out of range", "unknown theme"])
async def test_settings_that_fail_validation_end_the_console_with_their_message(
        tmp_path: Path, capfd, config_text: str, fragments: list[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(config_text)
    app = NixdeckApp(read_config(config))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: not app.is_running, 20, "the app to end")
    assert app.return_code == CONFIG_ERROR_EXIT
    message = capfd.readouterr().err
    assert "Traceback" not in message and str(config) in message
    for fragment in fragments:
        assert fragment in message
