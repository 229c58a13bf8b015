"""The progress display of the commands that read region files (``verify``, ``details``, ...).

Progress reaches it through the core's callback ``progress(stage, done, total)`` (DESIGN.md §5: the
core never prints).
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

__all__ = ["StageProgress"]


class StageProgress:
    """Progress of a long command on stderr: ``stage: done/total (pct)  rate/s  ETA``.

    Redrawn in place at most every 0.2 s on a terminal; with ``force`` (``--progress``) on a
    non-terminal, one line every 5 s, and always the first report of a stage (so every phase is
    named). Whatever the stream, warns once per stage when the remaining time, extrapolated from
    the rate since the stage's first report (its first chunk), passes ``warn_seconds``; the
    warning names how to leave the phase out when ``hint(stage)`` says.
    """

    def __init__(self, force: bool = False, stream: TextIO | None = None,
                 warn_seconds: float = 1800.0,
                 hint: Callable[[str], str | None] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.tty or force
        self.warn_seconds = warn_seconds
        self.hint = hint
        self.stage: str | None = None
        self._start = self._last = self._first_t = 0.0
        self._first_done = 0
        self._warned = self._open = False

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        new = stage != self.stage
        if new:
            self._end_line()
            self.stage, self._start, self._last, self._warned = stage, now, 0.0, False
            self._first_t, self._first_done = now, done
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        span = now - self._first_t
        # a rate past the first chunk, over 2 s at least (the first chunks of a pool come while
        # its other workers still start)
        measured = span >= 2.0 and done > self._first_done
        if measured:
            rate = (done - self._first_done) / span
        eta = (total - done) / rate if total is not None and rate > 0 else None
        if (not self._warned and eta is not None and (measured or elapsed >= 5)
                and eta > self.warn_seconds):
            self._warned = True
            how = self.hint(stage) if self.hint else None
            self.note(f"warning: {stage} will take about {_duration(eta)} more at {rate:,.1f}/s; "
                      + (f"rerun with {how} to leave it out, or " if how else "") + "Ctrl-C stops it")
        if not self.enabled or (not new and now - self._last < (0.2 if self.tty else 5.0)):
            return
        self._last = now
        text = f"{stage}: {done:,}"
        if total:
            text += f"/{total:,} ({100 * done / total:.0f}%)"
        text += f"  {rate:,.0f}/s  {elapsed:.0f} s" + (f"  ETA {_duration(eta)}" if eta else "")
        if self.tty:
            self.stream.write(f"\r{text}\033[K")
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """One line on stderr (a warning or a notice), whatever the stream."""
        self._end_line()
        self.stream.write(f"reluregions: {message}\n")
        self.stream.flush()

    def _end_line(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False

    def close(self) -> None:
        """End the progress line."""
        self._end_line()
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
