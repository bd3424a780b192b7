"""The audit screen reading a real audit log in tmp_path, written through
console.audit's own API, with the frozen fleet (the screen reaches no host).
What the screen lists is compared with what was recorded."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Select

from console.app import NixdeckApp
from console.audit import AuditLog, Outcome
from screens.audit import AuditEntryScreen, AuditScreen, AuditTable
from tests.frozen import frozen_app
from tests.screen import screen_lines, screen_text, wait_until

ROLLBACK = ["nix-env", "-p", "/nix/var/nix/profiles/system", "--rollback"]
SWITCH = ["/nix/var/nix/profiles/system-5-link/bin/switch-to-configuration", "switch"]
DETACHED_GC = ["systemd-run", "--unit", "nixdeck gc", "nix-store", "--gc"]


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    """Six operations, one of each kind an audit log holds, oldest first:
    gc succeeded (p620), rollback failed (razer), delete refused (dex5550),
    delete unknown then resolved as succeeded (p620), a host no longer in
    the config (old-box), a switch still running (razer)."""
    log = AuditLog(tmp_path / "audit.sqlite3")
    with log.operation("p620", "gc", detail="collect garbage") as op:
        op.command(DETACHED_GC)
        op.output("finding garbage collector roots...\ndeleting '/nix/store/aaaa-hello-2.12'\n"
                  "3 store paths deleted, 1.20 MiB freed\n")
        op.succeeded("freed 1.2 MiB")
    rollback = log.begin("razer", "rollback", [ROLLBACK], detail="back to generation 2")
    log.finish(rollback, outcome=Outcome.FAILED, exit_status=1,
               output_tail="error: no generation older than the current\n[bold]not markup[/bold]\n",
               reason="nix-env exited with status 1")
    with log.operation("dex5550", "delete-generations", detail="delete 1 2") as op:
        op.refused("read-only mode")
    lost = log.begin("p620", "delete-generations", [["nix-env", "-p", "/nix/var/nix/profiles/system",
                                                     "--delete-generations", "1", "2"]], detail="delete 1 2")
    log.mark_unknown(lost, "connection lost")
    log.resolve(lost, "generations 1 and 2 are gone", Outcome.SUCCEEDED)
    with log.operation("old-box", "gc") as op:
        op.succeeded("freed 3.0 GiB")
    log.begin("razer", "switch", [SWITCH], detail="switch to generation 5")
    yield log
    log.close()


async def open_audit(app: NixdeckApp, pilot: Pilot) -> AuditScreen:
    await pilot.pause()
    await pilot.press("A")
    await wait_until(pilot, lambda: isinstance(app.screen, AuditScreen) and "operation" in status(app), 5,
                     "the audit log read")
    return app.screen  # type: ignore[return-value]


def status(app: NixdeckApp) -> str:
    return str(app.screen.query_one("#audit-status").content)


def shown_rows(app: NixdeckApp) -> list[list[str]]:
    """The table's rows as they read on screen, split into words."""
    table = app.screen.query_one(AuditTable)
    top = table.region.y + 1  # below the header
    lines = screen_lines(app)[top: top + table.row_count]
    return [line.split() for line in lines]


def shown_operations(app: NixdeckApp) -> list[tuple[str, str]]:
    """(host, operation) of each row shown, top to bottom."""
    return [(row[3], row[4]) for row in shown_rows(app)]


