"""Host metrics: the shell sampler that runs on a host, the parser of its
frames and the rate arithmetic (the local machine: console.localsampler).

A remote host runs `SAMPLER_SCRIPT` once over one long-lived SSH exec channel;
it prints a frame of raw /proc and /sys text every interval. `FrameReader`
cuts the stream into frames, `parse_frame` turns one into a `RawSample`, and
`compute_sample` derives percentages and rates from two consecutive ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from console.errors import ParseError
from console.model import (
    CpuTimes,
    DiskIO,
    DiskUsage,
    MemInfo,
    NetCounters,
    PowerSupply,
    RawSample,
    Sample,
    Temperature,
)

FRAME_BEGIN = "@@nixdeck-frame-begin"
FRAME_END = "@@nixdeck-frame-end"
DF_MARKER = "@@nixdeck-df"

# Attributes read from each /sys/class/power_supply/<name>/ directory.
POWER_SUPPLY_ATTRS = (
    "type", "status", "capacity", "online", "energy_now", "energy_full", "power_now",
    "charge_now", "charge_full", "current_now", "voltage_now", "scope",
)

# Every path is a glob or a fixed file; `head` prints each file it can read
# under a `==> path <==` header, so one process reads the whole frame (the
# headers under /sys/devices/virtual/net name the software interfaces). A glob
# that matches nothing stays literal, head fails to open it and says so on
# stderr, which goes to /dev/null. The frame is gathered in a command
# substitution and written by one printf: written piece by piece (marker,
# head, df, marker) it crossed SSH as some eight packets, whose handling cost
# the console more than parsing the frame. printf is a builtin: when the reader has
# gone it fails (or SIGPIPE kills the shell), and `|| exit` ends the loop even
# where SIGPIPE was ignored on entry and cannot be reset. df is probed once
# for -T (busybox may lack it) and -l (local only: a hung NFS mount must not
# freeze the sampler), both at once first since GNU df has both. A sleep
# that refuses fractions falls back to whole seconds, never zero, so the loop
# can never spin.
SAMPLER_SCRIPT = r"""
LC_ALL=C; export LC_ALL
iv=$1; count=$2; first=${3:-$1}
case $iv in ''|*[!0-9.]*|*.*.*) iv=1 ;; esac
case $iv in *[1-9]*) ;; *) iv=1 ;; esac
case $first in ''|*[!0-9.]*|*.*.*) first=$iv ;; esac
case $first in *[1-9]*) ;; *) first=$iv ;; esac
case $count in ''|*[!0-9]*) count=0 ;; esac
whole=${iv%%.*}
[ "$whole" = "$iv" ] || whole=$((${whole:-0} + 1))
df_opts=-kPTl
if ! df $df_opts / >/dev/null 2>&1; then
  df_opts=-kP
  df -kPT / >/dev/null 2>&1 && df_opts=${df_opts}T
  df -kPl / >/dev/null 2>&1 && df_opts=${df_opts}l
fi
t=/sys/class/thermal/thermal_zone
p=/sys/class/power_supply/*
v=/sys/devices/virtual/net/*
n=0
while :; do
  n=$((n + 1))
  frame=$(
    head -n 100000 /proc/stat /proc/meminfo /proc/loadavg /proc/uptime \
      /proc/net/dev /proc/diskstats $v/ifindex $t*/type $t*/temp \
      $p/type $p/status $p/capacity $p/online $p/energy_now $p/energy_full \
      $p/power_now $p/charge_now $p/charge_full $p/current_now $p/voltage_now \
      $p/scope 2>/dev/null
    printf '\n@@nixdeck-df\n'
    df $df_opts 2>/dev/null
  )
  printf '\n@@nixdeck-frame-begin %s\n%s\n@@nixdeck-frame-end %s\n' "$n" "$frame" "$n" 2>/dev/null || exit 0
  [ "$count" -gt 0 ] && [ "$n" -ge "$count" ] && exit 0
  gap=$iv; [ "$n" -eq 1 ] && gap=$first
  sleep "$gap" 2>/dev/null || sleep "$whole"
