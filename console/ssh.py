"""The transport for remote hosts: ONE asyncssh connection per host, shared by
every command and stream on it.

Host keys are always verified against known_hosts files. The files are read
anew on every attempt, so a user who fixes known_hosts sees the host come up
without restarting nixdeck. An unknown or changed key is refused and the key
the host offered is reported by its SHA256 fingerprint.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncssh
from asyncssh.encryption import get_default_encryption_algs

from config.settings import HostConfig, SshConfig
from console.errors import CommandTimeout, TransportError
from console.model import CommandResult, HostState
from console.transport import ConnectFailed, LineStream, Transport, command_line

DEFAULT_KNOWN_HOSTS = (Path("~/.ssh/known_hosts"), Path("/etc/ssh/ssh_known_hosts"))
KEEPALIVE_COUNT_MAX = 3
READ_CHUNK = 256 * 1024
FAST_CIPHERS = (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com")

# Runs a streaming command so that it stops when the channel goes away. sshd
# does not kill a session's command when the client disconnects, and
# `journalctl -f` on a quiet host would only notice at its next write. Our
# side never writes to stdin, so EOF there means the channel is closed. The
# watcher reads a copy of stdin on fd 3: a background job's own stdin is
# /dev/null in a non-interactive shell.
STREAM_WATCHDOG = r"""
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
( read -r _ <&3 ; kill "$child" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"""


def preferred_ciphers(configured: Sequence[bytes]) -> list[str]:
    """asyncssh's default ciphers with AES-GCM first, unless the ssh config
    chose its own. asyncssh computes ChaCha20-Poly1305 (OpenSSH's first
    choice) in Python around two cipher objects a packet, about 25 us a
    packet against 4 us for AES-GCM, and a fleet streaming samples and
    journals receives many packets a second (a journal flood, thousands)."""
    defaults = get_default_encryption_algs()
    if list(configured) != defaults:
        ordered = list(configured)
    else:
        ordered = [*FAST_CIPHERS, *(cipher for cipher in defaults if cipher not in FAST_CIPHERS)]
    return [cipher.decode("ascii") for cipher in ordered]


class SshTransport(Transport):
    def __init__(self, host: HostConfig, ssh: SshConfig) -> None:
        self._host = host
        self._ssh = ssh
        self._connection: asyncssh.SSHClientConnection | None = None
        self._client: _NixdeckClient | None = None

    async def connect(self) -> None:
        await self.close()
        client = _NixdeckClient()
        try:
            options, known_hosts_check = await self._options(client)
        except (OSError, ValueError, asyncssh.Error) as exc:
            raise ConnectFailed(HostState.AUTH_FAILED, f"cannot prepare the connection: {exc}") from None
        try:
            async with asyncio.timeout(self._ssh.connect_timeout + 1):
                connection = await asyncssh.connect(options.host, options.port, options=options, config=None)
        except asyncssh.HostKeyNotVerifiable:
            raise _host_key_problem(known_hosts_check, client, options) from None
        except asyncssh.KeyExchangeFailed as exc:
            if known_hosts_check.had_keys:
                # The host no longer offers a key type we trust for it.
                raise ConnectFailed(
                    HostState.HOST_KEY_CHANGED, f"host key changed: no trusted key type offered ({exc.reason})"
                ) from None
            raise ConnectFailed(HostState.DOWN, f"key exchange failed: {exc.reason}") from None
        except asyncssh.PermissionDenied as exc:
            raise ConnectFailed(HostState.AUTH_FAILED, f"authentication failed: {exc.reason or 'permission denied'}") from None
        except TimeoutError:
            raise ConnectFailed(HostState.DOWN, f"timed out after {self._ssh.connect_timeout:g} s") from None
        except socket.gaierror as exc:
            raise ConnectFailed(HostState.DOWN, f"cannot resolve {options.host}: {exc.strerror}") from None
        except ConnectionRefusedError:
            raise ConnectFailed(HostState.DOWN, "connection refused") from None
        except OSError as exc:
            raise ConnectFailed(HostState.DOWN, exc.strerror or str(exc)) from None
        except asyncssh.Error as exc:
            raise ConnectFailed(HostState.DOWN, exc.reason or type(exc).__name__) from None
        self._connection = connection
        self._client = client

    async def _options(self, client: _NixdeckClient) -> tuple[asyncssh.SSHClientConnectionOptions, KnownHostsCheck]:
        config_paths: Any = [str(self._ssh.config_file)] if self._ssh.config_file else ()
        host = self._host
        base = await asyncssh.SSHClientConnectionOptions.construct(
            config=config_paths,
            host=host.target,
            port=host.port if host.port is not None else (),
            username=host.user if host.user is not None else (),
            client_keys=[str(host.identity_file.expanduser())] if host.identity_file else (),
        )
        known_hosts_check = KnownHostsCheck(self._known_hosts_files(base.known_hosts))
        options = await asyncssh.SSHClientConnectionOptions.construct(
            base,
            known_hosts=known_hosts_check,
            client_factory=lambda: client,
            connect_timeout=self._ssh.connect_timeout,
            keepalive_interval=self._ssh.keepalive,
            keepalive_count_max=KEEPALIVE_COUNT_MAX,
            encryption_algs=preferred_ciphers(base.encryption_algs),
        )
        return options, known_hosts_check

    def _known_hosts_files(self, from_ssh_config: object) -> list[Path]:
        """The known_hosts files in force. The ssh config may say
        `UserKnownHostsFile none`, which asyncssh would take as "trust any
        key"; nixdeck falls back to the default files instead."""
        if self._ssh.known_hosts is not None:
            candidates: Sequence[Path] = self._ssh.known_hosts
        elif isinstance(from_ssh_config, (list, tuple)) and from_ssh_config:
            candidates = [Path(str(name)) for name in from_ssh_config]
        else:
            candidates = DEFAULT_KNOWN_HOSTS
        return [path.expanduser() for path in candidates]

    async def _start(self, argv: Sequence[str], name: str) -> asyncssh.SSHClientProcess[str]:
        """Open a channel running `argv`; `name` is what errors call it."""
        if self._connection is None:
            raise TransportError("not connected")
        try:
            return await self._connection.create_process(command_line(argv), encoding="utf-8", errors="replace")
        except (asyncssh.Error, OSError) as exc:
            raise TransportError(f"{name}: {_reason(exc)}") from None

    async def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> CommandResult:
        process = await self._start(argv, argv[0])
        try:
            if input is not None:
                process.stdin.write(input)
            process.stdin.write_eof()
            async with asyncio.timeout(timeout):
                completed = await process.wait()
        except TimeoutError:
            raise CommandTimeout(f"{argv[0]} did not finish within {timeout:g} s") from None
        except (asyncssh.Error, OSError) as exc:
            raise TransportError(f"{argv[0]}: {_reason(exc)}") from None
        finally:
            process.close()
        return CommandResult(
            argv=tuple(argv),
            exit_status=completed.exit_status,
            stdout=str(completed.stdout or ""),
            stderr=str(completed.stderr or ""),
        )

    async def stream(self, argv: Sequence[str]) -> LineStream:
        process = await self._start(["sh", "-c", STREAM_WATCHDOG, "nixdeck-stream", *argv], argv[0])
        return SshLineStream(process)

    async def wait_closed(self) -> str:
        connection, client = self._connection, self._client
        if connection is None or client is None:
            return "not connected"
        await connection.wait_closed()
        return client.lost_reason or "connection closed"

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            with contextlib.suppress(Exception):
                await connection.wait_closed()


class SshLineStream(LineStream):
    def __init__(self, process: asyncssh.SSHClientProcess[str]) -> None:
        super().__init__()
        self._process = process
        self._stderr_task = asyncio.create_task(self._collect_stderr())

    async def _collect_stderr(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            async for line in self._process.stderr:
                self._stderr.append(line.rstrip("\n"))

    async def batches(self) -> AsyncIterator[list[str]]:
        # Read what has arrived and split it here: asyncssh's readline costs
        # a round through its stream machinery per line, which dominated the
        # console's CPU time per sample.
        partial = ""
        try:
            while chunk := await self._process.stdout.read(READ_CHUNK):
                lines = (partial + chunk).split("\n")
                partial = lines.pop()
                if lines:
                    yield lines
        except (asyncssh.Error, OSError) as exc:
            raise TransportError(_reason(exc)) from None
        if partial:
            yield [partial]
        completed = await self._process.wait()
        self.exit_status = completed.exit_status
        # gather, not a suppressed await: suppressing CancelledError here
        # would also swallow a cancellation of the task that awaits.
        await asyncio.gather(self._stderr_task, return_exceptions=True)

    async def close(self) -> None:
        self._process.close()
        self._stderr_task.cancel()
        await asyncio.gather(self._stderr_task, return_exceptions=True)


class KnownHostsCheck:
    """known_hosts lookup that remembers whether the host had any trusted key,
    which tells an unknown host from a changed key."""

    def __init__(self, files: Sequence[Path]) -> None:
        readable = [str(path) for path in files if path.is_file()]
        self.files = tuple(files)
        self._known = asyncssh.read_known_hosts(readable) if readable else asyncssh.import_known_hosts("")
        self.had_keys = False

    def __call__(self, host: str, addr: str, port: int | None) -> Any:
        result = self._known.match(host, addr, port)
        trusted_keys, trusted_ca_keys = result[0], result[1]
        self.had_keys = bool(trusted_keys or trusted_ca_keys)
        return result


class _NixdeckClient(asyncssh.SSHClient):
    """Records what the server offered and why the connection ended."""

    def __init__(self) -> None:
        self.offered_key: asyncssh.SSHKey | None = None
        self.lost_reason: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        # Only called for a key known_hosts does not trust: note it, refuse it.
        self.offered_key = key
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost_reason = _reason(exc) if exc else "connection closed"


def _host_key_problem(
    check: KnownHostsCheck, client: _NixdeckClient, options: asyncssh.SSHClientConnectionOptions
) -> ConnectFailed:
    fingerprint = client.offered_key.get_fingerprint("sha256") if client.offered_key else None
    where = ", ".join(str(path) for path in check.files) or "no known_hosts file"
    offered = f" (offered {fingerprint})" if fingerprint else ""
    if check.had_keys:
        return ConnectFailed(
            HostState.HOST_KEY_CHANGED,
            f"HOST KEY CHANGED for {options.host}{offered}: it does not match {where}; "
            "refusing to connect (possible man-in-the-middle, or the host was reinstalled)",
            fingerprint,
        )
    return ConnectFailed(
        HostState.HOST_KEY_UNKNOWN,
        f"unknown host key for {options.host}{offered}: not in {where}; "
        "compare the fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), then add the key to known_hosts",
        fingerprint,
    )


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
