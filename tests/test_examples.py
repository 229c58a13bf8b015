"""The worked example the README names runs end to end, as a user runs it (a real subprocess)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from cli.helpers import env

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_digits_example_writes_its_region_file_and_every_picture(tmp_path: Path) -> None:
    out = tmp_path / "digits_out"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "digits_example.py"), "--out", str(out),
                           "--hidden", "8,8"], env=env(), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    regions = pq.read_metadata(out / "digits_regions.parquet").num_rows
    assert regions > 0 and f"PASSED: {regions} regions" in proc.stdout
    for name in ("partition", "maps", "rank_study", "histograms", "slice"):
        png = out / f"digits_{name}.png"
        assert png.stat().st_size > 10_000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
