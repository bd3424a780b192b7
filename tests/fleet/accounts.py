"""The logins of a test host besides root, for the privilege paths a NixOS
fleet really has: most hosts are reached as a user with sudo, not as root.

Each host's namespace sees its own copies of /etc/passwd, /etc/group,
/etc/shadow and /etc/sudoers (the machine's own, plus these accounts) and
/etc/hosts (plus its hostname, which sudo looks up), bind mounted by the
host's init, so the machine running the tests is untouched.
sudo is Debian's real one, authenticating through PAM against that shadow.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

OPERATOR_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    sudo: str | None  # the sudoers rule, None for no sudo at all


ACCOUNTS = (
    Account("deploy", 2001, "deploy ALL=(root) NOPASSWD: ALL"),  # sudo -n works
    Account("operator", 2002, "operator ALL=(root) ALL"),  # sudo wants OPERATOR_PASSWORD
    Account("guest", 2003, None),  # no way to root
)

SUDOERS = """\
# sudoers of a nixdeck test host
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults !lecture
root ALL=(ALL:ALL) ALL
"""


def password_hash(password: str) -> str:
    return subprocess.run(["openssl", "passwd", "-6", "-salt", "nixdecktest", password], capture_output=True,
                          text=True, check=True).stdout.strip()


def write_accounts(etc: Path, hostname: str) -> None:
    """etc/passwd, group, shadow, sudoers and hosts for a host, from the machine's own."""
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    shadow = Path("/etc/shadow").read_text()
    sudoers = SUDOERS
    for account in ACCOUNTS:
        passwd += f"{account.name}:x:{account.uid}:{account.uid}:nixdeck test login:/tmp:/bin/sh\n"
        group += f"{account.name}:x:{account.uid}:\n"
        # "*" is no password but not locked: sshd still lets the key in.
        secret = password_hash(OPERATOR_PASSWORD) if account.name == "operator" else "*"
        shadow += f"{account.name}:{secret}:20000:0:99999:7:::\n"
        if account.sudo:
            sudoers += account.sudo + "\n"
    hosts = Path("/etc/hosts").read_text() + f"127.0.1.1 {hostname}\n"
    for name, text, mode in (("hosts", hosts, 0o644), ("passwd", passwd, 0o644), ("group", group, 0o644), ("shadow", shadow, 0o640),
                             ("sudoers", sudoers, 0o440)):
        path = etc / name
        path.write_text(text)
        path.chmod(mode)
