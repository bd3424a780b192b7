"""How long to wait before trying a host again."""

from __future__ import annotations

import random
from collections.abc import Callable

FIRST_DELAY_S = 1.0


def reconnect_delay(attempt: int, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Capped exponential backoff with jitter, in seconds.

    Attempt 0 waits about FIRST_DELAY_S, each next attempt about twice as long,
    never more than `cap`. The delay is drawn from [d/2, d] ("equal jitter") so
    hosts that dropped together (a switch rebooted) do not all knock again in
    the same instant, while the wait never collapses to zero.
    """
    ceiling = min(cap, FIRST_DELAY_S * 2 ** min(attempt, 32))
    return ceiling / 2 + rng() * ceiling / 2
