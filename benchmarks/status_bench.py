"""How long `nixdeck status --json` takes over 10 and 20 test hosts, against
the floor for any Python tool: a bare asyncio.gather of asyncssh connections
that each run one command.

Both run as fresh processes (interpreter start and imports included), several
times each, interleaved so that machine noise hits both alike; the median is
reported. Needs root (the test fleet uses namespaces).

    python benchmarks/status_bench.py [--hosts 10 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fleet import HostSpec, TestFleet

FLOOR_SCRIPT = r"""
import asyncio, sys, asyncssh

async def one(port, key, known_hosts):
    async with asyncssh.connect("127.0.0.1", port, username="root", client_keys=[key],
                                known_hosts=known_hosts, config=None) as conn:
        return (await conn.run("cat /proc/loadavg", check=True)).stdout

async def main():
    key, known_hosts, *ports = sys.argv[1:]
    results = await asyncio.gather(*(one(int(p), key, known_hosts) for p in ports))
    assert len(results) == len(ports)

asyncio.run(main())
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and the process's own CPU time (user + system)."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return elapsed, cpu


def measure(host_count: int, runs: int, work_dir: Path) -> dict[str, float]:
    fleet = TestFleet(work_dir / f"fleet{host_count}")
    try:
        started = time.perf_counter()
        fleet.start([HostSpec(f"host{n:02d}", generations=3, laptop=n % 3 == 0) for n in range(host_count)])
        fleet_start = time.perf_counter() - started
        config = work_dir / f"fleet{host_count}.toml"
        config.write_text(fleet.config_toml())
        env = {k: v for k, v in os.environ.items() if not k.startswith("NIXDECK_")}
        status_argv = [sys.executable, "-m", "console", "--config", str(config), "status", "--json"]
        floor_argv = [sys.executable, "-c", FLOOR_SCRIPT, str(fleet.client_key), str(fleet.known_hosts)]
        floor_argv += [str(host.port) for host in fleet.hosts]

        reports = json.loads(subprocess.run(status_argv, capture_output=True, text=True, env=env, timeout=300, check=False).stdout)
        reached = sum(report["state"] == "up" for report in reports)
        if reached != host_count:
            raise SystemExit(f"only {reached} of {host_count} hosts reached")

        status_runs, floor_runs = [], []
        for _ in range(runs):
            floor_runs.append(timed(floor_argv, env))
            status_runs.append(timed(status_argv, env))
        return {
            "fleet_start_s": fleet_start,
            "status_median_s": statistics.median(wall for wall, _ in status_runs),
            "floor_median_s": statistics.median(wall for wall, _ in floor_runs),
            "status_cpu_s": statistics.median(cpu for _, cpu in status_runs),
            "floor_cpu_s": statistics.median(cpu for _, cpu in floor_runs),
        }
    finally:
        fleet.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nixdeck-bench-") as work:
        print("median of each; CPU = the client process's own user + system time")
        print(f"{'hosts':>5}  {'nixdeck status':>14}  {'asyncssh floor':>14}  {'ratio':>5}  {'status CPU':>10}  {'floor CPU':>9}")
        for count in args.hosts:
            figures = measure(count, args.runs, Path(work))
            ratio = figures["status_median_s"] / figures["floor_median_s"]
            print(
                f"{count:>5}  {figures['status_median_s']:>12.3f} s  {figures['floor_median_s']:>12.3f} s  {ratio:>4.2f}x"
                f"  {figures['status_cpu_s']:>8.3f} s  {figures['floor_cpu_s']:>7.3f} s"
                f"   (test fleet started in {figures['fleet_start_s']:.1f} s)"
            )


if __name__ == "__main__":
    main()