async def test_every_operation_is_listed_newest_first_with_its_outcome_and_reason(audit: AuditLog) -> None:
    recorded = audit.entries()
    app = frozen_app(audit)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_audit(app, pilot)
        assert status(app).startswith("6 operations")
        rows = shown_rows(app)
        assert shown_operations(app) == [("razer", "switch"), ("old-box", "gc"), ("p620", "delete-generations"),
                                         ("dex5550", "delete-generations"), ("razer", "rollback"), ("p620", "gc")]
        for row, entry in zip(rows, recorded, strict=True):
            assert " ".join(row[:2]) == time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.started))
            assert row[2] == entry.local_user
        assert [row[5] for row in rows] == ["running", "succeeded", "unknown", "refused", "failed", "succeeded"]
        text = screen_text(app)
        assert "unknown → succeeded" in text
        for detail in ("switch to generation 5", "freed 3.0 GiB", "delete 1 2 · connection lost",
                       "delete 1 2 · read-only mode", "back to generation 2 · nix-env exited with status 1",
                       "freed 1.2 MiB"):
            assert detail in text

        await pilot.press("end")  # the cursor (its own colours) off the rows looked at

        def colour(line_part: str, word: str) -> str:
            """The colour `word` reads as on the line showing `line_part`."""
            for strip in app.screen._compositor.render_strips():
                if line_part in strip.text:
                    for segment in strip:
                        if segment.text.strip() == word and segment.style and segment.style.color:
                            red, green, blue = segment.style.color.get_truecolor()
                            if red > 2 * max(green, blue):
                                return "red"
                            if green > max(red, blue):
                                return "green"
                            if min(red, green) > 2 * blue:
                                return "yellow"  # red and green, more red than green: not green
                            return "blue" if blue > max(red, green) else str((red, green, blue))
            raise AssertionError(f"{word!r} not on the line showing {line_part!r}")

        assert colour("switch to generation 5", "running") == "blue"
        assert colour("freed 3.0 GiB", "succeeded") == "green"
        assert colour("connection lost", "unknown") == "yellow"
        assert colour("connection lost", "succeeded") == "green"  # what the later check found
        assert colour("read-only mode", "refused") == "red"
        assert colour("nix-env exited", "failed") == "red"


async def test_filters_show_exactly_the_matching_operations(audit: AuditLog) -> None:
    app = frozen_app(audit)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await open_audit(app, pilot)

        async def shows(expected: list[tuple[str, str]], what: str) -> None:
            await wait_until(pilot, lambda: shown_operations(app) == expected, 5, what)

        # h: all hosts, then each in turn, hosts only the log knows included.
        hosts = ["dex5550", "lab-nas", "new-laptop", "old-box", "p620", "razer"]
        assert screen._hosts == hosts
        await pilot.press(*["h"] * (hosts.index("razer") + 1))
        await shows([("razer", "switch"), ("razer", "rollback")], "razer's operations")
        assert status(app).startswith("2 operations")
        await pilot.press("h")  # round to all hosts
        await shows([("razer", "switch"), ("old-box", "gc"), ("p620", "delete-generations"),
                     ("dex5550", "delete-generations"), ("razer", "rollback"), ("p620", "gc")], "every host")
        # o: each outcome in turn (running, succeeded, failed, refused, unknown).
        await pilot.press("o", "o")
        await shows([("old-box", "gc"), ("p620", "gc")], "the succeeded ones")
        await pilot.press("o")
        await shows([("razer", "rollback")], "the failed one")
        await pilot.press("o", "o")
        await shows([("p620", "delete-generations")], "the unknown one")
        await pilot.press("o")
        # Free text: in commands, output, reasons...
        await pilot.press("slash", *"nixdeck gc")
        await shows([("p620", "gc")], "the gc whose command names its unit")
        await pilot.press("enter")  # back to the list; the filter stays
        assert app.screen.focused is app.screen.query_one(AuditTable)
        await pilot.press("slash", *["backspace"] * len("nixdeck gc"), *"READ-only", "enter")
        await shows([("dex5550", "delete-generations")], "the refusal, found by its reason in any case")
        await pilot.press(*["h"] * (hosts.index("p620") + 1))
        await wait_until(pilot, lambda: "no operation matches the filters" in status(app), 5, "nothing matching")
        assert shown_operations(app) == []


