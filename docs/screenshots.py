"""Regenerate the SVG screenshots in screenshots/ from the real app watching
a real test fleet (tests/fleet). Needs root, like the tests.

    python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.loader import load_settings
from console.app import NixdeckApp
from console.model import HostState
from tests.fleet import HostSpec, TestFleet

SHOTS = ROOT / "screenshots"
Navigate = Callable[[Pilot, NixdeckApp], Awaitable[None]]


async def settle(pilot: Pilot, app: NixdeckApp, fleet: TestFleet) -> None:
    """Wait until every reachable host has facts and a CPU figure and the
    dropped one is shown down: what a user sees a few seconds in."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        monitors = app.fleet.monitors.values()
        ready = all(
            (m.facts is not None and m.sample is not None and m.sample.cpu_percent is not None)
            or m.status.state not in (HostState.UP, HostState.CONNECTING)
            for m in monitors
        ) and app.fleet["lab-nas"].status.state == HostState.DOWN
        if ready:
            break
        await pilot.pause(0.2)
    await pilot.pause(4)  # a few samples, so the history graphs have a shape


async def capture(fleet: TestFleet, work: Path, name: str, size: tuple[int, int], navigate: Navigate) -> None:
    config = work / "nixdeck.toml"
    config.write_text(fleet.config_toml())
    settings, _ = load_settings(config, {"refresh_interval": 1.0})
    # The title shows where a user's config lives, not this script's temporary file.
    app = NixdeckApp(settings, config_path=Path("~/.config/nixdeck/config.toml"))
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app, fleet)
        await navigate(pilot, app)
        await pilot.pause(1.0)
        app.save_screenshot(filename=name, path=str(SHOTS))
    print(f"wrote {SHOTS / name}")


async def fleet_overview(pilot: Pilot, app: NixdeckApp) -> None:
    pass


async def host_view(pilot: Pilot, app: NixdeckApp) -> None:
    app.open_host("dev-server")


async def split_view(pilot: Pilot, app: NixdeckApp) -> None:
    app.open_side_by_side(["p620", "razer", "dev-server", "lab-nas"])


async def journal_viewer(pilot: Pilot, app: NixdeckApp) -> None:
    app.open_journal(None)
    await pilot.pause(1.0)
    await pilot.press("slash", *"nginx", "enter")


async def generations_view(pilot: Pilot, app: NixdeckApp) -> None:
    app.open_generations("dev-server")
    await pilot.pause(2.0)  # the closure sizes come in a second read


async def cleanup_preview(pilot: Pilot, app: NixdeckApp) -> None:
    app.open_cleanup(["p620", "dev-server"])
    await pilot.pause(2.0)


async def rollback_preview(pilot: Pilot, app: NixdeckApp) -> None:
    app.open_rollback("p620")
    await pilot.pause(2.0)


async def take_all(fleet: TestFleet, work: Path) -> None:
    # A host that was up and dropped: shown down with how long ago it was seen.
    await asyncio.to_thread(fleet.host("lab-nas").kill)
    await capture(fleet, work, "fleet-overview.svg", (120, 24), fleet_overview)
    await capture(fleet, work, "host-view.svg", (120, 36), host_view)
    await capture(fleet, work, "split-view.svg", (160, 40), split_view)
    await capture(fleet, work, "journal-viewer.svg", (120, 30), journal_viewer)
    await capture(fleet, work, "generations.svg", (120, 24), generations_view)
    await capture(fleet, work, "cleanup-preview.svg", (120, 36), cleanup_preview)
    await capture(fleet, work, "rollback-preview.svg", (120, 30), rollback_preview)


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
            for n in range(3):
                fleet.host("dev-server").log(f"upstream timed out (110: Connection timed out) #{n}",
                                             priority=3, unit="nginx.service", identifier="nginx")
            asyncio.run(take_all(fleet, Path(work)))
        finally:
            fleet.stop()


if __name__ == "__main__":
    main()
