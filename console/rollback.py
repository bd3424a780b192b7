"""Rolling a host back (or forward) to another system generation, with a
safety net when the switch happens now.

Before switching now, a revert is armed on the host itself, as deploy-rs's
magic rollback does: a canary file and a detached watchdog that, unless the
canary is gone by the deadline, switches the profile back to the generation
it was on and activates it. nixdeck confirms over a NEW connection (proof
that the host still lets it in after the switch) by removing the canary; if
nixdeck dies or the host stays unreachable, the host reverts by itself. The
boot-default mode changes nothing until the next boot, so it has no net
(a bad boot is the boot menu's job).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from console.changes import HostChange, detached_argv
from console.closures import ClosureDiff, closure_diff
from console.errors import NixdeckError
from console.facts import facts_argv, parse_facts
from console.generations import PROFILE, SystemGeneration, list_generations
from console.model import FailedUnit
from console.privilege import ElevatedTransport
from console.transport import Transport

SWITCH_TIMEOUT = 900.0
STEP_TIMEOUT = 60.0
DEFAULT_CONFIRM_WITHIN = 60.0
NET_DIR = "/run/nixdeck"

# Arguments: canary path, seconds to wait, generation to go back to. The
# watchdog leaves the SSH session (setsid, no stdin, output to a log), so it
# outlives a dropped connection. It removes the canary before reverting so a
# late confirmation finds it gone and knows the revert ran.
ARM_SCRIPT = r"""
umask 077
mkdir -p "${1%/*}" || exit
printf '%s\n' "$3" > "$1" || exit
setsid sh -c '
  sleep "$2"
  if rm "$1" 2>/dev/null; then
    echo "nixdeck safety net: not confirmed in $2 s, back to generation $3"
    nix-env -p "$4" --switch-generation "$3" && "$4/bin/switch-to-configuration" switch
  fi
' nixdeck-safety-net "$1" "$2" "$3" "$4" > "$1.log" 2>&1 < /dev/null &
echo "armed $!"
"""

# Argument: the canary. "confirmed" if this removed it, "gone" if the
# watchdog had already (the revert ran or is running).
DISARM_SCRIPT = r"""
if rm "$1" 2>/dev/null; then echo confirmed; else echo gone; fi
"""


class RollbackMode(StrEnum):
    SWITCH = "switch"
    """Activate the target now and make it the boot default."""
    BOOT = "boot"
    """Make the target the boot default; the running system is unchanged."""


class RollbackError(NixdeckError):
    """The rollback cannot be done as asked, or did not end as it should."""


@dataclass(frozen=True, slots=True)
class RollbackPreview:
    host: str
    current: SystemGeneration
    target: SystemGeneration
    diff: ClosureDiff
    generations: tuple[SystemGeneration, ...]

    def detail(self, mode: RollbackMode) -> str:
        """The audit record's detail; `console.recheck` reads it back."""
        return f"to generation {self.target.number} ({mode}) from {self.current.number}"


@dataclass(frozen=True, slots=True)
class RollbackResult:
    host: str
    mode: RollbackMode
    target: int
    target_path: str
    current_after: int | None
    running_after: str | None
    reverted: bool
    """The safety net switched back (the switch was not confirmed in time)."""
    new_failed_units: tuple[str, ...]

    @property
    def ok(self) -> bool:
        running_ok = self.mode is RollbackMode.BOOT or self.running_after == self.target_path
        return not self.reverted and self.current_after == self.target and running_ok


def choose_target(generations: tuple[SystemGeneration, ...], to: int | None) -> tuple[SystemGeneration, SystemGeneration]:
    """(current, target): the target is `to`, else the newest one older than current."""
    current = next((g for g in generations if g.current), None)
    if current is None:
        raise RollbackError("the system profile has no current generation")
    if to is None:
        older = [g for g in generations if g.number < current.number]
        if not older:
            raise RollbackError(f"generation {current.number} is the oldest: there is none to roll back to")
        return current, max(older, key=lambda g: g.number)
    target = next((g for g in generations if g.number == to), None)
    if target is None:
        raise RollbackError(f"there is no generation {to}; there are: {', '.join(str(g.number) for g in generations)}")
    if target.number == current.number:
        raise RollbackError(f"generation {to} is already the current one")
    return current, target