async def test_enter_shows_an_operation_in_full(audit: AuditLog) -> None:
    by_operation = {(e.host, e.operation, e.outcome): e for e in audit.entries()}
    app = frozen_app(audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_audit(app, pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # the failed rollback
        await pilot.pause()
        assert isinstance(app.screen, AuditEntryScreen)
        rollback = by_operation["razer", "rollback", Outcome.FAILED]
        text = screen_text(app)
        assert "$ nix-env -p /nix/var/nix/profiles/system --rollback" in text
        assert "error: no generation older than the current" in text
        assert "[bold]not markup[/bold]" in text  # output is shown as it is
        started = time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(rollback.started))
        ended = time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(rollback.ended))
        assert re.search(rf"Started +{started}", text) and re.search(rf"Ended +{ended}, after", text)
        assert re.search("Exit status +1", text) and re.search("Reason +nix-env exited with status 1", text)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)

        await pilot.press("up", "up", "enter")  # the unknown delete, resolved later
        await pilot.pause()
        text = screen_text(app)
        lost = by_operation["p620", "delete-generations", Outcome.UNKNOWN]
        assert re.search("Outcome +unknown → succeeded", text)
        assert re.search("Ended +never seen to end", text)
        assert re.search("Resolution +generations 1 and 2 are gone", text)
        resolved = time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(lost.resolved_at))
        assert re.search(rf"Resolved +{resolved}: succeeded", text)
        assert "$ nix-env -p /nix/var/nix/profiles/system --delete-generations 1 2" in text
        await pilot.press("escape")

        await pilot.press("end", "enter")  # the oldest: a gc with a quoted argument
        await pilot.pause()
        text = screen_text(app)
        assert "$ systemd-run --unit 'nixdeck gc' nix-store --gc" in text
        assert "3 store paths deleted, 1.20 MiB freed" in text


async def test_refresh_shows_what_was_recorded_meanwhile(audit: AuditLog) -> None:
    app = frozen_app(audit)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_audit(app, pilot)
        with audit.operation("lab-nas", "rollback") as op:
            op.failed("no older generation")
        await pilot.press("r")
        await wait_until(pilot, lambda: shown_operations(app)[:1] == [("lab-nas", "rollback")], 5, "the new one")
        assert status(app).startswith("7 operations")
        # A host new to the log joins the choices once all hosts are shown.
        await pilot.press(*["h"] * 6)
        await wait_until(pilot, lambda: {host for host, _ in shown_operations(app)} == {"razer"}, 5, "razer's")
        with audit.operation("zulu", "gc") as op:
            op.succeeded()
        with audit.operation("razer", "gc") as op:
            op.succeeded()
        await pilot.press("r")
        await wait_until(pilot, lambda: shown_operations(app)[:1] == [("razer", "gc")], 5, "razer's new gc")
        assert "zulu" not in screen_text(app)
        await pilot.press("h")  # round to all hosts
        await wait_until(pilot, lambda: shown_operations(app)[:2] == [("razer", "gc"), ("zulu", "gc")], 5,
                         "every host's")
        assert screen._hosts[-1] == "zulu" and screen.query_one("#audit-host", Select).value == ""
        assert status(app).startswith("9 operations")


async def test_a_log_written_by_a_newer_nixdeck_is_a_message_not_a_crash(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # No log given: the app opens the user's own, here one from the future.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = tmp_path / "nixdeck" / "audit.sqlite3"
    AuditLog(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    app = frozen_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("A")
        await wait_until(pilot, lambda: "cannot read the audit log" in status(app), 5, "the problem said")
        flat = "".join(line.strip() for line in screen_lines(app)).replace(" ", "")
        assert "schemaversion99,writtenbyanewernixdeck" in flat
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


async def test_the_palette_opens_the_audit_log(audit: AuditLog) -> None:
    app = frozen_app(audit)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"audit log")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AuditScreen), 5, "the audit screen")


async def test_at_80_columns_the_highlighted_operation_says_in_full_what_it_did_and_why(audit: AuditLog) -> None:
    app = frozen_app(audit)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_audit(app, pilot)
        assert all(len(line) == 80 for line in screen_lines(app))
        await pilot.press("down", "down", "down", "down")  # the failed rollback
        await pilot.pause()
        rollback = next(e for e in audit.entries() if e.operation == "rollback")
        assert f"#{rollback.id} back to generation 2 · nix-env exited with status 1" in screen_text(app)
