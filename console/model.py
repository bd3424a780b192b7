"""The engine's value types: what a host is, what it reports, and its state.

Everything here is immutable and free of I/O so that parsers, the engine and
the UI can pass these values around without copying or locking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class HostState(StrEnum):
    """Where the engine stands with a host. The values are the JSON spelling."""

    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    AUTH_FAILED = "auth-failed"
    HOST_KEY_UNKNOWN = "host-key-unknown"
    HOST_KEY_CHANGED = "host-key-changed"


@dataclass(frozen=True, slots=True)
class HostStatus:
    """A host's connection state at one moment.

    `since` is when the state was entered and `last_seen` when the host last
    answered (both epoch seconds). `fingerprint` is the SHA256 fingerprint of
    the key the host offered when the state is a host-key problem.
    """

    state: HostState
    since: float
    error: str | None = None
    last_seen: float | None = None
    fingerprint: str | None = None
    next_attempt: float | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome of one command run on a host."""

    argv: tuple[str, ...]
    exit_status: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


# --- metrics -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative CPU ticks: `total` is the sum of the first eight /proc/stat
    columns, `idle` is idle + iowait."""

    total: int
    idle: int


@dataclass(frozen=True, slots=True)
class MemInfo:
    """Memory figures in bytes."""

    total: int
    available: int
    swap_total: int = 0
    swap_free: int = 0

    @property
    def used(self) -> int:
        return max(self.total - self.available, 0)

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0

    @property
    def swap_used(self) -> int:
        return max(self.swap_total - self.swap_free, 0)


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """One mounted filesystem, sizes in bytes."""

    mount: str
    device: str
    fstype: str
    total: int
    used: int
    available: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class NetCounters:
    """Cumulative byte counters of one network interface.

    `virtual` marks a software interface (bridge, veth, VPN tunnel, VLAN);
    its traffic also crosses a physical one, so totals leave it out.
    """

    iface: str
    rx_bytes: int
    tx_bytes: int
    virtual: bool = False


@dataclass(frozen=True, slots=True)
class DiskIO:
    """Cumulative bytes read and written by one block device."""

    device: str
    read_bytes: int
    write_bytes: int


@dataclass(frozen=True, slots=True)
class Temperature:
    """One thermal sensor reading."""

    label: str
    celsius: float


@dataclass(frozen=True, slots=True)
class PowerSupply:
    """One entry of /sys/class/power_supply.

    `kind` is the sysfs `type` (Battery, Mains, USB, ...). Battery fields are
    None when the kernel does not expose them; `online` is for adapters.
    """

    name: str
    kind: str
    online: bool | None = None
    capacity: int | None = None
    status: str | None = None
    energy_now_wh: float | None = None
    energy_full_wh: float | None = None
    power_now_w: float | None = None


@dataclass(frozen=True, slots=True)
class RawSample:
    """Everything one sampler round read, before rates are computed.

    `uptime_s` is the host's own clock (/proc/uptime), used to compute rates so
    that network jitter does not distort them.
    """

    uptime_s: float
    cpu: CpuTimes
    per_cpu: tuple[CpuTimes, ...]
    mem: MemInfo
    load: tuple[float, float, float]
    net: tuple[NetCounters, ...] = ()
    disk_io: tuple[DiskIO, ...] = ()
    disks: tuple[DiskUsage, ...] = ()
    temperatures: tuple[Temperature, ...] = ()
    power: tuple[PowerSupply, ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    """A raw sample plus the figures that need the previous one.

    Rates are bytes per second; percentages are 0-100. They are None on the
    first sample after a (re)connect.
    """

    raw: RawSample
    taken_at: float
    cpu_percent: float | None = None
    per_cpu_percent: tuple[float, ...] | None = None
    net_rx_bps: float | None = None
    net_tx_bps: float | None = None
    disk_read_bps: float | None = None
    disk_write_bps: float | None = None

    @property
    def batteries(self) -> tuple[PowerSupply, ...]:
        return tuple(p for p in self.raw.power if p.kind == "Battery")

    @property
    def battery_percent(self) -> int | None:
        """Capacity of the batteries together (mean of those that report it)."""
        levels = [b.capacity for b in self.batteries if b.capacity is not None]
        return round(sum(levels) / len(levels)) if levels else None

    @property
    def on_ac(self) -> bool | None:
        adapters = [p.online for p in self.raw.power if p.kind == "Mains" and p.online is not None]
        return any(adapters) if adapters else None

    @property
    def fullest_disk(self) -> DiskUsage | None:
        return max(self.raw.disks, key=lambda d: d.percent, default=None)

    @property
    def max_temperature(self) -> float | None:
        return max((t.celsius for t in self.raw.temperatures), default=None)


# --- facts -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Generation:
    """One system generation: /nix/var/nix/profiles/system-N-link."""

    number: int
    store_path: str
    created: float | None = None


@dataclass(frozen=True, slots=True)
class FailedUnit:
    unit: str
    load: str = ""
    active: str = ""
    sub: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class BootTime:
    """systemd-analyze's startup figures in seconds (None where not known)."""

    total_s: float
    firmware_s: float | None = None
    loader_s: float | None = None
    kernel_s: float | None = None
    initrd_s: float | None = None
    userspace_s: float | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What a host is: slow-changing facts fetched on connect and now and then.

    Generation numbers are None when the store path does not match any
    system-N-link (or the host is not NixOS).
    """

    hostname: str
    os_name: str
    os_id: str
    is_nixos: bool
    kernel: str
    nixos_version: str | None = None
    current_system: str | None = None
    booted_system: str | None = None
    profile_system: str | None = None
    current_generation: int | None = None
    booted_generation: int | None = None
    profile_generation: int | None = None
    generations: tuple[Generation, ...] = ()
    failed_units: tuple[FailedUnit, ...] = ()
    boot_time: BootTime | None = None
    boot_id: str | None = None

    @property
    def reboot_pending(self) -> bool:
        """The running system differs from the one the host booted."""
        return bool(self.booted_system and self.current_system and self.booted_system != self.current_system)


# --- journal -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal entry.

    `timestamp` is epoch seconds from __REALTIME_TIMESTAMP; `priority` is 0
    (emerg) to 7 (debug), 6 (info) when the entry has none. `fields` keeps
    every field, decoded to text, for the detail view.
    """

    cursor: str
    timestamp: float
    priority: int
    message: str
    unit: str | None = None
    identifier: str | None = None
    pid: int | None = None
    hostname: str | None = None
    boot_id: str | None = None
    fields: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
