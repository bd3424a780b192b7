"""One test host: a real sshd in its own mount, UTS and PID namespaces,
dressed up as a NixOS machine by bind mounts from its directory.

Layout of a host directory (everything persists across kill/revive):

    etc/os-release, etc/hostname, etc/machine-id   bind-mounted over /etc's
    boot_id              -> /proc/sys/kernel/random/boot_id (journalctl -b, -f)
    nix/                 -> /nix (its own store and profiles)
    run/                 -> /run (sshd/, current-system, booted-system)
    journal/             -> /var/log/journal
    power_supply/        -> /sys/class/power_supply (empty unless a laptop)
    var-lib/             -> /var/lib, holding nixdeck-testhost/ (shim state)
    home/                -> /root
    sbin/                -> /usr/local/sbin (the shims)
    ssh/                    host key and sshd_config
    sshd.log                sshd's own log (-e), for debugging
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from . import keys
from .accounts import write_accounts
from .flood import JournalFlood
from .hoststate import HostState
from .journal import Journal, JournalSource, previous_boot_entries, seed_entries
from .nixstore import build_store, os_release, plan_store
from .power import write_power_supply
from .process import child_pid, spawn_tied, wait_for_refusal, wait_for_ssh_banner
from .spec import GenerationTruth, HostSpec

SSHD = "/usr/sbin/sshd"
SHIMS = Path(__file__).parent / "shims"
LAPTOP_ONLY_SHIMS = {"powerprofilesctl"}

# What a root session sees: the shims first, then Debian's tools, then the
# running generation's sw/bin (nixos-version) last, so that the stand-in
# packages there never shadow a real tool.
SESSION_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/run/current-system/sw/bin"
SESSION_ENV = {"PATH": SESSION_PATH, "HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/bash"}

START_TIMEOUT = 15.0

# Runs as the namespace's init (pid 1) until it execs sshd. $1 is the host
# directory, $2 the hostname.
_INIT = """
h=$1
hostname "$2"
mount --bind "$h/etc/os-release" /etc/os-release
mount --bind "$h/etc/hostname" /etc/hostname
mount --bind "$h/etc/machine-id" /etc/machine-id
mount --bind "$h/boot_id" /proc/sys/kernel/random/boot_id
mount --bind "$h/nix" /nix
mount --bind "$h/run" /run
mount --bind "$h/journal" /var/log/journal
mount --bind "$h/power_supply" /sys/class/power_supply
mount --bind "$h/var-lib" /var/lib
mount --bind "$h/home" /root
mount --bind "$h/sbin" /usr/local/sbin
for f in hosts passwd group shadow sudoers; do
  [ -e "/etc/$f" ] && mount --bind "$h/etc/$f" "/etc/$f"
