"""SSH keys of the test fleet: host keys, the client key and known_hosts."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path


def generate_ed25519(path: Path, comment: str) -> None:
    """Write a fresh unencrypted ed25519 key pair to `path` and `path`.pub,
    replacing any existing pair."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".pub").unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True, capture_output=True,
    )


def public_key(path: Path) -> str:
    """"ssh-ed25519 AAAA..." of the pair at `path` (without the comment)."""
    key_type, blob = path.with_name(path.name + ".pub").read_text().split()[:2]
    return f"{key_type} {blob}"


def fingerprint(path: Path) -> str:
    """The key's SHA256 fingerprint exactly as `ssh-keygen -lf` prints it."""
    blob = base64.b64decode(public_key(path).split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def known_hosts_line(address: str, port: int, host_key: Path) -> str:
    """A known_hosts entry; OpenSSH writes non-default ports as [addr]:port."""
    host = address if port == 22 else f"[{address}]:{port}"
    return f"{host} {public_key(host_key)}"
