"""What the fleet overview shows about each host, decided once for every
front end: the alerts a user must not miss, the order rows sort in, which
hosts a filter keeps, and the short figures cells are made of."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

from config.settings import HostConfig
from console.host import HostMonitor
from console.model import HostState, Sample

DISK_FULL_PERCENT = 90.0
BATTERY_LOW_PERCENT = 15


class Severity(IntEnum):
    """How loud an alert is; higher sorts first."""

    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing about a host that needs a look.

    `flag` is the few characters the host's row shows; `detail` is the full
    sentence for the alerts list and the host view.
    """

    host: str
    severity: Severity
    flag: str
    detail: str


def live_sample(monitor: HostMonitor) -> Sample | None:
    """The newest sample while the host is up; a down host's figures are stale."""
    return monitor.sample if monitor.status.state == HostState.UP else None


def host_alerts(monitor: HostMonitor, now: float | None = None) -> list[Alert]:
    """The host's alerts, most severe first."""
    now = time.time() if now is None else now
    name, status = monitor.name, monitor.status
    alerts: list[Alert] = []

    def add(severity: Severity, flag: str, detail: str) -> None:
        alerts.append(Alert(name, severity, flag, detail))

    if status.state == HostState.HOST_KEY_CHANGED:
        add(Severity.CRITICAL, "KEY", f"host key CHANGED, offered {status.fingerprint or 'an unknown key'}: "
            "refused; possible impersonation, check the host before updating known_hosts")
    elif status.state == HostState.HOST_KEY_UNKNOWN:
        add(Severity.WARNING, "key?", f"host key not in known_hosts, offered {status.fingerprint or 'a key'}: "
            "verify it on the host, then add it to known_hosts")
    elif status.state == HostState.AUTH_FAILED:
        add(Severity.CRITICAL, "auth", f"authentication failed: {status.error or 'no reason given'}")
    elif status.state == HostState.DOWN:
        seen = f", last seen {age_text(now - status.last_seen)} ago" if status.last_seen else ""
        retry = ""
        if status.next_attempt is not None:
            retry = f", retrying in {max(0, math.ceil(status.next_attempt - now))} s"
        add(Severity.CRITICAL, "down", f"down: {status.error or 'connection lost'}{seen}{retry}")

    facts = monitor.facts
    if facts is not None:
        if facts.failed_units:
            units = ", ".join(unit.unit for unit in facts.failed_units)
            count = len(facts.failed_units)
            add(Severity.CRITICAL, f"{count} failed", f"{count} failed unit{'s' if count > 1 else ''}: {units}")
        if facts.reboot_pending:
            running = _generation_text(facts.current_generation)
            booted = _generation_text(facts.booted_generation)
            add(Severity.WARNING, "reboot", f"reboot pending: running {running}, booted {booted}")

    sample = live_sample(monitor)
    if sample is not None:
        for disk in sample.raw.disks:
            if disk.percent >= DISK_FULL_PERCENT:
                where = "" if disk.mount == "/" else f" {disk.mount}"
                add(Severity.CRITICAL, f"disk{where} {disk.percent:.0f}%",
                    f"disk {disk.mount} {disk.percent:.0f}% full ({disk.device})")
        level = sample.battery_percent
        if level is not None and level <= BATTERY_LOW_PERCENT and not sample.on_ac:
            add(Severity.CRITICAL, f"bat {level}%", f"battery low: {level}%, not charging")
    alerts.sort(key=lambda alert: -alert.severity)
    return alerts


def _generation_text(number: int | None) -> str:
    return "an unknown generation" if number is None else f"generation {number}"


def fleet_alerts(monitors: Iterable[HostMonitor], now: float | None = None) -> list[Alert]:
    """Every host's alerts, the most severe first, then by host name."""
    alerts = [alert for monitor in monitors for alert in host_alerts(monitor, now)]
    alerts.sort(key=lambda alert: (-alert.severity, alert.host))
    return alerts