done
"""

# Filesystems that hold no user data (or live in memory) and so never belong
# in a disk-usage list; with a df that has no -T, such mounts show these
# names as their device ("tmpfs", "none", "udev"...), so both are checked.
PSEUDO_FILESYSTEMS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs",
    "devpts", "devtmpfs", "efivarfs", "fuse.portal", "fuse.gvfsd-fuse", "fusectl",
    "hugetlbfs", "mqueue", "nsfs", "overlay", "proc", "pstore", "ramfs", "rootfs",
    "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
    "nfsd", "none", "shm", "udev",
})
# Network filesystems are left out too: statting a hung one blocks the caller.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "sshfs", "ceph",
    "glusterfs", "fuse.glusterfs", "afs", "davfs", "fuse.rclone",
})
_PSEUDO_MOUNT_ROOTS = ("/proc", "/sys", "/dev")

# Thermal drivers report sentinels such as -274000 m°C for an absent sensor.
PLAUSIBLE_CELSIUS = (-60.0, 200.0)

# A frame that never ends must not grow without bound.
MAX_FRAME_LINES = 200_000

_HEAD_HEADER = re.compile(r"^==> (.*) <==$")
_MEMINFO_LINE = re.compile(
    r"^\s*(MemTotal|MemFree|MemAvailable|Buffers|Cached|SwapTotal|SwapFree)\s*:\s*([0-9]+)\b", re.MULTILINE | re.ASCII)
_CPU_LINE = re.compile(r"^cpu\d*$")
_WHOLE_DISK_EXCLUDED = re.compile(r"^(loop|ram|zram|dm-|md)")
_PARTITION_AFTER_LETTER = re.compile(r"^(.*[^\d])\d+$")
_PARTITION_AFTER_DIGIT = re.compile(r"^(.*\d)p\d+$")
_DF_TYPED = re.compile(
    r"^(?P<dev>.+?)\s+(?P<type>\S+)\s+(?P<total>\d+)\s+(?P<used>\d+)\s+(?P<avail>\d+)"
    r"\s+(?:\d+%|-)\s+(?P<mount>/.*)$"
)
_DF_UNTYPED = re.compile(
    r"^(?P<dev>.+?)\s+(?P<total>\d+)\s+(?P<used>\d+)\s+(?P<avail>\d+)"
    r"\s+(?:\d+%|-)\s+(?P<mount>/.*)$"
)


def sampler_argv(interval: float, count: int = 0, first_gap: float | None = None) -> list[str]:
    """The command that runs the sampler on a host: a frame now, the second
    after `first_gap` seconds (default: `interval`), then one every `interval`
    seconds, `count` frames in all (0 = until the reader goes). A short first
    gap brings CPU % and rates, which need two frames, on screen sooner."""
    if count < 0:
        raise ValueError(f"sampler count must be >= 0, not {count!r}")
    gap = _seconds(interval if first_gap is None else first_gap)
    return ["sh", "-c", SAMPLER_SCRIPT, "nixdeck-sampler", _seconds(interval), str(count), gap]


def _seconds(value: float) -> str:
    # Plain decimals only: sleep(1) takes no exponent, and the script would
    # replace a value it cannot read with 1 s.
    text = format(value, ".3f").rstrip("0").rstrip(".") if math.isfinite(value) else "nan"
    if not value > 0 or text in ("0", "nan"):
        raise ValueError(f"sampler interval must be finite and at least 1 ms, not {value!r}")
    return text


# --- reading the stream --------------------------------------------------------


class FrameReader:
    """Cuts a sampler's output stream into frames and parses each one.

    Garbage between frames is ignored; a frame that is cut short, mismatched or
    unparsable is dropped and counted, so a host can never crash the reader.
    """

    def __init__(self) -> None:
        self.bad_frames = 0
        self.last_error: str | None = None
        self._body: list[str] | None = None
        self._seq = ""

    def feed(self, line: str) -> RawSample | None:
        line = line.rstrip("\r\n")
        if line.startswith(FRAME_BEGIN):
            if self._body is not None:
                self._reject(f"frame {self._seq} was not ended before the next began")
            self._body = []
            self._seq = line[len(FRAME_BEGIN):].strip()
            return None
        if self._body is None:
            return None
        if line.startswith(FRAME_END):
            body, self._body = self._body, None
            seq = line[len(FRAME_END):].strip()
            if seq != self._seq:
                self._reject(f"frame {self._seq} ended as frame {seq}")
                return None
            try:
                return parse_frame(body)
            except ParseError as exc:
                self._reject(str(exc))
            except Exception as exc:  # noqa: BLE001 - a parser bug must not end the host's stream
                self._reject(f"unexpected {type(exc).__name__}: {exc}")
            return None
        if len(self._body) >= MAX_FRAME_LINES:
            self._body = None
            self._reject(f"frame {self._seq} exceeded {MAX_FRAME_LINES} lines")
            return None
        self._body.append(line)
        return None

    def _reject(self, reason: str) -> None:
        self.bad_frames += 1
        self.last_error = reason


# --- parsing one frame ---------------------------------------------------------


def split_head_sections(lines: Iterable[str]) -> dict[str, list[str]]:
    """Split `head f1 f2 ...` output into {path: lines}, dropping the blank
    line head puts between files. Lines before the first header are ignored."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("==> ") and (header := _HEAD_HEADER.match(line)):
            current = sections.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)
    for body in sections.values():
        while body and not body[-1].strip():
            body.pop()
    return sections


