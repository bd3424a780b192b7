"""The rollback's safety net and the audit record of an operation cut off,
against the test fleet: a console killed before it confirms leaves a host
that switches back by itself; a host killed mid-operation leaves an
"unknown" row, which is checked once the host is back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.loader import load_settings
from console.audit import AuditLog, Outcome
from console.changes import HostChange, open_operation
from console.errors import TransportError
from console.fleet import make_transport
from console.generations import LIST_SCRIPT
from console.guided import fresh_connection
from console.privilege import Elevation, Privilege
from console.recheck import parse_rollback_detail, resolve_unknown
from console.rollback import DISARM_SCRIPT, RollbackMode, preview_rollback, run_rollback
from console.transport import Transport
from tests.fleet import HostSpec
from tests.test_operations_cli import ROOT, profile_generation, running

# A console that starts a rollback and dies before confirming it: its
# reconnection for the confirmation never comes, and the test kills it.
DYING_CONSOLE = """
import asyncio, sys
from pathlib import Path
from config.loader import load_settings
from console.audit import AuditLog
from console.changes import HostChange, open_operation
from console.fleet import make_transport
from console.privilege import Elevation, Privilege
from console.rollback import RollbackMode, preview_rollback, run_rollback

async def main():
    settings, _ = load_settings(Path(sys.argv[1]))
    transport = make_transport(settings.hosts[0], settings)
    await transport.connect()
    preview = await preview_rollback("delta", transport)
    with AuditLog(Path(sys.argv[2])) as audit, open_operation(audit, "delta", "rollback", "to 3") as record:
        change = HostChange("delta", transport, Elevation(Privilege.ROOT), record, print)
        never = asyncio.Event()
        async def reconnect():
            await never.wait()
        await run_rollback(change, preview, RollbackMode.SWITCH, confirm_within=5, reconnect=reconnect)

asyncio.run(main())
"""


def write_config(fleet, tmp_path: Path) -> Path:
    config = tmp_path / "nixdeck.toml"
    config.write_text(fleet.config_toml())
    return config


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_a_console_killed_before_it_confirms_leaves_a_host_that_switches_back_by_itself(
        fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    by_number = {t.number: t.store_path for t in delta.generations}
    console = subprocess.Popen([sys.executable, "-c", DYING_CONSOLE, str(write_config(fleet, tmp_path)),
                                str(tmp_path / "audit.sqlite3")], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(delta.switch_log()) == 1, 30, "the switch to generation 3")
        assert profile_generation(delta) == 3 and running(delta) == by_number[3]
    finally:
        os.kill(console.pid, signal.SIGKILL)
        console.wait()
    switched_at = time.monotonic()
    # Confirmation was due within 5 s: the host goes back to 4 alone.
    wait_for(lambda: profile_generation(delta) == 4 and running(delta) == by_number[4], 15, "the host to revert")
    assert time.monotonic() - switched_at < 10
    assert [line.split()[1:] for line in delta.switch_log()] == [[by_number[3], "switch"], [by_number[4], "switch"]]


async def test_a_host_killed_mid_operation_is_recorded_unknown_then_checked_when_back(
        fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    delta = fleet.host("delta")
    settings, _ = load_settings(write_config(fleet, tmp_path))
    transport = make_transport(settings.hosts[0], settings)
    await transport.connect()
    with AuditLog(tmp_path / "audit.sqlite3") as audit:
        preview = await preview_rollback("delta", transport, 2)
        try:
            with open_operation(audit, "delta", "rollback", preview.detail(RollbackMode.BOOT)) as record:
                change = HostChange("delta", transport, Elevation(Privilege.ROOT), record, lambda _: None)
                # The host set the boot default, then died before it said so.
                await change.run("set the profile", ["nix-env", "-p", "/nix/var/nix/profiles/system",
                                                     "--switch-generation", "2"], timeout=30)
                killer = asyncio.get_running_loop().run_in_executor(None, delta.kill)
                await change.run("wait", ["sleep", "30"], timeout=60)
        except TransportError:
            pass
        await killer
        await transport.close()
        (entry,) = audit.entries()
        assert entry.outcome is Outcome.UNKNOWN and "TransportError" in entry.reason
        assert parse_rollback_detail(entry.detail) == (2, "boot")

        await asyncio.to_thread(delta.revive)
        transport = make_transport(settings.hosts[0], settings)
        await transport.connect()
        try:
            resolved = await resolve_unknown(audit, "delta", transport)
        finally:
            await transport.close()
        assert resolved == 1
        (entry,) = audit.entries()
        assert entry.outcome is Outcome.UNKNOWN and entry.resolved_outcome is Outcome.SUCCEEDED
        assert "generation 2 is the boot default" in (entry.resolution or "")


class RecordingTransport(Transport):
    """A real connection that remembers the commands sent over it."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[list[str]] = []

    async def connect(self) -> None:
        await self.inner.connect()

    async def run(self, argv, *, timeout: float, input: str | None = None):
        self.sent.append(list(argv))
        return await self.inner.run(argv, timeout=timeout, input=input)

    async def stream(self, argv):
        return await self.inner.stream(argv)

    async def wait_closed(self) -> str:
        return await self.inner.wait_closed()

    async def close(self) -> None:
        await self.inner.close()


async def test_the_switch_is_confirmed_and_verified_over_a_new_connection(fleet_factory, tmp_path: Path) -> None:
    fleet = fleet_factory([HostSpec("delta", generations=4)])
    settings, _ = load_settings(write_config(fleet, tmp_path))
    first = RecordingTransport(await fresh_connection(settings.hosts[0], settings))
    second: list[RecordingTransport] = []

    async def reconnect() -> Transport:
        second.append(RecordingTransport(await fresh_connection(settings.hosts[0], settings)))
        return second[0]

    try:
        preview = await preview_rollback("delta", first)
        with AuditLog(tmp_path / "audit.sqlite3") as audit, \
                open_operation(audit, "delta", "rollback", preview.detail(RollbackMode.SWITCH)) as record:
            change = HostChange("delta", first, Elevation(Privilege.ROOT), record, lambda _: None)
            result = await run_rollback(change, preview, RollbackMode.SWITCH, confirm_within=10, reconnect=reconnect)
            record.succeeded()
    finally:
        await first.close()
    assert result.ok and not result.reverted
    (new,) = second
    assert any(argv[:2] == ["sh", "-c"] and argv[2] == DISARM_SCRIPT for argv in new.sent)
    assert not any(argv[:2] == ["sh", "-c"] and argv[2] == DISARM_SCRIPT for argv in first.sent)
    # The verification read the generations over it too.
    assert any(len(argv) > 2 and argv[2] == LIST_SCRIPT for argv in new.sent)
