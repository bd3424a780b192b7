"""The guided operations carried out, the same way for the console and the
CLI: each is refused in read-only mode (and the refusal recorded), recorded
in the audit log from before its first command to its outcome, and run with
the elevation the caller obtained with `obtain_elevation` before its preview
(the previews' store queries need root too; asking for a sudo password is
the caller's part: a masked prompt in the console, the terminal in the CLI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from config.settings import HostConfig, Settings
from console.audit import AuditLog
from console.changes import (
    HostChange,
    ProgressListener,
    ReadOnlyError,
    open_operation,
    refuse_if_read_only,
)
from console.cleanup_steps import (
    CleanupPreview,
    CleanupResult,
    cleanup_detail,
    describe_result,
    run_cleanup,
)
from console.errors import NixdeckError
from console.fleet import make_transport
from console.privilege import (
    Elevation,
    Privilege,
    PrivilegeError,
    check_password,
    missing_privilege_message,
    probe_privilege,
)
from console.rollback import RollbackMode, RollbackPreview, RollbackResult, run_rollback
from console.transport import ConnectFailed, Transport

PasswordPrompt = Callable[[str], Awaitable[str | None]]
"""Asks the user for the sudo password on the named host; None if they declined."""


def refuse_when_read_only(audit: AuditLog, settings: Settings, host: str, operation: str, what: str) -> None:
    """ReadOnlyError in read-only mode, recorded as a refused operation."""
    try:
        refuse_if_read_only(settings.read_only, what)
    except ReadOnlyError as exc:
        with open_operation(audit, host, operation, "refused: read-only") as record:
            record.refused(str(exc))
        raise


async def fresh_connection(host: HostConfig, settings: Settings) -> Transport:
    """A new connection to the host, apart from the console's own."""
    transport = make_transport(host, settings)
    try:
        await transport.connect()
    except ConnectFailed as exc:
        raise NixdeckError(f"cannot connect: {exc}") from None
    return transport


async def obtain_elevation(host: HostConfig, transport: Transport, ask_password: PasswordPrompt) -> Elevation:
    """Root's rights on the host, or PrivilegeError before anything changes."""
    privilege = await probe_privilege(transport)
    if privilege is Privilege.NONE:
        raise PrivilegeError(missing_privilege_message(host.name, host.user))
    if privilege is not Privilege.SUDO_PASSWORD:
        return Elevation(privilege)
    password = await ask_password(host.name)
    if password is None:
        raise PrivilegeError(f"{host.name}: sudo wants a password and none was given")
    return await check_password(transport, password)


async def carry_out_cleanup(audit: AuditLog, settings: Settings, host: HostConfig, transport: Transport,
                            preview: CleanupPreview, elevation: Elevation,
                            report: ProgressListener) -> CleanupResult:
    refuse_when_read_only(audit, settings, host.name, "cleanup", "generation cleanup")
    with open_operation(audit, host.name, "cleanup", cleanup_detail(preview)) as record:
        result = await run_cleanup(HostChange(host.name, transport, elevation, record, report), preview)
        record.succeeded(describe_result(result))
    return result


async def carry_out_rollback(audit: AuditLog, settings: Settings, host: HostConfig, transport: Transport,
                             preview: RollbackPreview, mode: RollbackMode, elevation: Elevation,
                             report: ProgressListener) -> RollbackResult:
    refuse_when_read_only(audit, settings, host.name, "rollback", "a rollback")
    with open_operation(audit, host.name, "rollback", preview.detail(mode)) as record:
        change = HostChange(host.name, transport, elevation, record, report)
        result = await run_rollback(change, preview, mode, confirm_within=settings.rollback.confirm_within,
                                    reconnect=lambda: fresh_connection(host, settings))
        if result.ok:
            record.succeeded(preview.detail(mode))
        elif result.reverted:
            record.failed("not confirmed in time: the safety net switched back")
        else:
            record.failed(f"the host is not on generation {result.target}: the boot default is {result.current_after}")
    return result
