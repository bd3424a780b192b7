"""The sampler: its shell script run for real on this machine, the frame
parser on real and NixOS-like frames, rates, and the local psutil sampler."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.errors import ParseError
from console.localsampler import read_local_sample
from console.model import CpuTimes, DiskIO, NetCounters, RawSample
from console.sampler import (
    DF_MARKER,
    FRAME_BEGIN,
    FRAME_END,
    MAX_FRAME_LINES,
    PSEUDO_FILESYSTEMS,
    SAMPLER_SCRIPT,
    FrameReader,
    compute_sample,
    parse_df,
    parse_frame,
    sampler_argv,
)
from tests.properties import PARSER_PROPERTIES, only_parse_errors

SHELLS = [
    pytest.param(shell, id=shell[0], marks=pytest.mark.skipif(not shutil.which(shell[0]), reason=f"no {shell[0]}"))
    for shell in (["sh"], ["dash"], ["bash"], ["busybox", "sh"])
]


def run_sampler(shell: list[str], interval: float, count: int) -> subprocess.CompletedProcess[str]:
    """The sampler as a host runs it: `sh -c SCRIPT nixdeck-sampler INTERVAL COUNT`."""
    argv = sampler_argv(interval, count)
    return subprocess.run([*shell, *argv[1:]], capture_output=True, text=True, timeout=30, check=False)


def read_frames(text: str) -> tuple[list[RawSample], FrameReader]:
    reader = FrameReader()
    samples = [s for line in text.splitlines(keepends=True) if (s := reader.feed(line)) is not None]
    return samples, reader


@pytest.fixture(scope="module")
def real_output() -> str:
    return run_sampler(["sh"], 0.2, 2).stdout


@pytest.fixture(scope="module")
def real_frame_lines(real_output: str) -> list[str]:
    """The body of the first real frame of this machine."""
    lines = real_output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(FRAME_BEGIN))
    end = next(i for i, line in enumerate(lines) if line.startswith(FRAME_END))
    return lines[start + 1 : end]


# --- the script, for real ----------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_script_prints_frames_this_machine_parses(shell: list[str]) -> None:
    result = run_sampler(shell, 0.2, 2)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    samples, reader = read_frames(result.stdout)
    assert reader.bad_frames == 0, reader.last_error
    assert len(samples) == 2
    first, second = samples
    assert len(first.per_cpu) == os.cpu_count()
    assert first.cpu.total > first.cpu.idle > 0
    assert first.mem.total > first.mem.available > 0
    assert second.uptime_s > first.uptime_s > 0
    assert all(n.iface != "lo" for n in first.net)
    assert all(d.fstype not in PSEUDO_FILESYSTEMS and d.total > 0 for d in first.disks)
    assert len({(d.device, d.total) for d in first.disks}) == len(first.disks)
    assert all(not d.device.startswith(("loop", "ram", "zram")) for d in first.disk_io)

    sample = compute_sample(first, second, time.time())
    assert sample.cpu_percent is not None and 0.0 <= sample.cpu_percent <= 100.0
    assert sample.per_cpu_percent is not None and len(sample.per_cpu_percent) == os.cpu_count()
    assert all(0.0 <= p <= 100.0 for p in sample.per_cpu_percent)
    for rate in (sample.net_rx_bps, sample.net_tx_bps, sample.disk_read_bps, sample.disk_write_bps):
        assert rate is not None and rate >= 0


def test_frame_has_one_head_section_per_file(real_frame_lines: list[str]) -> None:
    headers = [line for line in real_frame_lines if line.startswith("==> ")]
    assert headers[:6] == [f"==> {p} <==" for p in (
        "/proc/stat", "/proc/meminfo", "/proc/loadavg", "/proc/uptime", "/proc/net/dev", "/proc/diskstats")]
    assert DF_MARKER in real_frame_lines


def test_fractional_interval_is_honoured() -> None:
    started = time.monotonic()
    result = run_sampler(["sh"], 0.25, 4)
    elapsed = time.monotonic() - started
    assert len(read_frames(result.stdout)[0]) == 4
    assert 0.7 <= elapsed < 3.0  # three sleeps of 0.25 s, not of 1 s


@pytest.mark.parametrize("interval", ["0", "abc", "", "1.2.3"])
def test_a_bad_interval_falls_back_to_one_second_instead_of_spinning(interval: str) -> None:
    started = time.monotonic()
    result = subprocess.run(["sh", "-c", SAMPLER_SCRIPT, "nixdeck-sampler", interval, "2"],
                            capture_output=True, text=True, timeout=10, check=False)
    assert len(read_frames(result.stdout)[0]) == 2
    assert time.monotonic() - started >= 0.9


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("sigpipe", ["default", "ignored"])
def test_script_exits_when_its_reader_goes_away(shell: list[str], sigpipe: str) -> None:
    # With SIGPIPE ignored on entry the shell cannot reset it; the failed
    # printf must end the loop then. subprocess restores SIGPIPE to its
    # default in the child; `trap "" PIPE` ignores it across the exec.
    ignore_sigpipe = ["sh", "-c", 'trap "" PIPE; exec "$@"', "ignore-sigpipe"] if sigpipe == "ignored" else []
    process = subprocess.Popen([*ignore_sigpipe, *shell, *sampler_argv(0.2)[1:]], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        reader = FrameReader()
        assert process.stdout is not None
        for line in process.stdout:
            if reader.feed(line) is not None:
                break
        process.stdout.close()
        assert process.wait(timeout=3) is not None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None and process.stderr.read() == ""


def test_script_cost_per_frame_on_the_host() -> None:
    """A measurement, not a limit: CPU time of the script and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = run_sampler(["sh"], 0.2, 25)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    frames = len(read_frames(result.stdout)[0])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert frames == 25
    print(f"\nsampler script: {cpu / frames * 1000:.2f} ms CPU per frame, "
          f"{len(result.stdout) / frames / 1024:.1f} KiB per frame, {frames} frames in {elapsed:.1f} s")


