"""Shared fixtures: real SSH test hosts from tests/fleet (see its README.md)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.fleet import HostSpec, TestFleet, preflight


@pytest.fixture(scope="session")
def fleet_available() -> None:
    """Skip where test hosts cannot run; in CI that is a failure instead."""
    reason = preflight()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the test fleet cannot start: {reason}")
    pytest.skip(f"the test fleet cannot start: {reason}")


@pytest.fixture
def fleet_factory(fleet_available, tmp_path) -> Iterator[Callable[[list[HostSpec]], TestFleet]]:
    """make(specs) -> a started TestFleet of its own; all stopped at teardown.
    Use this for tests that kill, revive or otherwise change hosts."""
    fleets: list[TestFleet] = []

    def make(specs: list[HostSpec]) -> TestFleet:
        fleet = TestFleet(tmp_path / f"fleet{len(fleets)}")
        fleets.append(fleet)
        fleet.start(specs)
        return fleet

    yield make
    for fleet in fleets:
        fleet.stop()


@pytest.fixture(scope="session")
def fleet3(fleet_available, tmp_path_factory) -> Iterator[TestFleet]:
    """Three differing hosts shared by the whole session; do not kill them.

    alpha: workstation, 4 generations.
    beta:  laptop, 3 generations, battery 76 % discharging, AC offline.
    gamma: server, 6 generations, nginx.service failed, running generation 6
           but booted into 5 (reboot pending).
    """
    fleet = TestFleet(tmp_path_factory.mktemp("fleet3"))
    try:
        fleet.start([
            HostSpec("alpha", generations=4),
            HostSpec("beta", generations=3, laptop=True),
            HostSpec("gamma", generations=6, server=True, failed_units=("nginx.service",), booted_generation=5),
        ])
        fleet.host("beta").set_battery(76, "Discharging", ac_online=False)
        yield fleet
    finally:
        fleet.stop()
