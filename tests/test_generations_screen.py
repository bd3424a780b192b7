"""The generations screen against the test fleet: what it shows is compared
with what each host was built with and with what its own Nix says
(`nix-store -qR`, `nix-store -q --size`, run inside the host)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from console.app import NixdeckApp
from console.humanize import human_bytes
from console.model import HostState
from console.overview import age_text
from screens.generations import GenerationsScreen
from tests.fleet import HostSpec, TestFleet, TestHost
from tests.frozen import frozen_app
from tests.screen import screen_lines, screen_text, wait_until
from tests.test_app import make_app
from tests.test_generations import closure, nar_sizes

# A generation's row: number, the D R B roles, built, age, NixOS, kernel, closure.
GENERATION_ROW = re.compile(r"^ +(\d+) +([D·]) ([R·]) ([B·]) +(\S+) +(\d+ (?:s|min|h|d)) +(\S+) +(\S+) +(.+?) *$")


def generation_rows(app: NixdeckApp) -> dict[int, tuple[str, ...]]:
    """{number: (roles, built, age, nixos, kernel, closure)} as the rows read on screen."""
    rows = {}
    for line in screen_lines(app):
        if match := GENERATION_ROW.match(line):
            number, default, running, booted, *rest = match.groups()
            rows[int(number)] = (f"{default} {running} {booted}", *rest)
    return rows


def host_row(app: NixdeckApp, host: str) -> list[str]:
    """The words of the host's line in the fleet mode's table."""
    return next(line.split() for line in screen_lines(app) if line.startswith(f" {host} "))


def sizes_shown(app: NixdeckApp) -> bool:
    rows = generation_rows(app)
    return bool(rows) and all(row[-1] not in ("…", "?") for row in rows.values()) and "reading" not in screen_text(app)


def union_closure(host: TestHost) -> list[str]:
    return sorted({path for truth in host.generations for path in closure(host, truth.store_path)})


async def all_up(app: NixdeckApp, pilot) -> None:
    await wait_until(pilot, lambda: all(m.status.state is HostState.UP for m in app.fleet.monitors.values()), 20,
                     "every host up")


async def test_each_host_shows_its_generations_as_they_are(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_up(app, pilot)
        for host in fleet3.hosts:
            app.open_host(host.name)
            await pilot.pause()
            await pilot.press("g")  # the host view's key for its generations
            await wait_until(pilot, lambda: sizes_shown(app), 20, f"{host.name}'s generations with their sizes")
            assert isinstance(app.screen, GenerationsScreen) and app.screen.host == host.name
            lines = screen_lines(app)
            assert all(len(line) == 80 for line in lines)
            rows = generation_rows(app)
            assert list(rows) == [truth.number for truth in reversed(host.generations)], "newest first"
            for truth in host.generations:
                roles = " ".join(letter if has else "·" for letter, has in (
                    ("D", truth.number == host.current_generation), ("R", truth.number == host.current_generation),
                    ("B", truth.number == host.booted_generation)))
                assert rows[truth.number] == (
                    roles, time.strftime("%Y-%m-%d", time.localtime(truth.created)),
                    age_text(time.time() - truth.created), truth.nixos_version, truth.kernel_version,
                    human_bytes(nar_sizes(host, closure(host, truth.store_path))),
                ), (host.name, truth.number)
            text = screen_text(app)
            current, booted = host.current_generation, host.booted_generation
            assert (f"{len(host.generations)} generations · boot default {current} · running {current} · "
                    f"booted {booted}") in text
            reboot = f"reboot pending: generation {current} is the boot default, generation {booted} is booted"
            assert (reboot in text) == (host.name == "gamma")
            assert current != booted or "reboot pending" not in text
            await pilot.press("escape", "escape")  # back to the host view, then the overview
            await pilot.pause()


async def test_every_host_in_a_line_and_enter_opens_one(fleet3: TestFleet, tmp_path: Path) -> None:
    app = make_app(fleet3, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_up(app, pilot)
        await pilot.press("g")
        await wait_until(pilot, lambda: all("…" not in host_row(app, h.name) for h in fleet3.hosts), 30,
                         "every host's store usage")
        assert all(len(line) == 80 for line in screen_lines(app))
        for host in fleet3.hosts:
            row = host_row(app, host.name)
            df = host.run(["df", "-Pk", "/nix/store"]).stdout.splitlines()[1].split()
            assert row[1] == "up"
            assert row[2:5] == [str(len(host.generations)), str(host.current_generation),
                                str(host.booted_generation)], host.name
            assert " ".join(row[5:7]) == human_bytes(nar_sizes(host, union_closure(host))), host.name
            assert re.fullmatch(r"\d+%", row[7]) and " ".join(row[8:]) == f"of {human_bytes(int(df[1]) * 1024)}"
        assert "cannot read" not in screen_text(app)

        await pilot.press("down", "down", "enter")  # the rows follow the overview: alpha, beta, gamma
        await wait_until(pilot, lambda: sizes_shown(app), 20, "gamma's generations")
        assert app.screen.host == "gamma"  # type: ignore[attr-defined]
        assert "reboot pending: generation 6 is the boot default, generation 5 is booted" in screen_text(app)
        await pilot.press("right_square_bracket")  # next host, round to the first
        await wait_until(pilot, lambda: getattr(app.screen, "host", None) == "alpha" and sizes_shown(app), 20,
                         "alpha's generations")
        assert set(generation_rows(app)) == {1, 2, 3, 4}
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: getattr(app.screen, "host", None) == "gamma" and sizes_shown(app), 20,
                         "gamma's again")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, GenerationsScreen) and app.screen.host is None
        assert host_row(app, "beta")[2:5] == ["3", "3", "3"]


async def test_a_down_host_shows_down_and_the_others_are_read(fleet_factory, tmp_path: Path) -> None:
    test_fleet = fleet_factory([HostSpec("delta", generations=3),
                                HostSpec("epsilon", generations=5, server=True, booted_generation=4)])
    delta = test_fleet.host("delta")
    app = make_app(test_fleet, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await all_up(app, pilot)
        await asyncio.to_thread(delta.kill)
        await wait_until(pilot, lambda: app.fleet["delta"].status.state is HostState.DOWN, 15, "delta down")
        await pilot.press("g")
        await wait_until(pilot, lambda: "…" not in host_row(app, "epsilon"), 30, "epsilon's store usage")
        assert host_row(app, "epsilon")[1:5] == ["up", "5", "5", "4"]
        down = host_row(app, "delta")  # delta down 5 s - - - - -
        assert down[1] == "down" and down[4:] == ["-"] * 5, "nothing read from a down host"
        assert "cannot read" not in screen_text(app), "a host that is down is no error"

        await pilot.press("enter")  # delta's own: read once it is back
        await pilot.pause()
        assert "read once the host is up" in screen_text(app)
        await asyncio.to_thread(delta.revive)
        await wait_until(pilot, lambda: sizes_shown(app), 30, "delta's generations once it is back")
        assert set(generation_rows(app)) == {1, 2, 3}
        await pilot.press("escape")
        await wait_until(pilot, lambda: host_row(app, "delta")[1:5] == ["up", "3", "3", "3"], 20,
                         "delta's line read too")


async def test_a_host_that_cannot_be_read_says_why() -> None:
    # The frozen fleet's monitors say "up" but were never connected.
    app = frozen_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("g")
        await wait_until(pilot, lambda: "p620: cannot read: not connected" in screen_text(app), 5, "the problem")
        text = screen_text(app)
        assert "razer: cannot read: not connected" in text and "dex5550: cannot read: not connected" in text
        assert "lab-nas:" not in text and "new-laptop:" not in text
        assert host_row(app, "lab-nas")[1:3] == ["down", "2"] and "unknown key" in " ".join(host_row(app, "new-laptop"))
        await pilot.press("down", "down", "down", "enter")  # p620
        await wait_until(pilot, lambda: "cannot read the generations: not connected" in screen_text(app), 5,
                         "the per-host problem")
        assert app.is_running


async def test_the_palette_opens_one_hosts_generations() -> None:
    app = frozen_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"generations: razer")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, GenerationsScreen), 5, "the generations screen")
        assert app.screen.host == "razer"  # type: ignore[attr-defined]
