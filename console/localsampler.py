"""The machine nixdeck runs on, read through psutil into the same RawSample a
remote host's sampler frame gives. Imported only when a local host is
watched, so remote-only runs skip psutil."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

from console.model import (
    CpuTimes,
    DiskIO,
    DiskUsage,
    MemInfo,
    NetCounters,
    PowerSupply,
    RawSample,
    Temperature,
)
from console.sampler import (
    PLAUSIBLE_CELSIUS,
    POWER_SUPPLY_ATTRS,
    is_real_filesystem,
    is_whole_disk,
    power_supply,
    real_filesystems,
)

_CPU_TIME_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_LOCAL_POWER_ROOT = Path("/sys/class/power_supply")


def _ticks(times: object) -> CpuTimes:
    """psutil's seconds as /proc/stat-like ticks (the first eight columns;
    psutil names only those a platform has)."""
    seconds = {f: getattr(times, f, 0.0) for f in _CPU_TIME_FIELDS}
    as_ticks = {f: round(s * _TICKS_PER_SECOND) for f, s in seconds.items()}
    return CpuTimes(total=sum(as_ticks.values()), idle=as_ticks["idle"] + as_ticks["iowait"])


def _local_uptime() -> float:
    # CLOCK_BOOTTIME is /proc/uptime's own clock and never jumps with NTP.
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.time() - psutil.boot_time()


def _local_disks() -> tuple[DiskUsage, ...]:
    usages: list[DiskUsage] = []
    for part in psutil.disk_partitions(all=False):
        # Filter before statting: disk_usage on a hung network mount blocks.
        if not is_real_filesystem(part.fstype, part.device, part.mountpoint):
            continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        usages.append(DiskUsage(part.mountpoint, part.device, part.fstype,
                                usage.total, usage.used, usage.free))
    return real_filesystems(usages)


def _local_temperatures() -> tuple[Temperature, ...]:
    sensors = getattr(psutil, "sensors_temperatures", None)
    readings: list[Temperature] = []
    for chip, entries in (sensors() if sensors else {}).items():
        for entry in entries:
            if PLAUSIBLE_CELSIUS[0] < entry.current < PLAUSIBLE_CELSIUS[1]:
                label = f"{chip} {entry.label}" if entry.label else chip
                readings.append(Temperature(label, float(entry.current)))
    return tuple(readings)


def _read_attr(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _local_power() -> tuple[PowerSupply, ...]:
    try:
        directories = sorted(_LOCAL_POWER_ROOT.iterdir())
    except OSError:
        return _psutil_battery()
    supplies: list[PowerSupply] = []
    for directory in directories:
        attrs = {a: v for a in POWER_SUPPLY_ATTRS if (v := _read_attr(directory / a)) is not None}
        supply = power_supply(directory.name, attrs)
        if supply is not None:
            supplies.append(supply)
    return tuple(supplies)


def _psutil_battery() -> tuple[PowerSupply, ...]:
    """Where there is no /sys (macOS, BSD): psutil's battery summary."""
    sensors_battery = getattr(psutil, "sensors_battery", None)
    battery = sensors_battery() if sensors_battery else None
    if battery is None:
        return ()
    plugged = battery.power_plugged
    status = None if plugged is None else ("Charging" if plugged else "Discharging")
    supplies = [PowerSupply("battery", "Battery", capacity=round(battery.percent), status=status)]
    if plugged is not None:
        supplies.append(PowerSupply("AC", "Mains", online=plugged))
    return tuple(supplies)


def read_local_sample() -> RawSample:
    """The machine the console runs on, in the same terms as a host's frame."""
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    disk_counters = psutil.disk_io_counters(perdisk=True) or {}
    disk_names = set(disk_counters)
    return RawSample(
        uptime_s=_local_uptime(),
        cpu=_ticks(psutil.cpu_times()),
        per_cpu=tuple(_ticks(t) for t in psutil.cpu_times(percpu=True)),
        mem=MemInfo(memory.total, memory.available, swap.total, swap.free),
        load=tuple(psutil.getloadavg()),  # type: ignore[arg-type]
        net=tuple(
            NetCounters(name, c.bytes_recv, c.bytes_sent, os.path.exists(f"/sys/devices/virtual/net/{name}"))
            for name, c in psutil.net_io_counters(pernic=True).items()
            if name not in ("lo", "lo0")
        ),
        disk_io=tuple(
            DiskIO(name, c.read_bytes, c.write_bytes)
            for name, c in disk_counters.items()
            if is_whole_disk(name, disk_names)
        ),
        disks=_local_disks(),
        temperatures=_local_temperatures(),
        power=_local_power(),
    )
