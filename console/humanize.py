"""Numbers as people read them, shared by the status table and the UI."""

from __future__ import annotations


def human_bytes(count: float) -> str:
    """1536 -> "1.5 KiB"; binary units, as free(1) and df -h use."""
    if abs(count) < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        count /= 1024
        if abs(count) < 1024 or unit == "TiB":
            break
    return f"{count:.1f} {unit}"
