"""systemd unit facts shared by the journal seed and the systemctl shim's state."""

from __future__ import annotations

# Descriptions as the NixOS modules set them; systemd shows the unit name
# when a unit has none.
UNIT_DESCRIPTIONS = {
    "sshd.service": "SSH Daemon",
    "nginx.service": "Nginx Web Server",
    "systemd-logind.service": "User Login Management",
    "systemd-journald.service": "Journal Service",
    "nix-daemon.service": "Nix Daemon",
    "nix-gc.service": "Nix Garbage Collector",
    "restic-backups-daily.service": "restic backup daily",
    "tailscaled.service": "Tailscale node agent",
    "power-profiles-daemon.service": "Power Profiles daemon",
    "NetworkManager.service": "Network Manager",
    "NetworkManager-wait-online.service": "Network Manager Wait Online",
    "systemd-networkd-wait-online.service": "Wait for Network to be Configured",
}


def describe(unit: str) -> str:
    return UNIT_DESCRIPTIONS.get(unit, unit)


def list_units_order(unit: str) -> tuple[str, str]:
    """Sort key of `systemctl list-units` (unit_info_compare): by unit type
    suffix, then by name, both case-insensitively."""
    return unit.rsplit(".", 1)[-1].lower(), unit.lower()
