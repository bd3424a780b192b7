"""What live sampling costs, on the hosts and in the console.

Host side: the CPU time (user + system, its children included) of each host's
sampler loop at a 1 s interval, read from /proc/<pid>/stat of the loop's shell
at the start and the end of the run. Console side: this process's CPU time
divided by the samples it received, with N test hosts watched by the real
engine (journal following off, so only sampling is counted).

    python benchmarks/sampling_bench.py [--hosts 10] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.loader import load_settings
from console.events import EngineEvent, SampleTaken
from console.fleet import Fleet
from tests.fleet import HostSpec, TestFleet

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def sampler_pids() -> list[int]:
    """The shells running the sampler loop: `sh -c SCRIPT nixdeck-sampler ...`
    (the stream watchdog around it names nixdeck-sampler later in its argv)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if len(cmdline) > 3 and cmdline[1] == b"-c" and cmdline[3] == b"nixdeck-sampler":
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime: the loop and every process it reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


async def run(host_count: int, seconds: float, work: Path) -> None:
    test_fleet = TestFleet(work / "fleet")
    try:
        test_fleet.start([HostSpec(f"host{n:02d}", generations=3, laptop=n % 2 == 0) for n in range(host_count)])
        config = work / "fleet.toml"
        config.write_text(test_fleet.config_toml())
        settings, _ = load_settings(config, {"refresh_interval": 1.0, "facts_interval": 3600})
        samples = 0

        def count(event: EngineEvent) -> None:
            nonlocal samples
            if isinstance(event, SampleTaken):
                samples += 1

        fleet = Fleet(settings, follow_journal=False)
        fleet.subscribe(count)
        async with fleet:
            await fleet.wait_settled(30)
            await asyncio.sleep(2)  # let start-up work (connects, facts) finish before measuring
            pids = sampler_pids()
            host_before = {pid: cpu_seconds(pid) for pid in pids}
            console_before = resource.getrusage(resource.RUSAGE_SELF)
            samples_before = samples
            wall_before = time.monotonic()
            await asyncio.sleep(seconds)
            wall = time.monotonic() - wall_before
            console_after = resource.getrusage(resource.RUSAGE_SELF)
            host_after = {pid: cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
            taken = samples - samples_before
        host_cpu = sum(host_after[pid] - host_before[pid] for pid in host_after)
        rounds = len(host_after) * wall
        console_cpu = (console_after.ru_utime + console_after.ru_stime) - (console_before.ru_utime + console_before.ru_stime)
        print(f"hosts {host_count}, interval 1 s, {wall:.1f} s measured, {taken} samples received")
        print(f"host side:    {1000 * host_cpu / rounds:.2f} ms CPU per sample round per host "
              f"({100 * host_cpu / len(host_after) / wall:.2f} % of a core per host), {len(host_after)} sampler loops")
        print(f"console side: {1000 * console_cpu / max(taken, 1):.2f} ms CPU per host-sample "
              f"({100 * console_cpu / wall:.2f} % of a core for {host_count} hosts)")
    finally:
        test_fleet.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nixdeck-bench-") as work:
        asyncio.run(run(args.hosts, args.seconds, Path(work)))


if __name__ == "__main__":
    main()
