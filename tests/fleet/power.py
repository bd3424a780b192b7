"""A laptop's /sys/class/power_supply: BAT0 and AC, as the ACPI drivers lay
them out (attribute files plus a `uevent` file with the same values under
POWER_SUPPLY_* keys, in the driver's property order).
"""

from __future__ import annotations

import os
from pathlib import Path

BATTERY_STATUSES = ("Charging", "Discharging", "Not charging", "Full", "Unknown")

ENERGY_FULL_DESIGN = 57_000_000  # µWh
ENERGY_FULL = 51_290_000  # µWh: a battery that has aged a little
VOLTAGE_MIN_DESIGN = 15_440_000  # µV


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step so that a reader inside the host never sees
    a half-written value."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _capacity_level(capacity: int, status: str) -> str:
    if status == "Full" or capacity >= 100:
        return "Full"
    if capacity <= 5:
        return "Critical"
    if capacity <= 15:
        return "Low"
    return "Normal"


def write_power_supply(directory: Path, capacity: int, status: str, ac_online: bool) -> None:
    """Write BAT0/ and AC/ under `directory` (the host's /sys/class/power_supply)."""
    if not 0 <= capacity <= 100:
        raise ValueError(f"battery capacity {capacity} is not a percentage")
    if status not in BATTERY_STATUSES:
        raise ValueError(f"battery status {status!r} is not one of {BATTERY_STATUSES}")
    power_now = {"Discharging": 7_404_000, "Charging": 24_870_000}.get(status, 0)
    battery = {
        "type": "Battery",
        "status": status,
        "present": "1",
        "technology": "Li-poly",
        "cycle_count": "134",
        "voltage_min_design": str(VOLTAGE_MIN_DESIGN),
        "voltage_now": str(VOLTAGE_MIN_DESIGN + 10_000 * capacity),
        "power_now": str(power_now),
        "energy_full_design": str(ENERGY_FULL_DESIGN),
        "energy_full": str(ENERGY_FULL),
        "energy_now": str(ENERGY_FULL * capacity // 100),
        "capacity": str(capacity),
        "capacity_level": _capacity_level(capacity, status),
        "model_name": "5B10W13930",
        "manufacturer": "SMP",
        "serial_number": " 1234",
    }
    mains = {"type": "Mains", "online": "1" if ac_online else "0"}
    for name, attributes in (("BAT0", battery), ("AC", mains)):
        device = directory / name
        device.mkdir(parents=True, exist_ok=True)
        for attribute, value in attributes.items():
            _write_atomically(device / attribute, value + "\n")
        uevent = [f"POWER_SUPPLY_NAME={name}"]
        uevent += [f"POWER_SUPPLY_{attribute.upper()}={value}" for attribute, value in attributes.items()]
        _write_atomically(device / "uevent", "\n".join(uevent) + "\n")
    # thinkpad_acpi's charge thresholds: attribute files only, not in uevent.
    for attribute, value in (("charge_control_start_threshold", "75"), ("charge_control_end_threshold", "80")):
        _write_atomically(directory / "BAT0" / attribute, value + "\n")
