"""The result objects of ``verify``: one :class:`CheckResult` per check, a :class:`VerifyReport`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CheckResult", "VerifyReport"]


@dataclass
class CheckResult:
    """Outcome of one check: how many items were checked, which failed and why."""

    name: str
    checked: int = 0
    failures: int = 0
    rows: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    skipped: str | None = None
    note: str | None = None
    max_listed: int = 20

    @property
    def passed(self) -> bool:
        """True when nothing failed (a skipped check passes)."""
        return self.failures == 0

    def fail(self, rows: Any, message: str) -> None:
        """Record one failure (naming the file rows involved)."""
        self.failures += 1
        if len(self.messages) < self.max_listed:
            self.rows.extend(int(r) for r in np.atleast_1d(rows))
            self.messages.append(message)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary."""
        return {"name": self.name, "passed": self.passed, "checked": self.checked,
                "failures": self.failures, "rows": self.rows, "messages": self.messages,
                "skipped": self.skipped, "note": self.note}


@dataclass
class VerifyReport:
    """All checks of one file; ``ok`` when every check passed."""

    path: str
    regions: int
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary."""
        return {"file": self.path, "regions": self.regions, "ok": self.ok,
                "checks": [c.to_dict() for c in self.checks]}

    def lines(self) -> list[str]:
        """A human-readable summary, one check per line plus the listed failures."""
        out = []
        for c in self.checks:
            if c.skipped:
                out.append(f"skip  {c.name:9s} {c.skipped}")
                continue
            status = "ok  " if c.passed else "FAIL"
            out.append(f"{status}  {c.name:9s} {c.checked:,} checked, {c.failures:,} failed"
                       + (f" ({c.note})" if c.note else ""))
            out += [f"        {m}" for m in c.messages]
            if c.failures > len(c.messages):
                out.append(f"        ... and {c.failures - len(c.messages):,} more")
        verdict = "PASSED" if self.ok else "FAILED"
        out.append(f"{verdict}: {self.regions:,} regions in {self.path}")
        return out
