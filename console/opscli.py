"""`nixdeck generations`, `nixdeck gc` and `nixdeck rollback`: the guided
operations without the UI, for scripts.

Without `--yes` the changing commands only preview. Every change is recorded
in the audit log; read-only mode (`--read-only`, `read_only = true`) refuses
them, and the refusal is recorded too. The exit status is 0 when every host's
operation succeeded, 1 when any failed or was refused.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from config.settings import HostConfig, Settings
from console.audit import AuditLog, default_audit_path
from console.changes import Progress, StepState
from console.cleanup import CleanupPolicy
from console.cleanup_steps import CleanupPreview, preview_cleanup
from console.errors import NixdeckError
from console.generations import SystemGeneration, list_generations, store_usage
from console.guided import (
    carry_out_cleanup,
    carry_out_rollback,
    fresh_connection,
    obtain_elevation,
    refuse_when_read_only,
)
from console.humanize import human_bytes
from console.privilege import ElevatedTransport, Elevation, PrivilegeError
from console.recheck import resolve_unknown
from console.rollback import RollbackMode, RollbackPreview, preview_rollback
from console.transport import Transport

Preview = TypeVar("Preview")

EXIT_OK = 0
EXIT_FAILED = 1


class UnknownHost(NixdeckError):
    pass


def pick_hosts(settings: Settings, names: Sequence[str]) -> list[HostConfig]:
    """The named hosts (all when none are named); UnknownHost for a name not configured."""
    hosts = {host.name: host for host in settings.fleet}
    unknown = [name for name in names if name not in hosts]
    if unknown:
        raise UnknownHost(f"no host called {', '.join(map(repr, unknown))} in the config; "
                          f"the hosts are: {', '.join(hosts)}")
    return [hosts[name] for name in names] if names else list(hosts.values())


def say(host: str, text: str) -> None:
    for line in text.splitlines() or [""]:
        print(f"{host}: {line}", flush=True)


async def recheck(audit: AuditLog, host: HostConfig, transport: Transport) -> None:
    """Record what earlier operations cut off on this host really did."""
    if await resolve_unknown(audit, host.name, transport):
        say(host.name, "checked what earlier interrupted operations did: see the audit log")


async def ask_on_terminal(host: str) -> str | None:
    if not sys.stdin.isatty():
        raise PrivilegeError(f"{host}: sudo wants a password and there is no terminal to ask it on; "
                             "run in a terminal or allow the commands without a password (NOPASSWD)")
    return await asyncio.to_thread(getpass.getpass, f"[sudo] password on {host}: ")


def print_progress(progress: Progress) -> None:
    shown = progress.text if progress.state is not StepState.STARTED else ""
    say(progress.host, f"[{progress.step}] {progress.state}" + (f": {shown.strip()}" if shown.strip() else ""))


# --- generations ----------------------------------------------------------------------


def generation_json(generation: SystemGeneration) -> dict[str, Any]:
    return asdict(generation) | {"link": generation.link}


def generation_line(generation: SystemGeneration, now: float) -> str:
    marks = [name for name, flag in (("current", generation.current), ("running", generation.running),
                                     ("booted", generation.booted)) if flag]
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime(generation.created)) if generation.created else "?"
    age = f"{(now - generation.created) / 86400:.0f} d" if generation.created else "?"
    size = human_bytes(generation.closure_size) if generation.closure_size is not None else "?"
    return (f"{generation.number:>4}  {made}  {age:>6}  {generation.nixos_version or '?':<28} "
            f"{generation.kernel_version or '?':<10} {size:>10}  {' '.join(marks)}")


async def generations_of(host: HostConfig, settings: Settings, as_json: bool) -> tuple[bool, Any]:
    try:
        transport = await fresh_connection(host, settings)
        try:
            generations = await list_generations(transport, with_sizes=True)
            usage = await store_usage(transport)
        finally:
            await transport.close()
    except NixdeckError as exc:
        return False, {"host": host.name, "error": str(exc)} if as_json else f"{host.name}: {exc}"
    if as_json:
        return True, {"host": host.name, "generations": [generation_json(g) for g in generations],
                      "store": asdict(usage)}
    now = time.time()
    closures = human_bytes(usage.system_bytes) if usage.system_bytes is not None else "?"
    lines = [f"{host.name}: {len(generations)} generations, system closures {closures}",
             "   #  built             age  NixOS                        kernel        closure  marks"]
    lines += [generation_line(g, now) for g in generations]
    return True, "\n".join(lines)


def generations_command(settings: Settings, names: Sequence[str], as_json: bool) -> int:
    hosts = pick_hosts(settings, names)

    async def gather() -> list[tuple[bool, Any]]:
        return await asyncio.gather(*(generations_of(h, settings, as_json) for h in hosts))

    results = asyncio.run(gather())
    if as_json:
        print(json.dumps([report for _, report in results], indent=2))
    else:
        print("\n\n".join(report for _, report in results))
    return EXIT_OK if all(ok for ok, _ in results) else EXIT_FAILED


# --- gc ----------------------------------------------------------------------------------


def describe_preview(preview: CleanupPreview) -> str:
    lines = []
    for kept in preview.plan.keep:
        lines.append(f"keep    {kept.generation.number:>4}  ({', '.join(kept.reasons)})")
    for gone in preview.plan.delete:
        lines.append(f"delete  {gone.number:>4}  ({gone.nixos_version or '?'})")
    estimate = preview.estimate
    lines.append(f"garbage collection would free about {human_bytes(estimate.bytes)} "
                 f"({estimate.path_count} store paths)")
    return "\n".join(lines)


@dataclass(frozen=True)
class GuidedStep(Generic[Preview]):
    """One guided operation as the CLI runs it on one host: its audit name,
    what it is called in a refusal, how to preview it (given a connection
    that runs as root), how to show the preview and how to carry it out."""

    operation: str
    what: str
    preview: Callable[[Transport], Awaitable[Preview]]
    describe: Callable[[Preview], str]
    carry_out: Callable[[Transport, Preview, Elevation], Awaitable[bool]]
    hint: str


async def run_guided(host: HostConfig, settings: Settings, audit: AuditLog, act: bool,
                     step: GuidedStep[Preview]) -> bool:
    """Preview on the host and, if `act`, carry it out; True if it went well."""
    try:
        if act:
            refuse_when_read_only(audit, settings, host.name, step.operation, step.what)
        transport = await fresh_connection(host, settings)
        try:
            await recheck(audit, host, transport)
            # The previews' store queries (the GC roots, closures) take root too.
            elevation = await obtain_elevation(host, transport, ask_on_terminal)
            preview = await step.preview(ElevatedTransport(transport, elevation))
            say(host.name, step.describe(preview))
            if not act:
                say(host.name, f"preview only: nothing was changed (add --yes to {step.hint})")
                return True
            return await step.carry_out(transport, preview, elevation)
        finally:
            await transport.close()
    except NixdeckError as exc:
        say(host.name, f"error: {exc}")
        return False


def gc_command(settings: Settings, names: Sequence[str], keep: int | None, older_than: float | None,
               act: bool) -> int:
    hosts = pick_hosts(settings, names)
    policy = CleanupPolicy(keep if keep is not None else settings.cleanup.keep_last,
                           older_than if older_than is not None else settings.cleanup.keep_newer_than_days)

    def cleanup_of(host: HostConfig, audit: AuditLog) -> GuidedStep[CleanupPreview]:
        async def carry_out(transport: Transport, preview: CleanupPreview, elevation: Elevation) -> bool:
            await carry_out_cleanup(audit, settings, host, transport, preview, elevation, print_progress)
            return True

        return GuidedStep("cleanup", "generation cleanup", lambda root: preview_cleanup(host.name, root, policy),
                          describe_preview, carry_out, "carry it out")

    async def gather() -> list[bool]:
        with AuditLog(default_audit_path()) as audit:
            return await asyncio.gather(*(run_guided(h, settings, audit, act, cleanup_of(h, audit)) for h in hosts))

    return EXIT_OK if all(asyncio.run(gather())) else EXIT_FAILED


# --- rollback ------------------------------------------------------------------------------


def describe_rollback(preview: RollbackPreview) -> str:
    before, after = preview.current, preview.target
    lines = [f"from generation {before.number} to {after.number}",
             f"NixOS   {before.nixos_version or '?'} -> {after.nixos_version or '?'}",
             f"kernel  {before.kernel_version or '?'} -> {after.kernel_version or '?'}"]
    packages = preview.diff.packages
    for change in packages.changed:
        lines.append(f"  ~ {change.name}: {', '.join(change.before)} -> {', '.join(change.after)}")
    for change in packages.added:
        lines.append(f"  + {change.name} {', '.join(change.after)}")
    for change in packages.removed:
        lines.append(f"  - {change.name} {', '.join(change.before)}")
    if not (packages.changed or packages.added or packages.removed):
        lines.append("  no package changes")
    return "\n".join(lines)


def rollback_command(settings: Settings, name: str, to: int | None, boot: bool, act: bool) -> int:
    (host,) = pick_hosts(settings, [name])
    mode = RollbackMode.BOOT if boot else RollbackMode.SWITCH

    async def run() -> bool:
        with AuditLog(default_audit_path()) as audit:
            async def carry_out(transport: Transport, preview: RollbackPreview, elevation: Elevation) -> bool:
                result = await carry_out_rollback(audit, settings, host, transport, preview, mode, elevation,
                                                  print_progress)
                return result.ok

            step = GuidedStep("rollback", "a rollback", lambda root: preview_rollback(host.name, root, to),
                              describe_rollback, carry_out, f"{mode} to it")
            return await run_guided(host, settings, audit, act, step)

    return EXIT_OK if asyncio.run(run()) else EXIT_FAILED
