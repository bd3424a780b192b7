"""Processes and ports of test hosts: starting namespaces that cannot outlive
the test run, killing them by pid, and waiting on their sshd port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)

# PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not
# the process. Forking every long-lived namespace from this one thread, which
# lives as long as the interpreter, keeps a namespace alive when the
# (possibly short-lived) thread that asked for it ends.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="testfleet-spawner")


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGKILL it when we die, even
    if we are SIGKILLed ourselves and no cleanup code runs."""
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)


def spawn_tied(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start `argv` so that it is SIGKILLed when this process dies.

    Its own session keeps a Ctrl-C at the terminal from reaching it, so
    cleanup stays with the fleet. Output is appended to `log`.
    """
    with log.open("ab") as out:
        return _spawner.submit(
            subprocess.Popen, argv,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent, start_new_session=True,
        ).result()


def child_pid(parent: int, timeout: float = 5.0) -> int:
    """The pid of `parent`'s only child (unshare's forked namespace init)."""
    deadline = time.monotonic() + timeout
    path = Path(f"/proc/{parent}/task/{parent}/children")
    while True:
        try:
            children = path.read_text().split()
        except FileNotFoundError:
            children = []
        if children:
            return int(children[0])
        if time.monotonic() > deadline:
            raise RuntimeError(f"process {parent} started no child within {timeout}s")
        time.sleep(0.005)


def pid_exists(pid: int) -> bool:
    """True while `pid` exists (zombies included: not yet reaped)."""
    return os.path.exists(f"/proc/{pid}")


def reserve_port(address: str) -> socket.socket:
    """Pick a free port (bind to port 0) and keep it bound, never listening.

    While this socket exists the kernel will not hand the port out as the
    source port of an outgoing connection or to another bind(0), so a host
    killed to simulate an outage can always be revived on the same port.
    sshd can still listen there because both sockets set SO_REUSEADDR and
    this one never listens.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, 0))
    return sock


def wait_for_ssh_banner(address: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once sshd on the port sends its banner; fail fast if `proc` dies."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd on port {port} exited with status {proc.returncode}")
        try:
            with socket.create_connection((address, port), timeout=1) as conn:
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"sshd on port {port} did not answer within {timeout}s")
        time.sleep(0.01)


def wait_for_refusal(address: str, port: int, timeout: float) -> None:
    """Return once connecting to the port is refused."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=1):
                pass
        except ConnectionRefusedError:
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} still accepts connections after {timeout}s")
        time.sleep(0.01)