# --- filter and sort -----------------------------------------------------------------


def matches_filter(host: HostConfig, query: str) -> bool:
    """A host matches when each word of the query is part of its name or one of its tags."""
    words = query.lower().split()
    haystack = [host.name.lower(), *(tag.lower() for tag in host.tags)]
    return all(any(word in item for item in haystack) for word in words)


SortKey = Callable[[HostMonitor], float | str | None]


def _sample_value(read: Callable[[Sample], float | None]) -> SortKey:
    def key(monitor: HostMonitor) -> float | None:
        sample = live_sample(monitor)
        return None if sample is None else read(sample)

    return key


def _net_total(sample: Sample) -> float | None:
    if sample.net_rx_bps is None or sample.net_tx_bps is None:
        return None
    return sample.net_rx_bps + sample.net_tx_bps


def _state_rank(monitor: HostMonitor) -> float:
    """Problems first when sorted descending: the worse the state, the higher."""
    order = (HostState.UP, HostState.CONNECTING, HostState.HOST_KEY_UNKNOWN, HostState.DOWN,
             HostState.AUTH_FAILED, HostState.HOST_KEY_CHANGED)
    return float(order.index(monitor.status.state))


SORT_KEYS: dict[str, SortKey] = {
    "host": lambda monitor: monitor.name,
    "state": _state_rank,
    "cpu": _sample_value(lambda s: s.cpu_percent),
    "mem": _sample_value(lambda s: s.raw.mem.percent if s.raw.mem.total else None),
    "swap": _sample_value(lambda s: s.raw.mem.swap_used),
    "disk": _sample_value(lambda s: s.fullest_disk.percent if s.fullest_disk else None),
    "load": _sample_value(lambda s: s.raw.load[0]),
    "net": _sample_value(_net_total),
    "temp": _sample_value(lambda s: s.max_temperature),
    "battery": _sample_value(lambda s: s.battery_percent),
    "uptime": _sample_value(lambda s: s.raw.uptime_s),
    "nixos": lambda monitor: monitor.facts.nixos_version if monitor.facts else None,
    "generation": lambda monitor: monitor.facts.current_generation if monitor.facts else None,
    "alerts": lambda monitor: float(sum(alert.severity for alert in host_alerts(monitor))),
}


def sort_hosts(monitors: Iterable[HostMonitor], column: str, *, descending: bool = False) -> list[str]:
    """Host names ordered by a column's value; hosts without a value go last
    either way, and ties keep name order."""
    key = SORT_KEYS[column]
    by_name = sorted(monitors, key=lambda monitor: monitor.name)
    known = [(key(monitor), monitor.name) for monitor in by_name]
    present = [(value, name) for value, name in known if value is not None]
    missing = [name for value, name in known if value is None]
    present.sort(key=lambda pair: pair[0], reverse=descending)  # stable: ties stay by name
    return [name for _, name in present] + missing


# --- short figures --------------------------------------------------------------------


def age_text(seconds: float) -> str:
    """12 s, 5 min, 3 h, 4 d: how long ago, in the largest whole unit."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def uptime_text(seconds: float) -> str:
    """3d4h, 5h12m, 42m: compact, two units at most."""
    minutes = max(0, int(seconds)) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m"


def rate_text(bytes_per_second: float) -> str:
    """A rate in at most 5 characters: 512B, 12K, 3.4M, 1.2G (per second)."""
    value = max(0.0, bytes_per_second)
    for unit in ("B", "K", "M", "G"):
        if value < 1000 or unit == "G":
            break
        value /= 1024
    return f"{value:.1f}{unit}" if value < 10 and unit != "B" else f"{value:.0f}{unit}"


def short_nixos_version(version: str | None) -> str | None:
    """"24.05.20240601.abcdef0 (Uakari)" -> "24.05": the release is what sets
    hosts apart; the rest is in the host view."""
    if not version:
        return None
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else version
