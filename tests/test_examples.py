"""The worked example the README names runs end to end, as a user runs it (a real subprocess)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

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


def _readme_block(marker: str) -> str:
    text = (EXAMPLES.parent / "README.md").read_text()
    at = text.index(marker)
    start = text.rindex("```python\n", 0, at) + len("```python\n")
    return text[start:text.index("```", at)]


def test_readme_parquet_snippet_reads_plain_and_full_files(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's pandas snippet runs on a plain region file and on one with ``--maps --hrep``,
    and the H-representation it converts to input coordinates holds each region's point."""
    from cli.helpers import cli, write_net

    net = write_net(tmp_path / "net.npz", d=3, widths=(6, 5))
    code = _readme_block('df = pd.read_parquet("regions.parquet")')
    for extra in ([], ["--maps", "--hrep"]):
        out = tmp_path / "regions.parquet"
        out.unlink(missing_ok=True)
        proc = cli("enumerate", net, "--lo=-1,-2,0.5", "--hi=3,1,0.5", "--out", out, *extra,
                   "--workers", "1", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        ns: dict = {}
        monkeypatch.chdir(tmp_path)
        exec(code, ns)  # noqa: S102 - the README's own snippet
        n = pq.read_metadata(out).num_rows
        assert ns["bits"].shape[0] == n and ns["points"].shape == (n, 3)
        assert ("A" in ns) == bool(extra) and ("G" in ns) == bool(extra)
        if extra:
            assert ns["free"].tolist() == [True, True, False]
            assert (ns["G"] @ ns["points"][0][ns["free"]] < ns["h"]).all()
