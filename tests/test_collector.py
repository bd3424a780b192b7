"""When the console's full garbage collections run (console.collector)."""

from __future__ import annotations

import gc

from console.collector import MAX_GAP_S, MIN_GAP_S, QUIET_S, FullCollections


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_pass_waits_for_a_quiet_moment_and_never_longer_than_the_max_gap() -> None:
    clock = Clock()
    collections = FullCollections(clock)
    clock.now += MIN_GAP_S - 1
    assert not collections.due()  # too soon after the last
    clock.now += 1
    assert collections.due()  # nobody typed since the start
    collections.input_seen()
    assert not collections.due()  # a key was just pressed
    clock.now += QUIET_S
    assert collections.due()
    # Someone typing all the time still gets a pass every MAX_GAP_S.
    for _ in range(int(MAX_GAP_S)):
        clock.now += 1
        collections.input_seen()
        if collections.due():
            break
    assert clock.now - 1000.0 >= MAX_GAP_S


def test_collect_if_due_runs_one_pass_and_starts_the_gap_again() -> None:
    clock = Clock()
    collections = FullCollections(clock)
    collections.collect_if_due()
    assert collections.passes == 0
    clock.now += MIN_GAP_S + QUIET_S
    collections.collect_if_due()
    assert collections.passes == 1 and not collections.due()


def test_take_over_stops_automatic_full_passes_and_hand_back_restores_them() -> None:
    before = gc.get_threshold()
    collections = FullCollections()
    collections.take_over()
    try:
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == before[:2] and oldest >= 2**30
        assert gc.get_freeze_count() > 0
    finally:
        collections.hand_back()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
