"""Snapshot tests of the main layouts, with frozen data (tests/frozen.py).

A failing snapshot writes a side-by-side report; after checking that a change
is intended, accept it with `pytest tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from tests.frozen import frozen_app


def test_fleet_overview_at_80x24(snap_compare) -> None:
    assert snap_compare(frozen_app(), terminal_size=(80, 24))


def test_fleet_overview_wide(snap_compare) -> None:
    assert snap_compare(frozen_app(), terminal_size=(180, 30))


def test_fleet_overview_sorted_by_cpu_and_filtered(snap_compare) -> None:
    assert snap_compare(frozen_app(), press=["s", "s", "slash", *"e", "enter"], terminal_size=(120, 24))