done
exec /usr/sbin/sshd -D -e -f "$h/ssh/sshd_config"
"""

_SSHD_CONFIG = """\
# sshd of nixdeck test host {name}
ListenAddress {address}
Port {port}
HostKey {host_key}
PidFile {pid_file}
# The second copy is for the logins besides root (see accounts.py): they
# cannot reach the first, under the test run's private directories.
AuthorizedKeysFile {authorized_keys} /run/nixdeck-test/authorized_keys
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# Parallel sessions and connection bursts from the console under test.
MaxSessions 32
MaxStartups 100
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
SetEnv PATH={path}
Subsystem sftp /usr/lib/openssh/sftp-server
"""


class TestHost:
    """A running (or killed) test host, and the truth it was built with.

    `generations`, `current_generation` and `booted_generation` describe the
    host as built; once a test changes it (switch, delete generations), read
    the live state with `run()`.
    """

    __test__ = False  # not a pytest test class despite the name

    address = "127.0.0.1"

    def __init__(self, spec: HostSpec, root: Path, port: socket.socket, authorized_keys: Path, now: float) -> None:
        """Build the host on disk (keys, Nix store, journal...). Does not start it.

        `port` is a socket bound to the host's port (see process.reserve_port);
        the host keeps it until close().
        """
        self.spec = spec
        self.name = spec.name
        self.laptop = spec.laptop
        self.role = spec.role
        self.root = root
        self._port_reservation = port
        self.port: int = port.getsockname()[1]
        self.machine_id = uuid.uuid4().hex
        self.boot_id = uuid.uuid4().hex
        self._proc: subprocess.Popen[bytes] | None = None
        self._init_pid: int | None = None

        for sub in ("etc", "run/sshd", "journal", "power_supply", "var-lib/nixdeck-testhost", "home", "sbin", "ssh"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "run/sshd").chmod(0o755)  # sshd refuses a group/world-writable privsep dir

        self.host_key = root / "ssh/ssh_host_ed25519_key"
        keys.generate_ed25519(self.host_key, f"root@{self.name}")
        self.host_key_fingerprint = keys.fingerprint(self.host_key)
        (root / "ssh/sshd_config").write_text(
            _SSHD_CONFIG.format(
                name=self.name, address=self.address, port=self.port, host_key=self.host_key,
                pid_file=root / "sshd.pid", authorized_keys=authorized_keys, path=SESSION_PATH,
            )
        )

        store = plan_store(self.name, spec.generations, spec.role, now)
        self.generations: list[GenerationTruth] = store.generations
        self.current_generation = spec.current
        self.booted_generation = spec.booted
        build_store(root / "nix", root / "home", store, self.current_generation)
        current = self.generations[self.current_generation - 1]
        booted = self.generations[self.booted_generation - 1]
        (root / "run/current-system").symlink_to(current.store_path)
        (root / "run/booted-system").symlink_to(booted.store_path)
        self._write_identity(current)
        write_accounts(root / "etc", self.name)
        shared_keys = root / "run/nixdeck-test/authorized_keys"
        shared_keys.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(authorized_keys, shared_keys)
        for path in (root / "run", shared_keys.parent):
            path.chmod(0o755)
        shared_keys.chmod(0o644)

        self._state = HostState(root / "var-lib/nixdeck-testhost")
        self._state.set_failed_units(spec.failed_units)
        self._state.write_boot_timings(spec.role, seed=self.name)
        if self.laptop:
            self._state.set_power_profile("balanced")
            write_power_supply(root / "power_supply", capacity=100, status="Full", ac_online=True)
        self._install_shims()

        # The host booted half an hour after its booted generation was built.
        self._journal_source = JournalSource(self.name, self.machine_id, self.boot_id, booted.created + 1800)
        self._journal = Journal(root / "journal", self.machine_id)
        self.seeded_entries = seed_entries(
            self._journal_source, kernel_version=booted.kernel_version, role=spec.role,
            failed_units=spec.failed_units, until=now - 300,
        )
        # Servers and laptops also keep the boot before, which crashed ten
        # minutes before this one (journalctl -b -1); a workstation's journal
        # holds this boot only, as on a freshly installed machine.
        self.previous_boot_id: str | None = None
        self.previous_boot_entries: list[dict[str, str | bytes]] = []
        if spec.role != "workstation":
            self.previous_boot_id = uuid.uuid4().hex
            boot_time = self._journal_source.boot_time
            previous = JournalSource(self.name, self.machine_id, self.previous_boot_id, boot_time - 86400)
            older = self.generations[max(self.booted_generation - 2, 0)]
            self.previous_boot_entries = previous_boot_entries(
                previous, kernel_version=older.kernel_version, crashed_at=boot_time - 600,
            )
        # One append, oldest first: journalctl orders boots as they were written.
        self._journal.append(self.previous_boot_entries + self.seeded_entries)

    def _write_identity(self, running: GenerationTruth) -> None:
        (self.root / "etc/hostname").write_text(self.name + "\n")
        (self.root / "etc/machine-id").write_text(self.machine_id + "\n")
        # The kernel's file is in UUID form; journalctl -b and -f match
        # entries against it, so it must be the host's own boot id.
        (self.root / "boot_id").write_text(str(uuid.UUID(self.boot_id)) + "\n")
        (self.root / "etc/os-release").write_text(os_release(running.nixos_version))

    def _install_shims(self) -> None:
        # Copies, not the repository's files: the mode must be right whatever
        # the checkout did with it.
        for shim in SHIMS.iterdir():
            if self.laptop or shim.name not in LAPTOP_ONLY_SHIMS:
                target = self.root / "sbin" / shim.name
                shutil.copyfile(shim, target)
                target.chmod(0o755)

    def __repr__(self) -> str:
        return f"<TestHost {self.name} {self.address}:{self.port} {'up' if self.is_running() else 'down'}>"

    # --- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Start sshd in fresh namespaces; return once it sends its banner."""
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running")
        if self._port_reservation.fileno() == -1:
            raise RuntimeError(f"{self.name} was closed")
        self._init_pid = None
        self._proc = spawn_tied(
            ["unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child",
             "--", "sh", "-ec", _INIT, "testhost-init", str(self.root), self.name],
            log=self.root / "sshd.log",
        )
        try:
            self._init_pid = child_pid(self._proc.pid)
            wait_for_ssh_banner(self.address, self.port, self._proc, START_TIMEOUT)
        except Exception as exc:
            self.kill()
            log = (self.root / "sshd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"test host {self.name} did not start: {exc}\nsshd.log:\n{log}") from exc

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the namespace's init, which takes every process of the host
        (sessions included) with it; return once the port refuses connections."""
        if self._proc is not None:
            if self._proc.poll() is None and self._init_pid is not None:
                try:
                    os.kill(self._init_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if self._proc.poll() is None and self._init_pid is None:
                self._proc.kill()  # unshare had no child yet; --kill-child covers a late one
            self._proc.wait(timeout=10)
        wait_for_refusal(self.address, self.port, timeout=10)

    def revive(self, new_key: bool = False) -> None:
        """Start a killed host again on the same port with the same state.

        With `new_key` it gets a new host key that is not in known_hosts, as a
        reinstalled machine would."""
        if new_key:
            keys.generate_ed25519(self.host_key, f"root@{self.name}")
            self.host_key_fingerprint = keys.fingerprint(self.host_key)
        self.start()

    def pids(self) -> list[int]:
        """Pids this host started (unshare and the namespace's init)."""
        return [pid for pid in (self._proc and self._proc.pid, self._init_pid) if pid]

    def close(self) -> None:
        """Kill the host and release its port for good. Idempotent."""
        if self._port_reservation.fileno() == -1:
            return
        self.kill()
        self._port_reservation.close()

    # --- reading and changing the host -------------------------------------

    def run(self, argv: list[str], check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the host (as a root session there would, minus
        sshd), to read the truth behind what nixdeck reports."""
        if not self.is_running() or self._init_pid is None:
            raise RuntimeError(f"{self.name} is not running")
        return subprocess.run(
            ["nsenter", "-t", str(self._init_pid), "-m", "-u", "-p", "--", *argv],
            check=check, input=input, capture_output=True, text=True, env=SESSION_ENV,
        )

    def log(
        self, message: str, *, priority: int = 6, unit: str = "nixdeck-test.service",
        identifier: str = "nixdeck-test", extra: dict[str, str | bytes] | None = None,
    ) -> None:
        """Append a journal entry stamped now (works while the host is killed)."""
        entry = self._journal_source.entry(  # the pid is made up: nothing runs
            time.time(), message, priority=priority, identifier=identifier, unit=unit, pid=4242, extra=extra,
        )
        self._journal.append([entry])

    def flood(self, rate: float, *, total: int | None = None) -> JournalFlood:
        """Start appending journal entries at `rate` a second through one
        long-lived journal-remote (see flood.py); stop() it when done."""
        return JournalFlood(self._journal, self._journal_source, rate, total=total).start()

    def switch_log(self) -> list[str]:
        """Calls of switch-to-configuration so far: "epoch store-path action"."""
        return self._state.switch_log()

    def set_failed_units(self, units: list[str]) -> None:
        self._state.set_failed_units(units)

    def set_battery(self, capacity: int, status: str = "Discharging", ac_online: bool = False) -> None:
        if not self.laptop:
            raise ValueError(f"{self.name} is not a laptop: it has no battery")
        write_power_supply(self.root / "power_supply", capacity, status, ac_online)