def parse_frame(lines: Sequence[str]) -> RawSample:
    """Parse the lines of one frame, without their line ends (the begin and
    end marker lines may be included)."""
    lines = [line for line in lines if not line.startswith((FRAME_BEGIN, FRAME_END))]
    # Cut at the df marker with list operations: a frame is a hundred lines
    # or more, twenty hosts' worth every second.
    try:
        cut = lines.index(DF_MARKER)
    except ValueError:
        files, df_lines = lines, []
    else:
        files, df_lines = lines[:cut], lines[cut + 1:]
    sections = split_head_sections(files)

    cpu, per_cpu = parse_proc_stat(_required(sections, "/proc/stat"))
    return RawSample(
        uptime_s=parse_uptime(_required(sections, "/proc/uptime")),
        cpu=cpu,
        per_cpu=per_cpu,
        mem=parse_meminfo(_required(sections, "/proc/meminfo")),
        load=parse_loadavg(_required(sections, "/proc/loadavg")),
        net=parse_net_dev(sections.get("/proc/net/dev", ()), _virtual_interfaces(sections)),
        disk_io=parse_diskstats(sections.get("/proc/diskstats", ())),
        disks=parse_df(df_lines),
        temperatures=_temperatures(_sysfs_groups(sections, "/sys/class/thermal/")),
        power=_power_supplies(_sysfs_groups(sections, "/sys/class/power_supply/")),
    )


def _required(sections: Mapping[str, list[str]], path: str) -> list[str]:
    body = sections.get(path)
    if not body:
        raise ParseError(f"frame lacks {path}")
    return body


