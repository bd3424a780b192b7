"""A test host's systemd journal, written from outside the host.

Entries go through systemd-journal-remote, which turns the journal export
format into a real journal file in the host's /var/log/journal/<machine-id>/.
journalctl inside the host reads that file like any other, and
`journalctl -f` there sees appends made later from outside because the file
is the same inode.
"""

from __future__ import annotations

import fcntl
import re
import struct
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .units import describe

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"

# journald accepts upper-case letters, digits and underscores, not starting
# with a digit; a leading underscore marks a trusted field (we may set those
# because we are the ones writing the file).
_FIELD_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")

Fields = Mapping[str, "str | bytes"]


def export_entry(fields: Fields) -> bytes:
    """One entry in the journal export format: KEY=value lines, or KEY, a
    little-endian 64-bit length and the raw bytes for values that contain a
    newline or are not text; a blank line ends the entry."""
    out = bytearray()
    for key, value in fields.items():
        if not _FIELD_RE.match(key):
            raise ValueError(f"invalid journal field name {key!r}")
        raw = value.encode() if isinstance(value, str) else bytes(value)
        if isinstance(value, str) and "\n" not in value:
            out += f"{key}={value}\n".encode()
        else:
            out += key.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
    out += b"\n"
    return bytes(out)


class Journal:
    """Appends entries to one host's journal file."""

    def __init__(self, journal_dir: Path, machine_id: str) -> None:
        self.path = journal_dir / machine_id / "system.journal"
        self._lock_path = journal_dir.parent / "journal.lock"

    def append(self, entries: Iterable[Fields]) -> None:
        payload = b"".join(export_entry(entry) for entry in entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A journal file has one writer at a time; the file lock covers
        # threads (each call opens its own descriptor) and processes.
        with self._lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            result = subprocess.run(
                [JOURNAL_REMOTE, "-o", str(self.path), "-"], input=payload, capture_output=True, check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"systemd-journal-remote failed: {result.stderr.decode(errors='replace')}")


@dataclass(frozen=True)
class JournalSource:
    """The host identity every entry carries, and when the host booted."""

    hostname: str
    machine_id: str
    boot_id: str
    boot_time: float  # epoch seconds

    def entry(
        self, when: float, message: str | bytes, *, priority: int, identifier: str,
        unit: str | None = None, pid: int | None = None, transport: str = "journal",
        extra: Fields | None = None,
    ) -> dict[str, str | bytes]:
        """Fields as journald would record them for a message logged at `when`."""
        fields: dict[str, str | bytes] = {
            "__REALTIME_TIMESTAMP": str(int(when * 1_000_000)),
            "__MONOTONIC_TIMESTAMP": str(max(int((when - self.boot_time) * 1_000_000), 0)),
            "_BOOT_ID": self.boot_id,
            "_MACHINE_ID": self.machine_id,
            "_HOSTNAME": self.hostname,
            "_TRANSPORT": transport,
            "PRIORITY": str(priority),
            "SYSLOG_IDENTIFIER": identifier,
            "MESSAGE": message,
        }
        if transport != "kernel":
            fields |= {"_UID": "0", "_GID": "0", "_COMM": identifier[:15]}
        if pid is not None:
            fields["_PID"] = str(pid)
        if unit is not None:
            fields["_SYSTEMD_UNIT"] = unit
            fields["_SYSTEMD_SLICE"] = "system.slice"
            fields["_SYSTEMD_CGROUP"] = f"/system.slice/{unit}"
        if extra:
            fields |= extra
        return fields


def seed_entries(
    source: JournalSource, *, kernel_version: str, role: str, failed_units: Iterable[str], until: float,
) -> list[dict[str, str | bytes]]:
    """About twenty entries telling the story of the host's current boot:
    kernel, journald, logind, sshd and nginx starting, failed units failing,
    then SSH logins spread up to `until`. Priorities range from err to info."""
    t0 = source.boot_time
    failed = list(failed_units)

    def kernel(offset: float, message: str, priority: int) -> dict[str, str | bytes]:
        return source.entry(t0 + offset, message, priority=priority, identifier="kernel", transport="kernel")

    def systemd(offset: float, message: str, priority: int, unit: str) -> dict[str, str | bytes]:
        # PID 1's messages about a unit name it in UNIT=; journalctl -u finds them by that.
        return source.entry(t0 + offset, message, priority=priority, identifier="systemd",
                            unit="init.scope", pid=1, extra={"UNIT": unit})

    def daemon(offset: float, message: str, priority: int, unit: str, pid: int, name: str,
               transport: str = "syslog") -> dict[str, str | bytes]:
        return source.entry(t0 + offset, message, priority=priority, identifier=name,
                            unit=unit, pid=pid, transport=transport)

    entries = [
        kernel(0.0, f"Linux version {kernel_version} (nixbld@localhost) (gcc (GCC) 13.2.0, "
                    f"GNU ld (GNU Binutils) 2.41) #1-NixOS SMP PREEMPT_DYNAMIC Tue Jan  1 00:00:00 UTC 1980", 5),
        kernel(0.9, "TSC found unstable after boot, most likely due to broken BIOS. Use 'tsc=unstable'.", 4),
        systemd(2.8, "Started systemd-journald.service - Journal Service.", 6, "systemd-journald.service"),
        daemon(2.9, f"File /var/log/journal/{source.machine_id}/system.journal corrupted or uncleanly shut down, "
                    "renaming and replacing.", 4, "systemd-journald.service", 412, "systemd-journald",
               transport="driver"),
        daemon(3.4, "New seat seat0.", 6, "systemd-logind.service", 689, "systemd-logind", transport="journal"),
        daemon(3.5, "Watching system buttons on /dev/input/event0 (Power Button)", 6,
               "systemd-logind.service", 689, "systemd-logind", transport="journal"),
        daemon(3.9, "Server listening on 0.0.0.0 port 22.", 6, "sshd.service", 702, "sshd"),
        daemon(3.9, "Server listening on :: port 22.", 6, "sshd.service", 702, "sshd"),
        systemd(4.0, f"Started sshd.service - {describe('sshd.service')}.", 6, "sshd.service"),
        systemd(4.2, f"Starting nginx.service - {describe('nginx.service')}...", 6, "nginx.service"),
    ]
    if "nginx.service" in failed:
        entries.append(daemon(4.4, "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
                              6, "nginx.service", 731, "nginx", transport="stdout"))
    else:
        entries.append(daemon(4.3, "nginx: [warn] could not build optimal types_hash, you should increase either "
                                    "types_hash_max_size: 1024 or types_hash_bucket_size: 64; ignoring "
                                    "types_hash_bucket_size", 6, "nginx.service", 731, "nginx", transport="stdout"))
        entries.append(systemd(4.4, f"Started nginx.service - {describe('nginx.service')}.", 6, "nginx.service"))
    for offset, unit in enumerate(failed):
        at = 4.5 + offset * 0.1
        entries += [
            systemd(at, f"{unit}: Main process exited, code=exited, status=1/FAILURE", 5, unit),
            systemd(at, f"{unit}: Failed with result 'exit-code'.", 4, unit),
            systemd(at, f"Failed to start {unit} - {describe(unit)}.", 3, unit),
        ]
    entries.append(systemd(5.1, "Reached target multi-user.target - Multi-User System.", 6, "multi-user.target"))
    if role != "server":
        entries.append(systemd(5.3, "Reached target graphical.target - Graphical Interface.", 6, "graphical.target"))

    # The rest of the boot: logins and an SSH scanner, evenly up to `until`.
    later = [
        (("Accepted publickey for root from 192.168.1.10 port 52814 ssh2: ED25519 "
          "SHA256:4bQ0mZ0kqVb0lQw1Yx3yJm7lZc2rJ2Yv3o0m1vJ8xkE"), 6, "sshd.service", 2041, "sshd"),
        ("New session 1 of user root.", 6, "systemd-logind.service", 689, "systemd-logind"),
        ("error: kex_exchange_identification: Connection closed by remote host", 3, "sshd.service", 2077, "sshd"),
        ("Connection closed by 203.0.113.7 port 40112 [preauth]", 6, "sshd.service", 2078, "sshd"),
        ("Session 1 logged out. Waiting for processes to exit.", 6, "systemd-logind.service", 689, "systemd-logind"),
        ("Removed session 1.", 6, "systemd-logind.service", 689, "systemd-logind"),
        (("Accepted publickey for root from 192.168.1.10 port 52990 ssh2: ED25519 "
          "SHA256:4bQ0mZ0kqVb0lQw1Yx3yJm7lZc2rJ2Yv3o0m1vJ8xkE"), 6, "sshd.service", 2213, "sshd"),
        ("New session 2 of user root.", 6, "systemd-logind.service", 689, "systemd-logind"),
    ]
    start, span = t0 + 60, max(until - t0 - 60, 1.0)
    for i, (message, priority, unit, pid, name) in enumerate(later):
        when = start + span * (i + 1) / (len(later) + 1)
        entries.append(source.entry(when, message, priority=priority, identifier=name, unit=unit, pid=pid,
                                    transport="syslog" if name == "sshd" else "journal"))
    return entries


def previous_boot_entries(source: JournalSource, *, kernel_version: str, crashed_at: float) -> list[dict[str, str | bytes]]:
    """The boot before the current one, ending in a crash at `crashed_at`: the
    system comes up, a Nix build runs the machine out of memory, the OOM
    killer steps in, a CPU locks up and the kernel panics. Nothing is logged
    after the panic; the next boot's journald then finds the journal file
    uncleanly shut down (see seed_entries). Priorities range from emerg to info."""
    t0 = source.boot_time

    def kernel(at: float, message: str, priority: int) -> dict[str, str | bytes]:
        return source.entry(at, message, priority=priority, identifier="kernel", transport="kernel")

    def systemd(at: float, message: str, priority: int, unit: str) -> dict[str, str | bytes]:
        return source.entry(at, message, priority=priority, identifier="systemd",
                            unit="init.scope", pid=1, extra={"UNIT": unit})

    return [
        kernel(t0, f"Linux version {kernel_version} (nixbld@localhost) (gcc (GCC) 13.2.0, "
                   f"GNU ld (GNU Binutils) 2.41) #1-NixOS SMP PREEMPT_DYNAMIC Tue Jan  1 00:00:00 UTC 1980", 5),
        systemd(t0 + 2.8, "Started systemd-journald.service - Journal Service.", 6, "systemd-journald.service"),
        source.entry(t0 + 3.9, "Server listening on 0.0.0.0 port 22.", priority=6, identifier="sshd",
                     unit="sshd.service", pid=698, transport="syslog"),
        systemd(t0 + 5.1, "Reached target multi-user.target - Multi-User System.", 6, "multi-user.target"),
        source.entry(crashed_at - 600, "building '/nix/store/0r4y5bdcbqd4k8q1a2dwr2rjyh0xw6a1-firefox-121.0.drv'...",
                     priority=6, identifier="nix-daemon", unit="nix-daemon.service", pid=3120),
        kernel(crashed_at - 95, "cc1plus invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
                                "order=0, oom_score_adj=0", 4),
        kernel(crashed_at - 95, "Out of memory: Killed process 3187 (cc1plus) total-vm:9123456kB, "
                                "anon-rss:7012345kB, file-rss:0kB, shmem-rss:0kB, UID:30001 pgtables:14212kB "
                                "oom_score_adj:0", 3),
        systemd(crashed_at - 94, "nix-daemon.service: A process of this unit has been killed by the OOM killer.",
                5, "nix-daemon.service"),
        kernel(crashed_at - 22, "watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:2:211]", 0),
        kernel(crashed_at, "Kernel panic - not syncing: softlockup: hung tasks", 0),
    ]
