"""Running the commands of an operation that changes a host: with root's
rights, each one recorded in the audit log before it runs, its output kept
there and reported to whoever watches (the console's progress panes, the
CLI's output), and none at all in read-only mode.

Every operation that changes a host goes through `HostChange`, so the
pattern (preview, confirm, act, verify, record) cannot be skipped by a new
one: the audit row is written as "running" before the first command and
settled with an outcome when the block ends; a lost connection settles it as
"unknown" (the command may have taken effect).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from console.audit import AuditLog, Operation
from console.errors import NixdeckError, TransportError
from console.model import CommandResult
from console.privilege import Elevation
from console.transport import Transport

OUTPUT_TAIL_CHARS = 2000
STEP_LOG_DIR = "/run/nixdeck"

# Arguments: a log path, then the command. The command runs in a session of
# its own with no stdin and its output in the log, so a dropped SSH
# connection (a switch that restarts the network, say) cannot cut it off
# halfway with SIGHUP or SIGPIPE; this shell only waits for it and then
# prints its output and exits with its status.
DETACHED_SCRIPT = r"""
log=$1; shift
umask 077
mkdir -p "${log%/*}" || exit
rm -f "$log" "$log.status"
setsid sh -c '"$@" > "$0" 2>&1; echo "$?" > "$0.status.tmp"; mv "$0.status.tmp" "$0.status"' \
  "$log" "$@" < /dev/null > /dev/null 2>&1 &
while [ ! -e "$log.status" ]; do sleep 0.2; done
cat "$log"
status=$(cat "$log.status")
rm -f "$log" "$log.status"
exit "$status"
"""


class ReadOnlyError(NixdeckError):
    """nixdeck runs read-only: nothing may change a host."""


class StepFailed(NixdeckError):
    """A step's command exited non-zero."""

    def __init__(self, step: str, result: CommandResult) -> None:
        detail = (result.stderr.strip() or result.stdout.strip())[-400:]
        super().__init__(f"{step} failed (exit status {result.exit_status}){': ' + detail if detail else ''}")
        self.step = step
        self.result = result


class StepState(StrEnum):
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    NOTE = "note"
    """Not a command: what the operation found or decided, for the user."""


@dataclass(frozen=True, slots=True)
class Progress:
    """One thing that happened in an operation on `host`: a step started,
    ended (with its output) or failed, or a note."""

    host: str
    step: str
    state: StepState
    text: str = ""


ProgressListener = Callable[[Progress], None]


def refuse_if_read_only(read_only: bool, what: str) -> None:
    if read_only:
        raise ReadOnlyError(f"read-only mode: {what} would change the host; "
                            "start nixdeck without --read-only (and read_only = false in the config) to allow it")


class HostChange:
    """The commands of one operation on one host (see the module docstring).

    Use inside the audit operation it records to:

        with audit.operation(host, "gc", connection_lost=(TransportError,)) as op:
            change = HostChange(host, transport, elevation, op, report)
            await change.run("collect garbage", ["nix-store", "--gc"], timeout=3600)
    """

    def __init__(self, host: str, transport: Transport, elevation: Elevation, record: Operation,
                 report: ProgressListener) -> None:
        self.host = host
        self.transport = transport
        self.elevation = elevation
        self.record = record
        self._report = report

    def note(self, step: str, text: str) -> None:
        self._report(Progress(self.host, step, StepState.NOTE, text))

    async def run(self, step: str, argv: Sequence[str], *, timeout: float, input: str | None = None,
                  check: bool = True, on: Transport | None = None) -> CommandResult:
        """Run `argv` as root (over `on`, another connection to the same host,
        if given); StepFailed if it exits non-zero (unless not `check`),
        TransportError if the host was lost meanwhile."""
        command = self.elevation.argv(argv)
        self.record.command(command, stdin=self.elevation.password)
        self._report(Progress(self.host, step, StepState.STARTED, " ".join(argv)))
        try:
            result = await (on or self.transport).run(command, timeout=timeout, input=self.elevation.stdin(input))
        except TransportError as exc:
            self._report(Progress(self.host, step, StepState.FAILED, f"connection lost: {exc}"))
            raise
        output = result.stdout + result.stderr
        self.record.output(output)
        if check and not result.ok:
            self._report(Progress(self.host, step, StepState.FAILED, output[-OUTPUT_TAIL_CHARS:]))
            raise StepFailed(step, result)
        self._report(Progress(self.host, step, StepState.DONE, output[-OUTPUT_TAIL_CHARS:]))
        return result


def detached_argv(argv: Sequence[str]) -> list[str]:
    """`argv` run so that it outlives the connection (see DETACHED_SCRIPT)."""
    return ["sh", "-c", DETACHED_SCRIPT, "nixdeck", f"{STEP_LOG_DIR}/step-{secrets.token_hex(8)}.log", *argv]


def open_operation(audit: AuditLog, host: str, operation: str, detail: str) -> Operation:
    """An audit record for an operation on `host`; a lost connection makes its
    outcome "unknown"."""
    return audit.operation(host, operation, detail=detail, connection_lost=(TransportError,))
