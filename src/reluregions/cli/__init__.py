"""The command-line interface (``reluregions`` / ``python -m reluregions``)."""
from __future__ import annotations

from .main import main

__all__ = ["main"]
