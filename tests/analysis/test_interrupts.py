"""Long analysis commands stop on Ctrl-C and SIGTERM, end their workers, leave no partial file;
they show progress when asked, and warn before work that explodes with the dimension.

Real subprocesses of the command line on region files whose work cannot end within the test on any
machine (minutes of Qhull work on two worker processes), so each interrupt certainly comes while
the workers are busy; the interrupt is sent about a second after they start.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from reluregions import Box

from .helpers import random_net, write_region_file

CLI = [sys.executable, "-c", "from reluregions.cli.main import main; raise SystemExit(main())"]


@pytest.fixture(scope="module")
def volume_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random 7-16-1 net on [-1, 1]^7: about 8,400 regions, written in about a second, whose
    volumes (a 7-dimensional Qhull hull each, tens of milliseconds) take minutes of CPU time."""
    return write_region_file(tmp_path_factory.mktemp("vol7") / "vol7.parquet",
                             random_net(7, (16,), seed=5), algorithm="vertex")


@pytest.fixture(scope="module")
def verify_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random 6-24-1 net on [-1, 1]^6: about 12,400 regions, written in about a second, whose
    verification (an LP and a 6-dimensional volume per region, then one LP per neighbour pair)
    takes minutes of CPU time. Verify computes volumes up to dimension 6 only; its first stage
    (points, in the parent) takes about a second more before the workers start."""
    return write_region_file(tmp_path_factory.mktemp("ver6") / "ver6.parquet",
                             random_net(6, (24,), seed=5), algorithm="vertex")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _interrupt(cmd: list[str], sig: int, group: bool, cwd: Path) -> tuple[int, str]:
    """Start ``cmd``, wait until its workers run, send ``sig`` (to its whole process group when
    ``group``, as a terminal's Ctrl-C does); return its exit status and stderr once it has stopped,
    after checking that none of its child processes is left."""
    proc = subprocess.Popen(CLI + cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    parent = psutil.Process(proc.pid)
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        children = [c for c in parent.children(recursive=True)]
        if len(children) >= 2:  # the two workers (and maybe multiprocessing's tracker) started
            break
        time.sleep(0.1)
    time.sleep(1.0)  # let them take work
    children = parent.children(recursive=True)
    assert proc.poll() is None, "the command finished before it could be interrupted"
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"still running 15 s after signal {sig}") from None
    _, alive = psutil.wait_procs(children, timeout=5)
    for p in alive:
        p.kill()
    assert not alive, f"{len(alive)} worker processes survived: {[p.cmdline() for p in alive]}"
    return proc.returncode, err


@pytest.mark.parametrize("sig, group", [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_details_stops_ends_workers_and_leaves_no_partial_file(volume_job, tmp_path: Path, sig: int,
                                                               group: bool) -> None:
    path, net = volume_job
    out = tmp_path / "volumes.parquet"
    rc, err = _interrupt(["details", str(path), str(net), "--what", "volume", "--workers", "2",
                          "--out", str(out)], sig, group, tmp_path)
    assert rc == 130
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], "a partial or final output file was left behind"


@pytest.mark.parametrize("sig, group", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_verify_stops_and_ends_workers(verify_job, tmp_path: Path, sig: int, group: bool) -> None:
    path, net = verify_job
    rc, err = _interrupt(["verify", str(path), str(net), "--workers", "2"], sig, group, tmp_path)
    assert rc == 130
    assert "interrupted" in err and "Traceback" not in err


def test_progress_is_shown_with_the_flag(random2_file, tmp_path: Path) -> None:
    path, net = random2_file
    run = subprocess.run(CLI + ["verify", str(path), str(net), "--workers", "1", "--progress"],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    from reluregions.analysis.verify import STAGES

    for name in ("points", "distinct", "regions", "disjoint", "coverage"):  # every phase, named
        assert f"{STAGES[name]}:" in run.stderr, (name, run.stderr)
    quiet = subprocess.run(CLI + ["verify", str(path), str(net), "--workers", "1"], env=_env(),
                           capture_output=True, text=True, timeout=120)
    assert quiet.stderr == ""  # not a terminal, no flag: nothing on stderr


def test_stage_progress_counts_rates_eta_and_warns() -> None:
    import io

    from reluregions.cli.analysis_commands import StageProgress

    stream = io.StringIO()
    progress = StageProgress(force=True, stream=stream, warn_seconds=1.0)
    progress._start = time.monotonic() - 10  # pretend the stage started 10 s ago
    progress.stage = "vertices of each region"
    progress("vertices of each region", 10, 1000)
    progress.close()
    text = stream.getvalue()
    assert "warning: vertices of each region will take about" in text
    assert "10/1,000 (1%)" in text and "ETA" in text
    silent = io.StringIO()
    StageProgress(stream=silent)("points", 5, 10)  # not a terminal, not forced
    assert silent.getvalue() == ""


def test_details_warns_before_vertices_in_high_dimension(tmp_path: Path) -> None:
    net = random_net(9, (3,), seed=1)
    path, npz = write_region_file(tmp_path / "nine.parquet", net, Box.symmetric(9))
    run = subprocess.run(CLI + ["details", str(path), str(npz), "--what", "vertices", "--workers",
                                "1", "--out", str(tmp_path / "v.parquet")],
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "warning: vertices in dimension 9" in run.stderr
    assert np.isfinite(len(run.stdout))


def test_a_cold_numba_cache_is_detected(tmp_path: Path) -> None:
    # the check behind the one-line notice of count/enumerate: an empty cache folder is cold
    code = "from reluregions.enumeration.vertex import kernels_cached; print(kernels_cached())"
    run = subprocess.run([sys.executable, "-c", code], env={**_env(), "NUMBA_CACHE_DIR": str(tmp_path)},
                         capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "False", run.stderr
