"""Progress bars for the long server commands (verify, gc, keys rotate, audit verify, audit export).

On standard error, so a command's output (an export to '-', a verdict) stays clean. On a terminal
the bar moves; elsewhere (a cron log, CI) rich prints its final state once, which says how much
was done. rich is imported when a bar starts, not when `strongroom --help` runs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


@dataclass
class Bar:
    """One bar: `advance(n)` as work is done; `done(n, total)` where the worker counts for us."""

    _progress: "Progress"
    _task: "TaskID"

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)

    def done(self, completed: float, total: float | None) -> None:
        self._progress.update(self._task, completed=completed, total=total)


@contextmanager
def bar(description: str, *, total: float | None = None, in_bytes: bool = False) -> Iterator[Bar]:
    from rich.console import Console  # not at import: keeps --help fast
    from rich.progress import (  # not at import: keeps --help fast
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    amount = DownloadColumn() if in_bytes else MofNCompleteColumn()
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), amount, TimeElapsedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as progress:
        yield Bar(progress, progress.add_task(description, total=total))