FAKE_SYSFS = r"""
set -e
mount -t tmpfs nixdeck-test /sys/class/thermal
mount -t tmpfs nixdeck-test /sys/class/power_supply
cd /sys/class/thermal
mkdir thermal_zone0 thermal_zone1 thermal_zone10
echo x86_pkg_temp > thermal_zone0/type; echo 51000 > thermal_zone0/temp
echo iwlwifi_1 > thermal_zone1/type; mkdir thermal_zone1/temp  # a read that fails
echo acpitz > thermal_zone10/type; echo 27800 > thermal_zone10/temp
cd /sys/class/power_supply
mkdir AC BAT0 hidpp_battery_0
echo Mains > AC/type; echo 1 > AC/online
echo Battery > BAT0/type; echo Charging > BAT0/status; echo 64 > BAT0/capacity
echo 30000000 > BAT0/energy_now; echo 50000000 > BAT0/energy_full; echo 7500000 > BAT0/power_now
echo Battery > hidpp_battery_0/type; echo Device > hidpp_battery_0/scope; echo 80 > hidpp_battery_0/capacity
cd /
exec "$@"
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
@pytest.mark.parametrize("shell", SHELLS)
def test_script_reads_thermal_zones_and_power_supplies(shell: list[str]) -> None:
    """This machine has neither: fake them in a private mount namespace, so
    the script's globs are exercised for real."""
    argv = sampler_argv(0.2, 1)
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", FAKE_SYSFS, "fake-sysfs", *shell, *argv[1:]],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if result.returncode != 0 and "mount" in result.stderr:
        pytest.skip(f"cannot mount here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    (raw,), _ = read_frames(result.stdout)
    assert [(t.label, t.celsius) for t in raw.temperatures] == [("x86_pkg_temp", 51.0), ("acpitz", 27.8)]
    assert [(p.name, p.kind, p.online, p.capacity) for p in raw.power] == [
        ("AC", "Mains", True, None), ("BAT0", "Battery", None, 64)]
    battery = raw.power[1]
    assert (battery.status, battery.energy_now_wh, battery.energy_full_wh, battery.power_now_w) == (
        "Charging", 30.0, 50.0, 7.5)


def test_sampler_argv() -> None:
    argv = sampler_argv(0.25, 3)
    assert argv[:2] == ["sh", "-c"] and argv[3:] == ["nixdeck-sampler", "0.25", "3", "0.25"]
    assert sampler_argv(1)[-3:] == ["1", "0", "1"]
    assert sampler_argv(2, first_gap=0.25)[-3:] == ["2", "0", "0.25"]
    assert sampler_argv(1e-3)[-3] == "0.001" and sampler_argv(1e6)[-3] == "1000000"  # never an exponent
    for bad in (0, -1, 1e-5, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            sampler_argv(bad)
        with pytest.raises(ValueError):
            sampler_argv(1, first_gap=bad)
    with pytest.raises(ValueError):
        sampler_argv(1, -1)


def test_the_second_frame_comes_after_the_short_first_gap() -> None:
    started = time.monotonic()
    result = subprocess.run(["sh", *sampler_argv(5, 2, first_gap=0.1)[1:]], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0 and len(read_frames(result.stdout)[0]) == 2
    assert time.monotonic() - started < 4, "the sampler waited the full interval before its second frame"


# --- a NixOS laptop's frame ---------------------------------------------------------

LAPTOP_FRAME = """\
@@nixdeck-frame-begin 7
==> /proc/stat <==
cpu  1000 10 500 8000 100 20 30 0 50 0
cpu0 500 5 250 4000 50 10 15 0 25 0
cpu1 500 5 250 4000 50 10 15 0 25 0
intr 123456 0 9 0 0
ctxt 987654
btime 1714550000

==> /proc/meminfo <==
MemTotal:       16303372 kB
MemFree:         1203456 kB
MemAvailable:    9876543 kB
Buffers:          234567 kB
Cached:          6543210 kB
SwapTotal:       8388604 kB
SwapFree:        8000000 kB
HugePages_Total:       0

==> /proc/loadavg <==
0.52 0.58 0.59 2/1234 56789

==> /proc/uptime <==
12345.67 45678.90

==> /proc/net/dev <==
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999     100    0    0    0     0          0         0   999999     100    0    0    0     0       0          0
wlp2s0:123456789012 95000    0    0    0     0          0         0 98765432   70000    0    0    0     0       0          0
tailscale0:    1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0

==> /proc/diskstats <==
   7       0 loop0 36 0 252 0 6 0 4 1 0 0 2 0 0 0 0 6 0
 259       0 nvme0n1 1000 0 20000 0 2000 0 40000 0 0 0 0 0 0 0 0 0 0
 259       1 nvme0n1p1 10 0 200 0 20 0 400 0 0 0 0 0 0 0 0 0 0
 259       2 nvme0n1p2 990 0 19800 0 1980 0 39600 0 0 0 0 0 0 0 0 0 0
   8       0 sda 100 0 1000 0 200 0 3000 0 0 0 0 0 0 0 0 0 0
   8       1 sda1 100 0 1000 0 200 0 3000 0 0 0 0 0 0 0 0 0 0
 254       0 dm-0 990 0 19800 0 1980 0 39600 0 0 0 0 0 0 0 0 0 0
 252       0 zram0 5 0 40 0 5 0 40 0 0 0 0 0 0 0 0 0 0
 179       0 mmcblk0 50 0 500 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 179       1 mmcblk0p1 50 0 500 0 0 0 0 0 0 0 0 0 0 0 0 0 0

==> /sys/devices/virtual/net/lo/ifindex <==
1

==> /sys/devices/virtual/net/tailscale0/ifindex <==
5

==> /sys/class/thermal/thermal_zone0/type <==
acpitz

==> /sys/class/thermal/thermal_zone1/type <==
x86_pkg_temp

==> /sys/class/thermal/thermal_zone2/type <==
iwlwifi_1

==> /sys/class/thermal/thermal_zone3/type <==
acpitz

==> /sys/class/thermal/thermal_zone0/temp <==
45000

==> /sys/class/thermal/thermal_zone1/temp <==
52500

==> /sys/class/thermal/thermal_zone2/temp <==

==> /sys/class/thermal/thermal_zone3/temp <==
47000

==> /sys/class/thermal/thermal_zone4/type <==
INT3400 Thermal

==> /sys/class/thermal/thermal_zone4/temp <==
-274000

==> /sys/class/power_supply/AC/type <==
Mains

==> /sys/class/power_supply/BAT0/type <==
Battery

==> /sys/class/power_supply/BAT1/type <==
Battery

==> /sys/class/power_supply/hidpp_battery_0/type <==
Battery

==> /sys/class/power_supply/BAT0/status <==
Discharging

==> /sys/class/power_supply/BAT1/status <==
Charging

==> /sys/class/power_supply/hidpp_battery_0/status <==
Discharging

==> /sys/class/power_supply/BAT0/capacity <==
81

==> /sys/class/power_supply/BAT1/capacity <==
40

==> /sys/class/power_supply/hidpp_battery_0/capacity <==
5

==> /sys/class/power_supply/AC/online <==
0

==> /sys/class/power_supply/BAT0/energy_now <==
45360000

==> /sys/class/power_supply/BAT0/energy_full <==
56000000

==> /sys/class/power_supply/BAT0/power_now <==
-9120000

==> /sys/class/power_supply/BAT1/charge_now <==
2000000

==> /sys/class/power_supply/BAT1/charge_full <==
5000000

==> /sys/class/power_supply/BAT1/current_now <==
1000000

==> /sys/class/power_supply/BAT1/voltage_now <==
12000000

==> /sys/class/power_supply/hidpp_battery_0/scope <==
Device

@@nixdeck-df
Filesystem     Type     1024-blocks      Used Available Capacity Mounted on
devtmpfs       devtmpfs      813060         0    813060       0% /dev
tmpfs          tmpfs        8151684     12345   8139339       1% /dev/shm
tmpfs          tmpfs        4075844      6789   4069055       1% /run
/dev/nvme0n1p2 ext4       488245288 210000000 253365000      46% /
/dev/nvme0n1p2 ext4       488245288 210000000 253365000      46% /nix/store
/dev/nvme0n1p1 vfat          523248     80000    443248      16% /boot
efivarfs       efivarfs         184       100        80      56% /sys/firmware/efi/efivars
cgroup2        cgroup2            0         0         0       -  /sys/fs/cgroup
/dev/sda1      ext4       960302804 500000000 411448168      55% /mnt/My Backup Disk
/dev/loop3     squashfs       10240     10240         0     100% /snap/core/1
nas:/export    nfs4      1000000000 100000000 900000000      10% /mnt/nas
portal         fuse.portal        0         0         0       -  /run/user/1000/doc

@@nixdeck-frame-end 7
"""


def test_laptop_frame() -> None:
    raw = parse_frame(LAPTOP_FRAME.splitlines())
    assert raw.cpu == CpuTimes(total=1000 + 10 + 500 + 8000 + 100 + 20 + 30 + 0, idle=8100)
    assert raw.per_cpu == (CpuTimes(4830, 4050), CpuTimes(4830, 4050))
    assert raw.mem.total == 16303372 * 1024 and raw.mem.available == 9876543 * 1024
    assert raw.mem.swap_used == (8388604 - 8000000) * 1024
    assert raw.load == (0.52, 0.58, 0.59)
    assert raw.uptime_s == 12345.67
    assert raw.net == (NetCounters("wlp2s0", 123456789012, 98765432), NetCounters("tailscale0", 1000, 2000, True))
    assert raw.disk_io == (
        DiskIO("nvme0n1", 20000 * 512, 40000 * 512),
        DiskIO("sda", 1000 * 512, 3000 * 512),
        DiskIO("mmcblk0", 500 * 512, 0),
    )
    assert [(d.mount, d.device, d.fstype) for d in raw.disks] == [
        ("/", "/dev/nvme0n1p2", "ext4"),
        ("/boot", "/dev/nvme0n1p1", "vfat"),
        ("/mnt/My Backup Disk", "/dev/sda1", "ext4"),
    ]
    root = raw.disks[0]
    assert (root.total, root.used, root.available) == (488245288 * 1024, 210000000 * 1024, 253365000 * 1024)
    # zone2's read failed, zone4 reports the "no sensor" sentinel
    assert [(t.label, t.celsius) for t in raw.temperatures] == [
        ("acpitz", 45.0), ("x86_pkg_temp", 52.5), ("acpitz (thermal_zone3)", 47.0)]

    supplies = {p.name: p for p in raw.power}
    assert set(supplies) == {"AC", "BAT0", "BAT1"}  # the mouse (scope=Device) is not the host's
    assert supplies["AC"].kind == "Mains" and supplies["AC"].online is False
    bat0 = supplies["BAT0"]
    assert (bat0.capacity, bat0.status) == (81, "Discharging")
    assert bat0.energy_now_wh == pytest.approx(45.36) and bat0.energy_full_wh == pytest.approx(56.0)
    assert bat0.power_now_w == pytest.approx(9.12)
    bat1 = supplies["BAT1"]  # charge_* only: µAh x µV
    assert bat1.energy_now_wh == pytest.approx(24.0) and bat1.energy_full_wh == pytest.approx(60.0)
    assert bat1.power_now_w == pytest.approx(12.0)


def test_old_kernel_columns_and_meminfo_without_memavailable() -> None:
    frame = LAPTOP_FRAME.replace("cpu  1000 10 500 8000 100 20 30 0 50 0", "cpu  1000 10 500 8000")
    frame = frame.replace("MemAvailable:    9876543 kB\n", "")
    raw = parse_frame(frame.splitlines())
    assert raw.cpu == CpuTimes(total=9510, idle=8000)
    assert raw.mem.available == (1203456 + 234567 + 6543210) * 1024


def test_df_without_type_column() -> None:
    lines = [
        "Filesystem           1024-blocks    Used Available Capacity Mounted on",
        "/dev/root              3966144   1802724   1941352  48% /",
        "tmpfs                   447604       0    447604   0% /dev/shm",
        "/dev/mmcblk0p1          258095     50000    208095  19% /boot/fire mware",
        "/dev/root              3966144   1802724   1941352  48% /nix/store",
        "nas:/export         1000000000 100000000 900000000  10% /mnt/nas",
        "//nas/share         1000000000 100000000 900000000  10% /mnt/share",
    ]
    assert [(d.mount, d.fstype) for d in parse_df(lines)] == [("/", ""), ("/boot/fire mware", "")]


def test_frame_without_required_file_is_an_error() -> None:
    broken = LAPTOP_FRAME.replace("==> /proc/stat <==", "==> /proc/stat-gone <==")
    with pytest.raises(ParseError, match="/proc/stat"):
        parse_frame(broken.splitlines())
    with pytest.raises(ParseError):
        parse_frame(LAPTOP_FRAME.replace("0.52 0.58 0.59", "nan 0.58 0.59").splitlines())


# --- the reader ----------------------------------------------------------------------


def test_reader_resynchronises_after_garbage_and_cut_frames() -> None:
    good = LAPTOP_FRAME.splitlines()
    cut = good[: len(good) // 2]
    stream = ["Last login: yesterday", "\x1b[31mmotd\x1b[0m", *cut, *good, f"{FRAME_END} 7", "junk", *good]
    reader = FrameReader()
    samples = [s for line in stream if (s := reader.feed(line + "\n")) is not None]
    assert len(samples) == 2
    assert reader.bad_frames == 1 and "not ended" in (reader.last_error or "")


def test_reader_drops_mismatched_and_unparsable_frames() -> None:
    reader = FrameReader()
    body = LAPTOP_FRAME.splitlines()[1:-1]
    assert all(reader.feed(line) is None for line in [f"{FRAME_BEGIN} 1", *body, f"{FRAME_END} 2"])
    assert reader.bad_frames == 1 and "ended as frame 2" in (reader.last_error or "")
    unparsable = [f"{FRAME_BEGIN} 3", "==> /proc/stat <==", "cpu 1 x", f"{FRAME_END} 3"]
    assert all(reader.feed(line) is None for line in unparsable)
    assert reader.bad_frames == 2
    assert reader.feed(f"{FRAME_BEGIN} 4") is None
    assert all(reader.feed(line) is None for line in body)
    assert reader.feed(f"{FRAME_END} 4") is not None


def test_reader_bounds_a_frame_that_never_ends() -> None:
    reader = FrameReader()
    reader.feed(f"{FRAME_BEGIN} 1")
    for _ in range(MAX_FRAME_LINES + 5):
        reader.feed("x")
    assert reader.bad_frames == 1 and "exceeded" in (reader.last_error or "")
    assert [s for line in LAPTOP_FRAME.splitlines() if (s := reader.feed(line))]


# --- rates ---------------------------------------------------------------------------


def laptop_raw() -> RawSample:
    return parse_frame(LAPTOP_FRAME.splitlines())


def test_first_sample_has_no_rates() -> None:
    sample = compute_sample(None, laptop_raw(), 100.0)
    assert sample.taken_at == 100.0
    assert (sample.cpu_percent, sample.per_cpu_percent, sample.net_rx_bps, sample.disk_write_bps) == (None,) * 4


def advanced(raw: RawSample, seconds: float, busy: int, idle: int, net: int, disk: int) -> RawSample:
    return replace(
        raw,
        uptime_s=raw.uptime_s + seconds,
        cpu=CpuTimes(raw.cpu.total + busy + idle, raw.cpu.idle + idle),
        per_cpu=tuple(CpuTimes(c.total + busy // 2 + idle // 2, c.idle + idle // 2) for c in raw.per_cpu),
        net=tuple(replace(n, rx_bytes=n.rx_bytes + net, tx_bytes=n.tx_bytes + net) for n in raw.net),
        disk_io=tuple(replace(d, read_bytes=d.read_bytes + disk, write_bytes=d.write_bytes + disk)
                      for d in raw.disk_io),
    )


def test_rates_from_two_samples() -> None:
    first = laptop_raw()
    second = advanced(first, 2.0, busy=50, idle=150, net=1000, disk=4096)
    sample = compute_sample(first, second, 0.0)
    assert sample.cpu_percent == pytest.approx(25.0)
    assert sample.per_cpu_percent == (pytest.approx(25.0), pytest.approx(25.0))
    assert sample.net_rx_bps == pytest.approx(1000 / 2.0)  # wlp2s0 only: tailscale0's traffic crossed it too
    assert sample.disk_read_bps == pytest.approx(3 * 4096 / 2.0)  # three disks


def test_a_host_with_only_virtual_interfaces_counts_them() -> None:
    first = laptop_raw()
    first = replace(first, net=tuple(replace(n, virtual=True) for n in first.net))
    sample = compute_sample(first, advanced(first, 2.0, 50, 150, 1000, 0), 0.0)
    assert sample.net_rx_bps == pytest.approx(2 * 1000 / 2.0)


def test_reboot_gives_no_rates() -> None:
    first = laptop_raw()
    rebooted = replace(advanced(first, 1.0, 50, 50, 10, 10), uptime_s=3.0)
    sample = compute_sample(first, rebooted, 0.0)
    assert (sample.cpu_percent, sample.net_rx_bps, sample.disk_read_bps) == (None, None, None)


def test_counter_reset_gives_none_never_a_negative_rate() -> None:
    first = laptop_raw()
    second = advanced(first, 1.0, 50, 50, 10, 10)
    second = replace(second, net=(replace(second.net[0], rx_bytes=5), *second.net[1:]),
                     cpu=CpuTimes(first.cpu.total - 10, first.cpu.idle))
    sample = compute_sample(first, second, 0.0)
    assert sample.net_rx_bps is None and sample.cpu_percent is None
    assert sample.net_tx_bps == pytest.approx(10.0) and sample.disk_read_bps == pytest.approx(30.0)


def test_ticks_that_did_not_advance_give_no_cpu_percent() -> None:
    first = laptop_raw()
    second = replace(first, uptime_s=first.uptime_s + 1)
    assert compute_sample(first, second, 0.0).cpu_percent is None


def test_a_core_going_offline_drops_only_per_core_figures() -> None:
    first = laptop_raw()
    second = advanced(first, 1.0, 50, 50, 0, 0)
    second = replace(second, per_cpu=second.per_cpu[:1])
    sample = compute_sample(first, second, 0.0)
    assert sample.per_cpu_percent is None and sample.cpu_percent == pytest.approx(50.0)


# --- the local machine -------------------------------------------------------------------


def test_local_sample_matches_the_remote_shape_and_is_cheap() -> None:
    first = read_local_sample()
    time.sleep(0.3)
    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        second = read_local_sample()
    cost_ms = (time.perf_counter() - started) / rounds * 1000
    assert len(first.per_cpu) == os.cpu_count()
    assert first.mem.total > first.mem.available > 0
    assert second.uptime_s > first.uptime_s
    assert all(n.iface != "lo" for n in first.net)
    assert all(d.fstype not in PSEUDO_FILESYSTEMS for d in first.disks)
    sample = compute_sample(first, second, time.time())
    assert sample.cpu_percent is not None and 0.0 <= sample.cpu_percent <= 100.0
    print(f"\nread_local_sample: {cost_ms:.2f} ms per call")


def test_local_and_remote_agree_on_this_machine(real_output: str) -> None:
    remote = read_frames(real_output)[0][0]
    local = read_local_sample()
    assert local.mem.total == remote.mem.total
    assert {(n.iface, n.virtual) for n in local.net} == {(n.iface, n.virtual) for n in remote.net}
    virtual = set(os.listdir("/sys/devices/virtual/net"))
    assert {n.iface for n in remote.net if n.virtual} == virtual - {"lo"}
    assert {d.device for d in local.disk_io} == {d.device for d in remote.disk_io}
    assert {d.mount for d in local.disks} == {d.mount for d in remote.disks}
    assert abs(local.uptime_s - remote.uptime_s) < 60


# --- nothing from a host crashes the parser -------------------------------------------------

FRAME_WORDS = st.sampled_from([
    FRAME_BEGIN, FRAME_END, DF_MARKER, "==> /proc/stat <==", "==> /proc/meminfo <==", "==> /proc/loadavg <==",
    "==> /proc/uptime <==", "==> /proc/net/dev <==", "==> /proc/diskstats <==",
    "==> /sys/class/thermal/thermal_zone0/temp <==", "==> /sys/class/power_supply/BAT0/energy_now <==",
    "cpu", "cpu0", "MemTotal:", "kB", ":", "lo:", "sda", "sda1", "Filesystem Type", "/", "%", "-", "1", "0",
    "99999999999999999999", "-5", "nan", "1e400", "\u0661", "\x00", " ",
])
FRAME_LINES = st.lists(
    st.one_of(st.text(max_size=60), st.lists(FRAME_WORDS, max_size=12).map(" ".join)), max_size=60
)



@PARSER_PROPERTIES
@given(FRAME_LINES)
def test_parse_frame_raises_only_parse_error_on_any_text(lines: list[str]) -> None:
    only_parse_errors(lambda: parse_frame(lines))


@PARSER_PROPERTIES
@given(data=st.data())
def test_parse_frame_on_damaged_real_frames(real_frame_lines: list[str], data: st.DataObject) -> None:
    lines = data.draw(st.sampled_from([LAPTOP_FRAME.splitlines(), real_frame_lines]))
    cut = data.draw(st.integers(0, len(lines)))
    damaged = list(lines[:cut])
    if damaged and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(damaged) - 1))
        line = damaged[index]
        chop = data.draw(st.integers(0, len(line)))
        damaged[index] = line[:chop] + data.draw(st.text(max_size=8))
    only_parse_errors(lambda: parse_frame(damaged))


@PARSER_PROPERTIES
@given(lines=FRAME_LINES, cut=st.integers(0, 200))
def test_frame_reader_never_raises(real_output: str, lines: list[str], cut: int) -> None:
    real = real_output.splitlines()
    reader = FrameReader()
    for line in [*lines, *real[:cut], *lines]:
        reader.feed(line)
    # whatever came before, the next whole frame is read
    assert [s for line in real if (s := reader.feed(line)) is not None]
