"""Regenerate the SVG screenshots in screenshots/ from the real app watching
a real test fleet (tests/fleet). Needs root, like the tests.

    python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.loader import load_settings
from console.app import NixdeckApp
from console.model import HostState
from tests.fleet import HostSpec, TestFleet

SIZE = (172, 12)


async def fleet_overview(fleet: TestFleet, work: Path) -> None:
    config = work / "nixdeck.toml"
    config.write_text(fleet.config_toml())
    settings, path = load_settings(config, {"refresh_interval": 1.0})
    app = NixdeckApp(settings, config_path=path)
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 30
        while app.fleet["lab-nas"].facts is None and time.monotonic() < deadline:
            await pilot.pause(0.2)
        # A host that was up and dropped: shown down with how long ago it was seen.
        await asyncio.to_thread(fleet.host("lab-nas").kill)
        # Wait until every reachable host has facts and a CPU figure, and the
        # dropped one is shown down: what a user sees a few seconds in.
        while time.monotonic() < deadline:
            monitors = app.fleet.monitors.values()
            ready = all(
                (m.facts is not None and m.sample is not None and m.sample.cpu_percent is not None)
                or m.status.state != HostState.UP
                for m in monitors
            ) and app.fleet["lab-nas"].status.state == HostState.DOWN
            if ready:
                break
            await pilot.pause(0.2)
        await pilot.pause(1.5)
        app.save_screenshot(filename="fleet-overview.svg", path=str(ROOT / "screenshots"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nixdeck-shots-") as work:
        fleet = TestFleet(Path(work) / "fleet")
        try:
            fleet.start([
                HostSpec("p620", generations=5),
                HostSpec("razer", generations=3, laptop=True),
                HostSpec("dev-server", generations=6, server=True, failed_units=("nginx.service",), booted_generation=5),
                HostSpec("lab-nas", generations=4, server=True),
                HostSpec("new-laptop", generations=3, laptop=True, known=False),
            ])
            fleet.host("razer").set_battery(64, "Discharging", ac_online=False)
            fleet.host("new-laptop").set_battery(12, "Discharging", ac_online=False)
            asyncio.run(fleet_overview(fleet, Path(work)))
        finally:
            fleet.stop()
    print(f"wrote {ROOT / 'screenshots' / 'fleet-overview.svg'}")


if __name__ == "__main__":
    main()
