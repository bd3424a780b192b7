from console.backoff import reconnect_delay


def test_delay_grows_exponentially_until_the_cap() -> None:
    ceilings = [reconnect_delay(attempt, cap=30, rng=lambda: 1.0) for attempt in range(8)]
    assert ceilings == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_keeps_at_least_half_the_delay() -> None:
    assert reconnect_delay(3, cap=30, rng=lambda: 0.0) == 4
    assert reconnect_delay(100, cap=2, rng=lambda: 0.0) == 1


def test_huge_attempt_counts_do_not_overflow() -> None:
    assert reconnect_delay(10_000, cap=30, rng=lambda: 0.5) == 22.5
