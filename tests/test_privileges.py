"""The privilege paths against real sudo on the test hosts (see
tests/fleet/accounts.py): root, a login with passwordless sudo, one whose
sudo wants a password (asked in a masked dialog, never recorded), and one
with no way to root, refused before anything changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import load_settings
from console.app import NixdeckApp
from console.audit import AuditLog, Outcome
from console.generations import PROFILE
from console.guided import fresh_connection
from console.privilege import Privilege, probe_privilege
from screens.cleanup import CleanupScreen
from screens.confirm import ConfirmScreen
from screens.password import PasswordScreen
from tests.fleet import HostSpec, TestFleet
from tests.fleet.accounts import OPERATOR_PASSWORD
from tests.screen import screen_text, wait_until
from tests.test_operations_cli import audit_entries, links, nixdeck


def config_as(fleet: TestFleet, user: str) -> str:
    return fleet.config_toml().replace('user = "root"', f'user = "{user}"')


@pytest.fixture
def delta(fleet_factory) -> TestFleet:
    return fleet_factory([HostSpec("delta", generations=4)])


@pytest.mark.parametrize(("user", "privilege"), [
    ("root", Privilege.ROOT), ("deploy", Privilege.SUDO), ("operator", Privilege.SUDO_PASSWORD),
    ("guest", Privilege.NONE),
])
async def test_the_probe_tells_each_login_apart(delta: TestFleet, tmp_path: Path, user: str,
                                                privilege: Privilege) -> None:
    config = tmp_path / "c.toml"
    config.write_text(config_as(delta, user))
    settings, _ = load_settings(config)
    transport = await fresh_connection(settings.hosts[0], settings)
    try:
        assert await probe_privilege(transport) is privilege
    finally:
        await transport.close()


def test_passwordless_sudo_cleans_up_through_sudo_n(delta: TestFleet, tmp_path: Path) -> None:
    result = nixdeck(delta, tmp_path, "gc", "delta", "--keep", "2", "--yes", config_text=config_as(delta, "deploy"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert links(delta.host("delta")) == {3, 4}
    (entry,) = audit_entries(tmp_path)
    assert entry.outcome is Outcome.SUCCEEDED
    assert ["sudo", "-n", "--", "nix-env", "-p", PROFILE, "--delete-generations", "1", "2"] in [
        list(c) for c in entry.commands]


def test_a_login_without_sudo_is_refused_before_anything_changes(delta: TestFleet, tmp_path: Path) -> None:
    result = nixdeck(delta, tmp_path, "gc", "delta", "--keep", "1", "--yes", config_text=config_as(delta, "guest"))
    assert result.returncode == 1
    assert "guest@delta: cannot run commands as root" in result.stdout and 'user = "root"' in result.stdout
    assert links(delta.host("delta")) == {1, 2, 3, 4} and audit_entries(tmp_path) == []


def test_the_cli_without_a_terminal_cannot_ask_for_a_sudo_password(delta: TestFleet, tmp_path: Path) -> None:
    result = nixdeck(delta, tmp_path, "rollback", "delta", "--yes", config_text=config_as(delta, "operator"))
    assert result.returncode == 1 and "sudo wants a password and there is no terminal" in result.stdout
    assert delta.host("delta").switch_log() == []


async def test_the_console_asks_for_the_sudo_password_masked_and_never_records_it(
        delta: TestFleet, tmp_path: Path) -> None:
    config = tmp_path / "app.toml"
    config.write_text(config_as(delta, "operator"))
    settings, path = load_settings(config)
    app = NixdeckApp(settings, config_path=path, audit=AuditLog(tmp_path / "audit.sqlite3"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.fleet["delta"].status.state.value == "up", 20, "delta up")
        app.push_screen(CleanupScreen(app.fleet, ["delta"]))
        await wait_until(pilot, lambda: isinstance(app.screen, PasswordScreen)
                         and "sudo on delta wants the password" in screen_text(app), 20, "the password dialog")
        # A wrong password first: refused, nothing previewed, nothing changed.
        await pilot.press(*"wrong", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CleanupScreen), 5, "the dialog gone")
        await wait_until(pilot, lambda: "sudo did not accept the password" in screen_text(app), 20, "the refusal")
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PasswordScreen), 20, "the dialog again")
        await pilot.press(*OPERATOR_PASSWORD)
        assert OPERATOR_PASSWORD not in screen_text(app) and "•" * 8 in screen_text(app)  # masked
        await pilot.press("enter")
        await wait_until(pilot, lambda: "garbage collection would free" in screen_text(app), 20, "the preview")
        assert OPERATOR_PASSWORD not in screen_text(app)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5, "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: "done: deleted generations 1" in screen_text(app), 60, "the cleanup")
    assert links(delta.host("delta")) == {2, 3, 4}
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        (entry,) = audit.entries()
    assert entry.outcome is Outcome.SUCCEEDED
    assert all(list(c[:6]) == ["sudo", "-S", "-k", "-p", "", "--"] for c in entry.commands)
    for file in tmp_path.glob("audit.sqlite3*"):
        assert OPERATOR_PASSWORD.encode() not in file.read_bytes()
