"""Writing a region file stays out of pandas: ``pa.array`` imports it on its first call, about a
second of every ``enumerate`` (issue 17, item 1: enumerate at the speed of count)."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
import numpy as np
import pyarrow.parquet as pq
from reluregions.cli.main import main
rng = np.random.default_rng(0)
np.savez(sys.argv[1] + "/net.npz", W0=rng.normal(size=(6, 2)), b0=rng.normal(size=6),
         W1=rng.normal(size=(1, 6)), b1=rng.normal(size=1))
code = main(["enumerate", sys.argv[1] + "/net.npz", "--out", sys.argv[1] + "/r.parquet",
             "--workers", "1", "--hrep"])
pandas = "pandas" in sys.modules  # before reading back: pyarrow's reader may import it
print(code, pq.ParquetFile(sys.argv[1] + "/r.parquet").metadata.num_rows, pandas)
"""


def test_enumerate_writes_without_importing_pandas(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code, rows, pandas = proc.stdout.split()[-3:]
    assert code == "0" and int(rows) > 1 and pandas == "False"
