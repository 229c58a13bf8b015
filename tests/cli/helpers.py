"""Running the command line in a real subprocess, and small networks for it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np



def env() -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout's package on the path."""
    import reluregions

    src = str(Path(reluregions.__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m reluregions ARGS`` with text output."""
    return subprocess.run([sys.executable, "-m", "reluregions", *map(str, args)], cwd=cwd,
                          env=env(), capture_output=True, text=True, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """Assert exit status 2 with one line on stderr and no traceback; return the line."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def write_net(path: Path, d: int = 2, widths: tuple[int, ...] = (8, 6), seed: int = 0) -> Path:
    """A random ReLU net saved as ``.npz`` (W of shape (out, in))."""
    rng = np.random.default_rng(seed)
    arrays, sizes = {}, (d, *widths, 1)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        arrays[f"W{i}"] = rng.normal(size=(n_out, n_in))
        arrays[f"b{i}"] = rng.normal(size=n_out)
    np.savez(path, **arrays)
    return path


def partial_files(folder: Path) -> list[Path]:
    """Hidden temporary files a writer may have left in ``folder``."""
    return [p for p in folder.iterdir() if p.name.endswith(".partial")]