def _int(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ParseError(f"{what}: {text[:40]!r} is not a count")
    return int(text)


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParseError(f"{what}: {text[:40]!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ParseError(f"{what}: {text[:40]!r} is out of range")
    return value


def parse_proc_stat(lines: Iterable[str]) -> tuple[CpuTimes, tuple[CpuTimes, ...]]:
    """The `cpu` and `cpuN` lines of /proc/stat as (overall, per core)."""
    overall: CpuTimes | None = None
    cores: list[CpuTimes] = []
    for line in lines:
        # Split only cpu lines: the intr line lists every interrupt, thousands
        # of numbers on a big machine.
        if not line.startswith("cpu"):
            continue
        parts = line.split()
        if not parts or not _CPU_LINE.match(parts[0]):
            continue
        # Old kernels have fewer than eight columns (no steal, irq...);
        # guest and guest_nice (9, 10) are already inside user and nice.
        ticks = [_int(p, parts[0]) for p in parts[1:9]]
        if len(ticks) < 4:
            raise ParseError(f"/proc/stat: {parts[0]} has {len(ticks)} columns")
        times = CpuTimes(total=sum(ticks), idle=ticks[3] + (ticks[4] if len(ticks) > 4 else 0))
        if parts[0] == "cpu":
            overall = times
        else:
            cores.append(times)
    if overall is None:
        raise ParseError("/proc/stat has no cpu line")
    return overall, tuple(cores)


def parse_meminfo(lines: Iterable[str]) -> MemInfo:
    # Only the few keys read, found by one regex over the text: /proc/meminfo
    # has fifty lines and more.
    kib = {key: int(value) for key, value in _MEMINFO_LINE.findall("\n".join(lines))}
    if "MemTotal" not in kib:
        raise ParseError("/proc/meminfo has no MemTotal")
    available = kib.get("MemAvailable")
    if available is None:  # kernels before 3.14
        if "MemFree" not in kib:
            raise ParseError("/proc/meminfo has neither MemAvailable nor MemFree")
        available = kib["MemFree"] + kib.get("Buffers", 0) + kib.get("Cached", 0)
    return MemInfo(
        total=kib["MemTotal"] * 1024,
        available=available * 1024,
        swap_total=kib.get("SwapTotal", 0) * 1024,
        swap_free=kib.get("SwapFree", 0) * 1024,
    )


def parse_loadavg(lines: Sequence[str]) -> tuple[float, float, float]:
    parts = lines[0].split() if lines else []
    if len(parts) < 3:
        raise ParseError(f"/proc/loadavg: {' '.join(parts)[:40]!r}")
    one, five, fifteen = (_float(p, "/proc/loadavg") for p in parts[:3])
    return one, five, fifteen


def parse_uptime(lines: Sequence[str]) -> float:
    parts = lines[0].split() if lines else []
    if not parts:
        raise ParseError("/proc/uptime is empty")
    return _float(parts[0], "/proc/uptime")


def _virtual_interfaces(sections: Mapping[str, list[str]]) -> frozenset[str]:
    root = "/sys/devices/virtual/net/"
    return frozenset(path[len(root):].partition("/")[0] for path in sections if path.startswith(root))


def parse_net_dev(lines: Iterable[str], virtual: frozenset[str] = frozenset()) -> tuple[NetCounters, ...]:
    """Per-interface byte counters, loopback left out; `virtual` names the
    software interfaces. The name is split off at the first ':' because a
    large counter can touch it with no space between."""
    counters: list[NetCounters] = []
    for line in lines:
        name, sep, rest = line.partition(":")
        name = name.strip()
        if not sep:  # the two header lines
            continue
        fields = rest.split()
        if len(fields) < 9:
            raise ParseError(f"/proc/net/dev: short line for {name[:20]!r}")
        if name == "lo":
            continue
        counters.append(NetCounters(name, _int(fields[0], name), _int(fields[8], name), name in virtual))
    return tuple(counters)


def is_whole_disk(name: str, all_names: AbstractSet[str]) -> bool:
    """Whether a block device counts toward disk throughput.

    Partitions (sda1 beside sda, nvme0n1p1 beside nvme0n1) are inside their
    disk's figures; dm-* and md* are layered over disks that are counted
    already, so counting them too would double encrypted or RAID traffic;
    loop, ram and zram are not storage.
    """
    if _WHOLE_DISK_EXCLUDED.match(name):
        return False
    for pattern in (_PARTITION_AFTER_DIGIT, _PARTITION_AFTER_LETTER):
        parent = pattern.match(name)
        if parent and parent.group(1) in all_names:
            return False
    return True


def parse_diskstats(lines: Iterable[str]) -> tuple[DiskIO, ...]:
    rows: list[tuple[str, list[str]]] = []
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 10:
            raise ParseError(f"/proc/diskstats: short line {line[:40]!r}")
        rows.append((fields[2], fields))
    names = {name for name, _ in rows}
    return tuple(
        # Sectors here are always 512 bytes, whatever the device's own size.
        DiskIO(name, _int(fields[5], name) * 512, _int(fields[9], name) * 512)
        for name, fields in rows
        if is_whole_disk(name, names)
    )


def parse_df(lines: Iterable[str]) -> tuple[DiskUsage, ...]:
    """`df -kP` output, with or without -T's type column (read from the
    header). Unreadable lines are skipped: df's output is best effort."""
    pattern = _DF_UNTYPED
    usages: list[DiskUsage] = []
    for line in lines:
        if line.startswith("Filesystem"):
            pattern = _DF_TYPED if " Type " in f"{line} " else _DF_UNTYPED
            continue
        match = pattern.match(line)
        if not match:
            continue
        usages.append(DiskUsage(
            mount=match["mount"],
            device=match["dev"],
            fstype=match.groupdict().get("type") or "",
            total=int(match["total"]) * 1024,
            used=int(match["used"]) * 1024,
            available=int(match["avail"]) * 1024,
        ))
    return real_filesystems(usages)


def is_real_filesystem(fstype: str, device: str, mount: str) -> bool:
    """Whether a mount holds data worth listing (not pseudo, not network)."""
    kind = fstype or device  # without df -T, a tmpfs shows as device "tmpfs"
    return not (
        kind in PSEUDO_FILESYSTEMS
        or kind.startswith("cgroup")
        or kind in NETWORK_FILESYSTEMS
        or ":/" in device  # server:/export (NFS), seen without a type too
        or device.startswith("//")  # //server/share (CIFS)
        or any(mount == root or mount.startswith(root + "/") for root in _PSEUDO_MOUNT_ROOTS)
    )


def real_filesystems(usages: Iterable[DiskUsage]) -> tuple[DiskUsage, ...]:
    """Leave out pseudo and network filesystems, and report a filesystem
    mounted several times once, under its shortest mount path (NixOS
    bind-mounts /nix/store onto itself; btrfs subvolumes share one size)."""
    kept: dict[tuple[str, int], DiskUsage] = {}
    for usage in usages:
        if usage.total <= 0 or not is_real_filesystem(usage.fstype, usage.device, usage.mount):
            continue
        key = (usage.device, usage.total)
        seen = kept.get(key)
        if seen is None or (len(usage.mount), usage.mount) < (len(seen.mount), seen.mount):
            kept[key] = usage
    return tuple(kept.values())


def _sysfs_groups(sections: Mapping[str, list[str]], root: str) -> dict[str, dict[str, str]]:
    """{directory name: {attribute: first line}} for head sections under root."""
    groups: dict[str, dict[str, str]] = {}
    for path, body in sections.items():
        if not path.startswith(root) or not body:
            continue
        directory, _, attr = path[len(root):].rpartition("/")
        if directory and "/" not in directory:
            groups.setdefault(directory, {})[attr] = body[0].strip()
    return groups


def _zone_order(name: str) -> tuple[int, str]:
    digits = name.removeprefix("thermal_zone")
    return (int(digits) if digits.isascii() and digits.isdigit() else 1 << 30, name)


def _temperatures(zones: Mapping[str, Mapping[str, str]]) -> tuple[Temperature, ...]:
    readings: list[Temperature] = []
    labels: set[str] = set()
    for zone in sorted(zones, key=_zone_order):
        attrs = zones[zone]
        try:
            celsius = int(attrs.get("temp", "")) / 1000
        except ValueError:
            continue  # the read failed (EIO is common) or the zone has no temp
        if not PLAUSIBLE_CELSIUS[0] < celsius < PLAUSIBLE_CELSIUS[1]:
            continue
        label = attrs.get("type") or zone
        if label in labels:  # two "acpitz" zones must stay apart
            label = f"{label} ({zone})"
        labels.add(label)
        readings.append(Temperature(label, celsius))
    return tuple(readings)


def _optional_int(attrs: Mapping[str, str], key: str) -> int | None:
    try:
        return int(attrs[key])
    except (KeyError, ValueError):
        return None


def power_supply(name: str, attrs: Mapping[str, str]) -> PowerSupply | None:
    """One power supply from its sysfs attributes; None for a device's own
    battery (scope=Device: a mouse, a phone), which is not the host's power."""
    if attrs.get("scope") == "Device":
        return None
    volts = _optional_int(attrs, "voltage_now")

    def watt_hours(energy_key: str, charge_key: str) -> float | None:
        energy = _optional_int(attrs, energy_key)  # µWh
        if energy is not None:
            return energy / 1e6
        charge = _optional_int(attrs, charge_key)  # µAh, times µV gives 1e-12 Wh
        return charge * volts / 1e12 if charge is not None and volts is not None else None

    power = _optional_int(attrs, "power_now")  # µW
    if power is None:
        current = _optional_int(attrs, "current_now")  # µA
        power_w = abs(current) * volts / 1e12 if current is not None and volts is not None else None
    else:
        power_w = abs(power) / 1e6  # some drivers sign it; status says which way
    online = _optional_int(attrs, "online")
    return PowerSupply(
        name=name,
        kind=attrs.get("type") or "Unknown",
        online=None if online is None else online != 0,
        capacity=_optional_int(attrs, "capacity"),
        status=attrs.get("status") or None,
        energy_now_wh=watt_hours("energy_now", "charge_now"),
        energy_full_wh=watt_hours("energy_full", "charge_full"),
        power_now_w=power_w,
    )


def _power_supplies(groups: Mapping[str, Mapping[str, str]]) -> tuple[PowerSupply, ...]:
    supplies = (power_supply(name, groups[name]) for name in sorted(groups))
    return tuple(s for s in supplies if s is not None)


# --- rates ---------------------------------------------------------------------


def _cpu_percent(prev: CpuTimes, now: CpuTimes) -> float | None:
    total = now.total - prev.total
    idle = now.idle - prev.idle
    if total <= 0 or idle < 0 or idle > total:
        return None
    return 100.0 * (total - idle) / total


def _summed_rate(prev: Mapping[str, int], now: Mapping[str, int], seconds: float) -> float | None:
    """Bytes per second over the keys present both times; None when any
    counter went backwards (a reset) so that no negative rate is reported."""
    delta = 0
    for key, value in now.items():
        before = prev.get(key)
        if before is None:
            continue
        if value < before:
            return None
        delta += value - before
    return delta / seconds


def compute_sample(prev: RawSample | None, raw: RawSample, taken_at: float) -> Sample:
    """Percentages and rates from two consecutive raw samples of one host.

    Rates use the host's uptime as the clock, so delivery jitter does not
    distort them. Uptime that did not advance means a reboot (or a repeated
    frame): every figure is None then, since the counters restarted too.
    """
    seconds = raw.uptime_s - prev.uptime_s if prev is not None else 0.0
    if prev is None or seconds <= 0:
        return Sample(raw=raw, taken_at=taken_at)
    per_cpu: tuple[float, ...] | None = None
    if len(prev.per_cpu) == len(raw.per_cpu):  # a core going offline shifts the rest
        cores = [_cpu_percent(a, b) for a, b in zip(prev.per_cpu, raw.per_cpu)]
        if all(c is not None for c in cores):
            per_cpu = tuple(c for c in cores if c is not None)
    # Traffic through a bridge, veth or tunnel also crosses a physical NIC:
    # count only physical interfaces, or every one where there is none (a
    # container's eth0 is a veth).
    physical_only = any(not n.virtual for n in raw.net)
    net_prev = {n.iface: n for n in prev.net}
    net_now = {n.iface: n for n in raw.net if not (physical_only and n.virtual)}
    io_prev = {d.device: d for d in prev.disk_io}
    io_now = {d.device: d for d in raw.disk_io}
    return Sample(
        raw=raw,
        taken_at=taken_at,
        cpu_percent=_cpu_percent(prev.cpu, raw.cpu),
        per_cpu_percent=per_cpu,
        net_rx_bps=_summed_rate({k: v.rx_bytes for k, v in net_prev.items()},
                                {k: v.rx_bytes for k, v in net_now.items()}, seconds),
        net_tx_bps=_summed_rate({k: v.tx_bytes for k, v in net_prev.items()},
                                {k: v.tx_bytes for k, v in net_now.items()}, seconds),
        disk_read_bps=_summed_rate({k: v.read_bytes for k, v in io_prev.items()},
                                   {k: v.read_bytes for k, v in io_now.items()}, seconds),
        disk_write_bps=_summed_rate({k: v.write_bytes for k, v in io_prev.items()},
                                    {k: v.write_bytes for k, v in io_now.items()}, seconds),
    )
