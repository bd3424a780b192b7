"""Sparklines: a history of figures as one line of text.

Eighth blocks need a font that has them; the Linux console's does not, so
there is a plain ASCII ramp for TERM=linux.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"
ASCII = " _.-=+*#"


def plain_terminal() -> bool:
    """The Linux virtual console: 16 colours, a font without block glyphs."""
    return os.environ.get("TERM", "") == "linux"


def sparkline(values: Sequence[float | None], width: int, maximum: float = 100.0, *, ascii: bool = False) -> str:
    """The last `width` values scaled 0..maximum, right-aligned; a gap (None)
    shows as a space. Any value above zero shows at least the lowest mark so
    that light load is not mistaken for none."""
    ramp = ASCII if ascii else BLOCKS
    top = len(ramp) - 1
    recent = list(values)[-width:] if width > 0 else []
    marks = []
    for value in recent:
        if value is None or maximum <= 0:
            marks.append(" ")
            continue
        level = min(max(value / maximum, 0.0), 1.0)
        index = round(level * top)
        if value > 0 and index == 0:
            index = 1
        marks.append(ramp[index])
    return "".join(marks).rjust(width)
