"""Snapshot tests of the main layouts, with frozen data (tests/frozen.py).

A failing snapshot writes a side-by-side report; after checking that a change
is intended, accept it with `pytest tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from tests.frozen import frozen_app


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Journal lines show local time: the same zone on every machine."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


def test_fleet_overview_at_80x24(snap_compare) -> None:
    assert snap_compare(frozen_app(), terminal_size=(80, 24))


def test_fleet_overview_wide(snap_compare) -> None:
    assert snap_compare(frozen_app(), terminal_size=(180, 30))


def test_fleet_overview_sorted_by_cpu_and_filtered(snap_compare) -> None:
    assert snap_compare(frozen_app(), press=["s", "s", "slash", *"e", "enter"], terminal_size=(120, 24))


def test_host_view(snap_compare) -> None:
    async def open_razer(pilot: Pilot) -> None:
        pilot.app.open_host("razer")
        await pilot.pause()

    assert snap_compare(frozen_app(), run_before=open_razer, terminal_size=(140, 40))


def test_split_view_of_four_hosts(snap_compare) -> None:
    assert snap_compare(frozen_app(), press=["m"], terminal_size=(140, 40))


def test_merged_journal_searched(snap_compare) -> None:
    async def search_nginx(pilot: Pilot) -> None:
        pilot.app.open_journal(None)
        await pilot.pause()
        await pilot.press("slash", *"nginx", "enter")
        await pilot.pause()

    assert snap_compare(frozen_app(), run_before=search_nginx, terminal_size=(120, 30))
