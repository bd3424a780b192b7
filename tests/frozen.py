"""A fleet with frozen data: monitors filled in by hand, never connected.

Snapshot tests and the layout tests need the same screen on every run, so the
figures here are fixed and `NOW` stands in for the clock.
"""

from __future__ import annotations

import math

from config.settings import HostConfig, Settings
from console.app import NixdeckApp
from console.audit import AuditLog
from console.fleet import Fleet
from console.model import (
    BootTime,
    CpuTimes,
    DiskUsage,
    Facts,
    FailedUnit,
    Generation,
    HostState,
    HostStatus,
    JournalEntry,
    MemInfo,
    NetCounters,
    PowerSupply,
    RawSample,
    Sample,
    Temperature,
)

NOW = 1_780_000_000.0  # a fixed "now" (epoch seconds) for every frozen figure
GIB = 1024**3


class FrozenFleet(Fleet):
    """A Fleet whose monitors never run: tests set their state directly."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.settings = settings

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def frozen_settings(hosts: list[tuple[str, tuple[str, ...]]]) -> Settings:
    return Settings(
        hosts=tuple(HostConfig(name=name, address="192.0.2.1", tags=tags) for name, tags in hosts),
        ssh={"known_hosts": ()},
    )


def history(name_seed: int, cores: int, count: int = 60, *, swap_gib: float = 0.0, disk_percent: float = 40.0,
            battery: int | None = None, on_ac: bool | None = None, temperature: float | None = 48.0) -> list[Sample]:
    """`count` samples one second apart ending at NOW, with a gentle wave of
    load so that sparklines have a shape."""
    samples = []
    for i in range(count):
        wave = 0.5 + 0.5 * math.sin((i + name_seed * 7) / 6)
        cpu = 8 + 50 * wave
        mem_total = 32 * GIB
        power: tuple[PowerSupply, ...] = ()
        if battery is not None:
            power = (
                PowerSupply("BAT0", "Battery", capacity=battery, status="Charging" if on_ac else "Discharging",
                            energy_now_wh=battery * 0.57, energy_full_wh=57.0, power_now_w=None if on_ac else 9.4),
                PowerSupply("AC", "Mains", online=on_ac),
            )
        raw = RawSample(
            uptime_s=86400 * 3 + 3600 * name_seed + i,
            cpu=CpuTimes(total=1000 * i, idle=int(1000 * i * (1 - cpu / 100))),
            per_cpu=tuple(CpuTimes(total=250 * i, idle=125 * i) for _ in range(cores)),
            mem=MemInfo(total=mem_total, available=int(mem_total * (0.62 - 0.1 * wave)),
                        swap_total=int(8 * GIB), swap_free=int((8 - swap_gib) * GIB)),
            load=(round(cores * cpu / 100, 2), 1.02, 0.87),
            net=(NetCounters("eth0", rx_bytes=1_000_000 * i, tx_bytes=200_000 * i),),
            disks=(
                DiskUsage("/", "/dev/nvme0n1p2", "ext4", 500 * GIB, int(500 * GIB * disk_percent / 100),
                          int(500 * GIB * (1 - disk_percent / 100))),
                DiskUsage("/boot", "/dev/nvme0n1p1", "vfat", GIB // 2, GIB // 8, GIB // 2 - GIB // 8),
            ),
            temperatures=(Temperature("Package id 0", temperature),) if temperature is not None else (),
            power=power,
        )
        samples.append(Sample(
            raw=raw, taken_at=NOW - count + i + 1, cpu_percent=cpu,
            per_cpu_percent=tuple(min(100.0, cpu * (0.6 + 0.3 * core)) for core in range(cores)),
            net_rx_bps=1_200_000 * wave + 30_000, net_tx_bps=180_000 * wave + 4_000,
            disk_read_bps=0.0, disk_write_bps=65_536.0,
        ))
    return samples


def facts(hostname: str, generations: int, *, current: int | None = None, booted: int | None = None,
          failed: tuple[str, ...] = ()) -> Facts:
    current = current or generations
    booted = booted or current
    gens = tuple(
        Generation(n, f"/nix/store/{'abcdefghijklmnopqrstuvwxyz012345'[:32 - len(str(n))]}{n}-nixos-system-{hostname}",
                   created=NOW - 86400 * (generations - n + 1))
        for n in range(1, generations + 1)
    )
    by_number = {g.number: g.store_path for g in gens}
    return Facts(
        hostname=hostname, os_name="NixOS", os_id="nixos", is_nixos=True, kernel="6.6.32",
        nixos_version="24.05.20240601.abcdef0 (Uakari)",
        current_system=by_number[current], booted_system=by_number[booted], profile_system=by_number[current],
        current_generation=current, booted_generation=booted, profile_generation=current, generations=gens,
        failed_units=tuple(FailedUnit(unit, "loaded", "failed", "failed", f"{unit} service") for unit in failed),
        boot_time=BootTime(total_s=14.2, firmware_s=5.1, loader_s=1.2, kernel_s=2.3, initrd_s=1.9, userspace_s=3.7),
        boot_id="0d3c5d0b9c2f4f0e8f1e2d3c4b5a6978",
    )


def journal(hostname: str, count: int = 12) -> list[JournalEntry]:
    lines = [
        (6, "sshd.service", "sshd", "Accepted publickey for root from 192.168.1.10 port 52814 ssh2"),
        (6, "systemd-logind.service", "systemd-logind", "New session 4 of user root."),
        (3, "nginx.service", "nginx", "bind() to 0.0.0.0:80 failed (98: Address already in use)"),
        (4, "systemd-journald.service", "systemd-journald", "Journal file uncleanly shut down, renaming."),
        (5, "init.scope", "systemd", "Finished nixos-upgrade.service - NixOS Upgrade."),
        (7, "NetworkManager.service", "NetworkManager", "dhcp4 (wlp2s0): state changed new lease"),
    ]
    entries = []
    for i in range(count):
        priority, unit, identifier, message = lines[i % len(lines)]
        entries.append(JournalEntry(
            cursor=f"s=frozen;h={hostname};i={i}", timestamp=NOW - 60 * (count - i), priority=priority,
            message=message, unit=unit, identifier=identifier, pid=700 + i, hostname=hostname,
            fields={"MESSAGE": message, "PRIORITY": str(priority), "_HOSTNAME": hostname,
                    "_SYSTEMD_UNIT": unit, "SYSLOG_IDENTIFIER": identifier},
        ))
    return entries


def frozen_fleet() -> FrozenFleet:
    """Five hosts in every state the overview has to show well."""
    fleet = FrozenFleet(frozen_settings([
        ("p620", ("workstation",)), ("razer", ("laptop",)), ("lab-nas", ("server",)),
        ("dex5550", ("server",)), ("new-laptop", ("laptop",)),
    ]))
    up = HostStatus(HostState.UP, since=NOW - 3600, last_seen=NOW)

    p620 = fleet["p620"]
    p620.status = up
    p620.facts = facts("p620", 6, booted=5)
    p620.history.extend(history(1, 8, swap_gib=0.4))

    razer = fleet["razer"]
    razer.status = up
    razer.facts = facts("razer", 3)
    razer.history.extend(history(2, 4, battery=12, on_ac=False, temperature=71.0))

    dex = fleet["dex5550"]
    dex.status = up
    dex.facts = facts("dex5550", 4, failed=("nginx.service",))
    dex.history.extend(history(3, 4, disk_percent=93.0))

    nas = fleet["lab-nas"]
    nas.status = HostStatus(HostState.DOWN, since=NOW - 130, error="connection refused", last_seen=NOW - 130,
                            next_attempt=NOW + 8)
    nas.facts = facts("lab-nas", 5)

    new = fleet["new-laptop"]
    new.status = HostStatus(HostState.HOST_KEY_UNKNOWN, since=NOW - 5,
                            error="host key not in known_hosts",
                            fingerprint="SHA256:Vq1yPjk0n1Jd7rN4cNoWnQ3fX0pZbq5m2oT8hYc6e2E")
    for monitor in fleet.monitors.values():
        if monitor.facts is not None:
            monitor.journal.extend(journal(monitor.name))
    return fleet


def frozen_app(audit: AuditLog | None = None) -> NixdeckApp:
    """The real app showing the frozen fleet, its clock stopped at NOW."""
    fleet = frozen_fleet()
    return NixdeckApp(fleet.settings, fleet=fleet, clock=lambda: NOW, audit=audit)
