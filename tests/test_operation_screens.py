"""The cleanup and rollback screens walked end to end with Pilot against the
test fleet's real Nix, as a user would: preview, confirm, watch, read the
result; and in read-only mode the actions are there but disabled, with the
reason on screen."""

from __future__ import annotations

from pathlib import Path

from config.loader import load_settings
from console.app import NixdeckApp
from console.audit import AuditLog, Outcome
from screens.cleanup import CleanupScreen
from screens.confirm import ConfirmScreen
from screens.rollback import RollbackScreen
from tests.fleet import HostSpec, TestFleet
from tests.frozen import frozen_app
from tests.screen import screen_text, wait_until
from tests.test_operations_cli import links, profile_generation, running
from widgets.step_log import StepLog


def make_app(fleet: TestFleet, tmp_path: Path, config_extra: str = "", **overrides: object) -> NixdeckApp:
    config = tmp_path / "app.toml"
    config.write_text(config_extra + fleet.config_toml())
    settings, path = load_settings(config, {"refresh_interval": 1.0, **overrides})
    return NixdeckApp(settings, config_path=path, audit=AuditLog(tmp_path / "audit.sqlite3"))


async def host_up(pilot, app: NixdeckApp, host: str) -> None:
    await wait_until(pilot, lambda: app.fleet[host].status.state.value == "up", 20, f"{host} up")


async def test_cleanup_screen_previews_confirms_and_shows_what_was_freed(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=6, booted_generation=2), HostSpec("echo", generations=4)])
    delta, echo = fleet.host("delta"), fleet.host("echo")
    app = make_app(fleet, tmp_path)
    async with app.run_test(size=(120, 50)) as pilot:
        await host_up(pilot, app, "delta")
        await host_up(pilot, app, "echo")
        app.push_screen(CleanupScreen(app.fleet, ["delta", "echo"]))
        await wait_until(pilot, lambda: screen_text(app).count("garbage collection would free") == 2, 20,
                         "both previews")
        text = screen_text(app)
        assert "delete     1" in text and "keep       2" in text and "booted" in text
        # Nothing is touched by the preview.
        assert links(delta) == {1, 2, 3, 4, 5, 6} and links(echo) == {1, 2, 3, 4}

        # A stricter policy, previewed again: keep 2.
        await pilot.click("#keep-last")
        keep = app.screen.query_one("#keep-last")
        keep.value = "2"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen_text(app).count("garbage collection would free") == 2, 20,
                         "the previews for keep 2")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        assert "delta: delete generations 1, 3, 4" in screen_text(app)
        assert "echo: delete generations 1, 2" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen_text(app).count("done: deleted generations") == 2, 60,
                         "both cleanups done")
        text = screen_text(app)
        assert "generations now: 2, 5, 6" in text and "generations now: 3, 4" in text
        for log in app.screen.query(StepLog):  # every step of each host, scrolled or not
            steps = [line for line in log.lines if not line.startswith(" ")]
            assert steps[:6] == ["→ delete generations", "✓ delete generations", "→ collect garbage",
                                 "✓ collect garbage", "→ refresh boot entries", "✓ refresh boot entries"]
    assert links(delta) == {2, 5, 6} and links(echo) == {3, 4}
    assert [line.split()[-1] for line in delta.switch_log()] == ["boot"]
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert sorted((e.host, e.outcome) for e in audit.entries()) == [
            ("delta", Outcome.SUCCEEDED), ("echo", Outcome.SUCCEEDED)]


