"""Per-host state behind the shims, in the directory mounted on
/var/lib/nixdeck-testhost inside the host.

The files hold data only; the shims in shims/ turn it into each tool's exact
output format. Files are replaced in one step so that a shim never reads a
half-written file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from .units import describe, list_units_order

POWER_PROFILES = ("power-saver", "balanced", "performance")


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class HostState:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def set_failed_units(self, units: list[str] | tuple[str, ...]) -> None:
        """`failed-units`: "unit<TAB>description" lines in list-units order."""
        lines = [f"{unit}\t{describe(unit)}\n" for unit in sorted(set(units), key=list_units_order)]
        _write_atomically(self.directory / "failed-units", "".join(lines))

    def set_power_profile(self, profile: str) -> None:
        if profile not in POWER_PROFILES:
            raise ValueError(f"unknown power profile {profile!r}")
        _write_atomically(self.directory / "power-profile", profile + "\n")

    def write_boot_timings(self, role: str, seed: str) -> None:
        """`boot-times` (shell assignments, milliseconds) and `blame`
        ("milliseconds unit" lines), varied per host by `seed`.

        Servers boot without the UEFI firmware/loader phases and stop at
        multi-user.target; the others are UEFI desktops."""
        rng = random.Random(seed)
        uefi = role != "server"
        userspace = rng.randint(4_000, 12_000)
        times = {
            "FIRMWARE_MS": rng.randint(2_000, 9_000) if uefi else 0,
            "LOADER_MS": rng.randint(1_000, 5_000) if uefi else 0,
            "KERNEL_MS": rng.randint(1_000, 9_000),
            "INITRD_MS": rng.randint(1_000, 3_000),
            "USERSPACE_MS": userspace,
            "TARGET_MS": userspace - rng.randint(100, 900),
        }
        text = "".join(f"{key}={value}\n" for key, value in times.items())
        text += f"DEFAULT_TARGET={'graphical.target' if uefi else 'multi-user.target'}\n"
        _write_atomically(self.directory / "boot-times", text)

        wait_online = "NetworkManager-wait-online.service" if uefi else "systemd-networkd-wait-online.service"
        blame = {
            wait_online: rng.randint(2_000, 7_000),
            "nix-gc.service": rng.randint(61_000, 90_000),  # a timer's run: shows the "1min 6.855s" form
            "systemd-udev-settle.service": rng.randint(900, 2_500),
            "nginx.service": rng.randint(100, 600),
            "sshd.service": rng.randint(20, 200),
            "systemd-journald.service": rng.randint(50, 300),
            "systemd-logind.service": rng.randint(40, 250),
            "systemd-tmpfiles-setup.service": rng.randint(10, 90),
            "systemd-remount-fs.service": 1_000,  # whole seconds print without decimals ("1s")
            "dev-disk-by\\x2duuid-5e6f.swap": rng.randint(5, 40),
        }
        _write_atomically(self.directory / "blame", "".join(f"{ms} {unit}\n" for unit, ms in blame.items()))

    def switch_log(self) -> list[str]:
        """Lines switch-to-configuration appended: "epoch store-path action"."""
        try:
            return (self.directory / "switch.log").read_text().splitlines()
        except FileNotFoundError:
            return []
