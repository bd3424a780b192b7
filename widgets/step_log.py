"""The steps of an operation on a host as they happen: each step's start,
its end or failure with the last lines of its output, and notes."""

from __future__ import annotations

from textual.widgets import Log

from console.changes import Progress, StepState

MARKERS = {StepState.STARTED: "→", StepState.DONE: "✓", StepState.FAILED: "✗", StepState.NOTE: "·"}
OUTPUT_LINES_SHOWN = 12


class StepLog(Log):
    DEFAULT_CSS = """
    StepLog {
        display: none;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(max_lines=500, id=id, classes=classes)

    def show(self, progress: Progress) -> None:
        self.display = True
        self.write_line(f"{MARKERS[progress.state]} {progress.step}")
        if progress.text and progress.state is not StepState.STARTED:
            for line in progress.text.rstrip().splitlines()[-OUTPUT_LINES_SHOWN:]:
                self.write_line(f"    {line}")
