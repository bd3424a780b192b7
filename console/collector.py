"""When Python's garbage collector makes its full passes in the console.

A full pass walks every object the console holds, a journal flood's rows and
rendered lines among them: 70-150 ms on a small machine, long enough to hold
up a key press past 100 ms. The console's garbage is nearly all freed by
reference counting (a minute's flood with no collection at all leaves RSS
flat), so full passes can wait: they run once the user has left the keys and
mouse alone for a moment, and in any case at least every MAX_GAP_S. Young
passes (microseconds to a few milliseconds) run as Python decides.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

QUIET_S = 2.0  # no input this long: a pause is not felt
MIN_GAP_S = 60.0  # full passes at most this often
MAX_GAP_S = 600.0  # and at least this often, quiet or not
# A threshold the oldest generation's count never reaches: no automatic full pass.
_NEVER = 2**30


class FullCollections:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_input = clock()
        self._last_full = clock()
        self.passes = 0
        self._thresholds: tuple[int, int, int] | None = None  # Python's own, while taken over

    def take_over(self) -> None:
        """Freeze what exists now (modules, styles, the first screen: it
        lives as long as the console, so no pass need ever walk it) and stop
        Python's own full passes. Called again as start-up goes on, each call
        freezes what has been built since."""
        gc.freeze()
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, _NEVER)

    def hand_back(self) -> None:
        """Python's own collection again, for whatever runs after the console."""
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            gc.unfreeze()
            self._thresholds = None

    def input_seen(self) -> None:
        self._last_input = self._clock()

    def due(self) -> bool:
        now = self._clock()
        since_full = now - self._last_full
        if since_full >= MAX_GAP_S:
            return True
        return since_full >= MIN_GAP_S and now - self._last_input >= QUIET_S

    def collect_if_due(self) -> None:
        if self.due():
            gc.collect()
            self._last_full = self._clock()
            self.passes += 1