async def test_a_declined_confirmation_changes_nothing(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    app = make_app(fleet, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await host_up(pilot, app, "delta")
        app.push_screen(CleanupScreen(app.fleet, ["delta"]))
        await wait_until(pilot, lambda: "garbage collection would free" in screen_text(app), 20, "the preview")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        await pilot.press("n")
        await pilot.pause(0.5)
        assert isinstance(app.screen, CleanupScreen)
    assert links(fleet.host("delta")) == {1, 2, 3, 4}
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert audit.entries() == []


async def open_rollback_of_delta(pilot, app: NixdeckApp) -> None:
    """The rollback screen of delta (4 generations), showing the diff to 3."""
    await host_up(pilot, app, "delta")
    app.push_screen(RollbackScreen(app.fleet, "delta"))
    await wait_until(pilot, lambda: "generation 4 → 3" in screen_text(app), 20, "the diff to the previous one")


async def test_rollback_screen_shows_the_diff_then_switches_with_the_safety_net(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    by_number = {t.number: t.store_path for t in delta.generations}
    app = make_app(fleet, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_rollback_of_delta(pilot, app)
        assert "NixOS" in screen_text(app) and "kernel" in screen_text(app)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        assert "switches back" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: "done: generation 3 is the boot default and running" in screen_text(app),
                         60, "the verified rollback")
        assert "✓ confirm over a new connection" in screen_text(app)
    assert profile_generation(delta) == 3 and running(delta) == by_number[3]


async def test_rollback_to_the_boot_default_from_the_screen(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    by_number = {t.number: t.store_path for t in delta.generations}
    app = make_app(fleet, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_rollback_of_delta(pilot, app)
        await pilot.press("down")  # generation 2
        await wait_until(pilot, lambda: "generation 4 → 2" in screen_text(app), 20, "the diff to 2")
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "done: generation 2 is the boot default" in screen_text(app), 60,
                         "the boot default set")
    assert profile_generation(delta) == 2 and running(delta) == by_number[4]


async def test_read_only_shows_the_actions_disabled_with_the_reason(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    app = make_app(fleet, tmp_path, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await host_up(pilot, app, "delta")
        app.push_screen(CleanupScreen(app.fleet, ["delta"]))
        await wait_until(pilot, lambda: "garbage collection would free" in screen_text(app), 20, "the preview")
        assert "read-only mode: cleanup is disabled" in screen_text(app)
        assert "READ-ONLY" in screen_text(app).splitlines()[0]
        assert app.screen.check_action("clean", ()) is None  # shown, disabled
        await wait_until(pilot, lambda: "c Clean up" in screen_text(app).splitlines()[-1], 5,
                         "the disabled key in the footer")
        await pilot.press("c")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        app.pop_screen()
        app.push_screen(RollbackScreen(app.fleet, "delta"))
        await wait_until(pilot, lambda: "generation 4 → 3" in screen_text(app), 20, "the diff")
        assert "read-only mode: rollback is disabled" in screen_text(app)
        await pilot.press("s")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
    assert links(fleet.host("delta")) == {1, 2, 3, 4} and profile_generation(fleet.host("delta")) == 4


async def test_cleanup_and_rollback_open_from_the_generations_screen_keys() -> None:
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CleanupScreen) and app.screen.hosts == sorted(app.fleet.monitors)
        # The frozen hosts are not connected: each pane says so, none crashes.
        await wait_until(pilot, lambda: screen_text(app).count("not connected") >= 2, 5, "the hosts' states")
        await pilot.press("escape")
        app.open_generations("p620")
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, RollbackScreen) and app.screen.host == "p620"
        await wait_until(pilot, lambda: "cannot roll back" in screen_text(app), 5, "the reason it cannot")


async def test_an_operation_cut_off_earlier_is_checked_when_its_host_is_up(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        # An earlier nixdeck lost delta while making generation 4 the boot default.
        entry = audit.begin("delta", "rollback", detail="to generation 4 (boot) from 3")
        audit.mark_unknown(entry, "connection lost")
    app = make_app(fleet, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await host_up(pilot, app, "delta")
        await wait_until(pilot, lambda: app.audit.entry(entry).resolved_outcome is Outcome.SUCCEEDED, 10,
                         "the check of the interrupted rollback")
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        assert "generation 4 is the boot default" in (audit.entry(entry).resolution or "")