async def preview_rollback(host: str, transport: Transport, to: int | None = None) -> RollbackPreview:
    generations = tuple(await list_generations(transport))
    current, target = choose_target(generations, to)
    return RollbackPreview(host, current, target, await closure_diff(transport, current, target), generations)


async def failed_units(transport: Transport) -> tuple[FailedUnit, ...]:
    result = await transport.run(facts_argv(), timeout=STEP_TIMEOUT)
    return parse_facts(result.stdout).failed_units


def switch_generation_argv(number: int) -> list[str]:
    return ["nix-env", "-p", PROFILE, "--switch-generation", str(number)]


def activate_argv(mode: RollbackMode) -> list[str]:
    return [f"{PROFILE}/bin/switch-to-configuration", str(mode)]


async def run_rollback(
    change: HostChange,
    preview: RollbackPreview,
    mode: RollbackMode,
    *,
    confirm_within: float = DEFAULT_CONFIRM_WITHIN,
    reconnect: Callable[[], Awaitable[Transport]] | None = None,
) -> RollbackResult:
    """Carry out a confirmed preview. In SWITCH mode `reconnect` opens a new
    connection to the host for the confirmation (and is closed after)."""
    elevated = ElevatedTransport(change.transport, change.elevation)
    listed = tuple(await list_generations(elevated))
    current = next((g for g in listed if g.current), None)
    if current is None or current.number != preview.current.number:
        raise RollbackError("the host's current generation changed since the preview: preview again")
    before = {u.unit for u in await failed_units(elevated)}
    canary = f"{NET_DIR}/rollback-{secrets.token_hex(8)}"
    if mode is RollbackMode.SWITCH:
        if reconnect is None:
            raise ValueError("switching now needs a way to reconnect for the confirmation")
        armed = await change.run("arm the safety net",
                                 ["sh", "-c", ARM_SCRIPT, "nixdeck", canary, f"{confirm_within:.0f}",
                                  str(current.number), PROFILE], timeout=STEP_TIMEOUT)
        change.note("arm the safety net",
                    f"reverts to generation {current.number} unless confirmed within {confirm_within:.0f} s "
                    f"({armed.stdout.strip()})")
    await change.run("set the profile", switch_generation_argv(preview.target.number), timeout=STEP_TIMEOUT)
    await change.run(f"switch-to-configuration {mode}", detached_argv(activate_argv(mode)), timeout=SWITCH_TIMEOUT)
    reverted = False
    # The verification runs over the new connection too: proof the host
    # still lets nixdeck in after the switch.
    async with contextlib.AsyncExitStack() as connections:
        confirmed_on = change.transport
        if mode is RollbackMode.SWITCH:
            assert reconnect is not None
            confirmed_on = await reconnect()
            connections.push_async_callback(confirmed_on.close)
            disarmed = await change.run("confirm over a new connection",
                                        ["sh", "-c", DISARM_SCRIPT, "nixdeck", canary],
                                        timeout=STEP_TIMEOUT, on=confirmed_on)
            reverted = disarmed.stdout.strip() != "confirmed"
            if reverted:
                change.note("confirm over a new connection", "too late: the safety net had already switched back")
        checked = ElevatedTransport(confirmed_on, change.elevation)
        after = tuple(await list_generations(checked))
        new_failed = tuple(sorted({u.unit for u in await failed_units(checked)} - before))
    now_current = next((g.number for g in after if g.current), None)
    running = next((g.store_path for g in after if g.running), None)
    result = RollbackResult(change.host, mode, preview.target.number, preview.target.store_path, now_current,
                            running, reverted, new_failed)
    change.note("verify", describe_result(result))
    return result


def describe_result(result: RollbackResult) -> str:
    if result.reverted:
        return f"not confirmed in time: back on generation {result.current_after}"
    state = (f"generation {result.current_after} is the boot default"
             + (" and running" if result.mode is RollbackMode.SWITCH and result.running_after else ""))
    failed = f"; newly failed units: {', '.join(result.new_failed_units)}" if result.new_failed_units else \
        "; no newly failed units"
    return state + failed
