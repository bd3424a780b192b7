"""A fleet of test hosts sharing one client key and one known_hosts file."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import keys
from .host import SSHD, TestHost
from .journal import JOURNAL_REMOTE
from .process import pid_exists, reserve_port
from .spec import HostSpec

# Fleets not stopped yet; stopped at interpreter exit in case a test run ends
# without its fixtures' teardown (PR_SET_PDEATHSIG covers a killed run).
_live_fleets: set[TestFleet] = set()

_REQUIRED_TOOLS = (SSHD, JOURNAL_REMOTE, "unshare", "nsenter", "nix-store", "nix-env", "journalctl", "ssh-keygen",
                   "sudo", "openssl")


def preflight() -> str | None:
    """Why test hosts cannot run on this machine, or None if they can."""
    if os.geteuid() != 0:
        return "test hosts need root (namespaces and bind mounts)"
    for tool in _REQUIRED_TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc", "true"],
        capture_output=True, text=True, check=False,
    )
    if probe.returncode != 0:
        return f"cannot create mount/UTS/PID namespaces: {probe.stderr.strip()}"
    return None


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value)


class TestFleet:
    """Test hosts under one directory. Use start() to add hosts, stop() to end."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hosts: list[TestHost] = []
        self.client_key = self.root / "client" / "id_ed25519"
        self.client_key.parent.mkdir(exist_ok=True)
        keys.generate_ed25519(self.client_key, "nixdeck-testfleet-client")
        self.authorized_keys = self.root / "authorized_keys"
        self.authorized_keys.write_text(keys.public_key(self.client_key) + "\n")
        self.known_hosts = self.root / "known_hosts"
        self.known_hosts.write_text("")
        # An empty OpenSSH client config, so that nothing of the user's own
        # ~/.ssh/config leaks into tests.
        self.ssh_config = self.root / "ssh_config"
        self.ssh_config.write_text("")
        _live_fleets.add(self)

    def __repr__(self) -> str:
        return f"<TestFleet {self.root} hosts={[h.name for h in self.hosts]}>"

    def start(self, specs: list[HostSpec]) -> list[TestHost]:
        """Build and start hosts in parallel; return them once every sshd answers."""
        names = [spec.name for spec in specs] + [host.name for host in self.hosts]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"duplicate host names: {sorted(duplicates)}")
        now = time.time()
        reservations = [reserve_port(TestHost.address) for _ in specs]

        def build(spec: HostSpec, reservation: socket.socket) -> TestHost:
            return TestHost(spec, self.root / "hosts" / spec.name, reservation, self.authorized_keys, now)

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="testfleet-build") as pool:
            futures = [pool.submit(build, spec, sock) for spec, sock in zip(specs, reservations)]
        built, errors = [], []
        for future, reservation in zip(futures, reservations):
            if future.exception() is None:
                built.append(future.result())
            else:
                reservation.close()
                errors.append(future.exception())
        self.hosts += built  # so that stop() also cleans up after a partial failure
        if errors:
            raise errors[0]
        self._write_known_hosts()
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="testfleet-start") as pool:
            list(pool.map(TestHost.start, built))
        return built

    def host(self, name: str) -> TestHost:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def _write_known_hosts(self) -> None:
        lines = [
            keys.known_hosts_line(host.address, host.port, host.host_key)
            for host in self.hosts if host.spec.known
        ]
        self.known_hosts.write_text("".join(line + "\n" for line in lines))

    def config_toml(self, hosts: list[TestHost] | None = None, *, extra: str = "") -> str:
        """A nixdeck config for `hosts` (default: all). `extra` is appended
        verbatim after the [ssh] table, so it should start with a table header."""
        lines: list[str] = []
        for host in self.hosts if hosts is None else hosts:
            lines += [
                "[[hosts]]",
                f"name = {_toml_string(host.name)}",
                f"address = {_toml_string(host.address)}",
                f"port = {host.port}",
                'user = "root"',
                f"identity_file = {_toml_string(str(self.client_key))}",
                f"tags = [{_toml_string(host.role)}]",
                "",
            ]
        lines += [
            "[ssh]",
            f"known_hosts = {_toml_string(str(self.known_hosts))}",
            f"config_file = {_toml_string(str(self.ssh_config))}",
            "connect_timeout = 5",
            "keepalive = 5",
            "reconnect_max = 2",
            "",
        ]
        text = "\n".join(lines)
        if extra:
            text += "\n" + extra
        return text

    def stop(self) -> None:
        """Kill every host by pid and check that none of its processes is
        left. Idempotent."""
        for host in self.hosts:
            host.close()
        leftovers = [(host.name, pid) for host in self.hosts for pid in host.pids() if pid_exists(pid)]
        _live_fleets.discard(self)
        if leftovers:
            raise RuntimeError(f"test host processes survived stop(): {leftovers}")


@atexit.register
def _stop_live_fleets() -> None:
    for fleet in list(_live_fleets):
        fleet.stop()
