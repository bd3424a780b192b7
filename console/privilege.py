"""Running a host's changing commands with root's rights, and finding out
beforehand whether that is possible.

A host is reached as root, or as a user who may use sudo: without a password
(`sudo -n`) or with one. A password is asked for by the caller (a masked
prompt), passed to `sudo -S` on stdin with every command, and never stored
or logged (the audit log is told to scrub it). A host where neither works is
refused before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from console.errors import NixdeckError
from console.model import CommandResult
from console.transport import LineStream, Transport

PROBE_TIMEOUT = 15.0

# sudo's own prompt is switched off (-p ''): on stdin only the password goes.
# -k: a cached credential is not relied on, so a wrong password fails here.
# `sudo -n -v` tells a user sudo would ask for a password from one it would
# refuse anyway ("Sorry, user X may not run sudo on H.").
PROBE_SCRIPT = r"""
LC_ALL=C; export LC_ALL
printf 'uid %s\n' "$(id -u)"
if ! command -v sudo >/dev/null 2>&1; then
  echo 'sudo missing'
elif sudo -n true 2>/dev/null; then
  echo 'sudo passwordless'
elif sudo -n -v 2>&1 | grep -q 'may not run sudo'; then
  echo 'sudo refused'
else
  echo 'sudo password'
fi
echo end
"""


class Privilege(StrEnum):
    ROOT = "root"
    SUDO = "sudo"
    """sudo without a password."""
    SUDO_PASSWORD = "sudo with a password"
    NONE = "none"


class PrivilegeError(NixdeckError):
    """The host's changing commands cannot be run with root's rights."""


@dataclass(frozen=True, slots=True)
class Elevation:
    """How to run a command as root on one host. `password` is for
    SUDO_PASSWORD only and is held in memory, for this operation."""

    privilege: Privilege
    password: str | None = None

    def __post_init__(self) -> None:
        if self.privilege is Privilege.NONE:
            raise PrivilegeError("no way to run commands as root on this host")
        if (self.privilege is Privilege.SUDO_PASSWORD) != (self.password is not None):
            raise ValueError("a password goes with sudo with a password, and only with it")

    def argv(self, argv: Sequence[str]) -> list[str]:
        """The command as run: as it is for root, behind sudo otherwise
        (`--` so that no argument is read as one of sudo's options)."""
        if self.privilege is Privilege.ROOT:
            return list(argv)
        if self.privilege is Privilege.SUDO:
            return ["sudo", "-n", "--", *argv]
        return ["sudo", "-S", "-k", "-p", "", "--", *argv]

    def stdin(self, data: str | None = None) -> str | None:
        """What the command's stdin gets: the password line first, if any."""
        if self.password is None:
            return data
        return f"{self.password}\n{data or ''}"


def parse_probe(text: str) -> Privilege:
    """PROBE_SCRIPT's report, e.g. "uid 1000\\nsudo password\\nend"."""
    facts = dict(line.partition(" ")[::2] for line in text.splitlines())
    if "end" not in facts:
        raise PrivilegeError("the host's privilege check was cut short")
    if facts.get("uid", "").strip() == "0":
        return Privilege.ROOT
    return {"passwordless": Privilege.SUDO, "password": Privilege.SUDO_PASSWORD}.get(
        facts.get("sudo", "").strip(), Privilege.NONE)


async def probe_privilege(transport: Transport, *, timeout: float = PROBE_TIMEOUT) -> Privilege:
    """How this host's login can become root (one round trip, changes nothing)."""
    result = await transport.run(["sh", "-c", PROBE_SCRIPT], timeout=timeout)
    if not result.ok:
        raise PrivilegeError(f"the privilege check failed: {result.stderr.strip()[-300:] or result.exit_status}")
    return parse_probe(result.stdout)


async def check_password(transport: Transport, password: str, *, timeout: float = PROBE_TIMEOUT) -> Elevation:
    """An elevation with this sudo password, once sudo has accepted it;
    PrivilegeError if it did not."""
    elevation = Elevation(Privilege.SUDO_PASSWORD, password)
    result = await transport.run(elevation.argv(["true"]), timeout=timeout, input=elevation.stdin())
    if not result.ok:
        raise PrivilegeError("sudo did not accept the password")
    return elevation


def missing_privilege_message(host: str, login: str | None) -> str:
    who = f"{login}@{host}" if login else host
    return (f"{who}: cannot run commands as root: the login is not root and has no sudo. "
            "Log in as root (user = \"root\" in the host's [[hosts]] entry) or allow this user sudo.")


class ElevatedTransport(Transport):
    """A host's connection whose commands run as root (read-only queries the
    Nix store answers only to root on a host without the daemon, such as
    the GC roots of a cleanup's estimate). The connection itself is the
    wrapped one's: connecting and closing are left to its owner."""

    def __init__(self, transport: Transport, elevation: Elevation) -> None:
        self.inner = transport
        self.elevation = elevation

    async def connect(self) -> None:
        """Nothing: the wrapped connection is its owner's to open."""

    async def run(self, argv: Sequence[str], *, timeout: float, input: str | None = None) -> CommandResult:
        result = await self.inner.run(self.elevation.argv(argv), timeout=timeout, input=self.elevation.stdin(input))
        return CommandResult(tuple(argv), result.exit_status, result.stdout, result.stderr)

    async def stream(self, argv: Sequence[str]) -> LineStream:
        raise NotImplementedError("elevated commands are run, not streamed")

    async def wait_closed(self) -> str:
        return await self.inner.wait_closed()

    async def close(self) -> None:
        """Nothing: the wrapped connection is its owner's to close."""
