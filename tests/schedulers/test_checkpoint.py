"""Checkpoint and resume: after kill -9, Ctrl-C or a dead worker, nothing lost and nothing twice."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from reluregions import Box, EnumerationConfig
from reluregions.enumeration import make_problem
from reluregions.errors import InputError
from reluregions.io.parquet import read_metadata, read_regions
from reluregions.schedulers import SerialScheduler, make_scheduler
from reluregions.enumeration import checkpointed
from reluregions.enumeration.checkpoint import (STATE_NAME, Checkpoint, CheckpointError,
                                                CheckpointMismatchError, run_identity)
from reluregions.enumeration.checkpointed import run_checkpointed, run_with_checkpoint
from reluregions.testing import assert_regionsets_equal

from .conftest import WORKERS
from .helpers import algorithm_for, random_net, regionset, run_tree, script_env

MEDIUM = (3, (10, 10, 10), 0)  # about 0.5 s serially with the witness algorithm
LARGE = (4, (12, 12), 0)  # about 1.5 s

SCRIPT = r"""
import sys
print("start", flush=True)
from reluregions import Box, EnumerationConfig
from reluregions.enumeration import make_problem
from reluregions.schedulers import make_scheduler
from reluregions.enumeration.checkpointed import run_with_checkpoint
from schedulers.helpers import random_net
backend, ck, out, resume = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
d, widths, seed = eval(sys.argv[5])
box = Box.symmetric(d)
problem = make_problem(random_net(d, widths, seed), box, EnumerationConfig(algorithm="witness"))
scheduler = make_scheduler(backend, workers=2, task_seconds=0.05)
try:
    run = run_with_checkpoint(problem, scheduler, ck, out, resume=resume, every=0.05, domain=box)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("done", run.regions, flush=True)
"""


def _medium(spec=MEDIUM):
    d, widths, seed = spec
    return random_net(d, widths, seed), Box.symmetric(d)


_EXPECTED: dict = {}


def expected_medium(spec=MEDIUM):
    """The serial region set of a test net (computed once)."""
    if spec not in _EXPECTED:
        net, box = _medium(spec)
        _EXPECTED[spec] = regionset(run_tree(SerialScheduler(), algorithm_for(net, box, "witness")), net)
    return _EXPECTED[spec]


def _launch(backend: str, ck: Path, out: Path, resume: bool, spec=MEDIUM) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, backend, str(ck), str(out),
                             "1" if resume else "0", repr(spec)], env=script_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _wait_for_progress(ck: Path, regions: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _saved_regions(ck) <= regions and time.monotonic() < deadline:
        time.sleep(0.02)


def _saved_regions(ck: Path) -> int:
    """Regions recorded by the last snapshot in ``ck`` (0 without one)."""
    if not (ck / STATE_NAME).exists():
        return 0
    try:
        with open(ck / STATE_NAME, "rb") as fh:
            return pickle.load(fh).regions
    except (OSError, EOFError, pickle.UnpicklingError):  # replaced while we read it
        return 0


def _family(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("backend, spec", [("serial", LARGE), ("threads", LARGE),
                                           ("processes", LARGE)])
def test_kill9_at_random_moments_then_resume(backend: str, spec, tmp_path: Path) -> None:
    ck, out = tmp_path / "ck", tmp_path / "regions.parquet"
    rng = np.random.default_rng({"serial": 7, "threads": 5}.get(backend, 11))
    kills, progress = 0, [0]
    for attempt in range(4):
        proc = _launch(backend, ck, out, resume=attempt > 0, spec=spec)
        if attempt == 0:  # anywhere, most likely before the first snapshot
            time.sleep(float(rng.uniform(0.2, 1.0)))
        elif attempt == 1:  # anywhere after the checkpoint exists
            _wait_for(ck / STATE_NAME)
            time.sleep(float(rng.uniform(0.05, 0.4)))
        else:  # soon after this session's first new snapshot: certainly mid-run
            _wait_for_progress(ck, progress[-1])
            time.sleep(float(rng.uniform(0.0, 0.2)))
        children = _family(proc.pid)
        if proc.poll() is not None:  # it finished: nothing left to kill
            proc.communicate(timeout=30)
            break
        proc.kill()
        kills += 1
        proc.communicate(timeout=30)
        # orphaned workers notice that the parent is gone and exit by themselves
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"workers outlived their killed parent: {alive}"
        progress.append(_saved_regions(ck))
    total = len(expected_medium(spec))
    assert kills >= 2, "the run finished before it could be killed; use a larger net"
    assert any(0 < p < total for p in progress), progress  # at least one kill mid-run
    proc = _launch(backend, ck, out, resume=True, spec=spec)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    got = read_regions(out)
    assert_regionsets_equal(got, expected_medium(spec))
    assert stdout.split() == ["start", "done", str(len(got))], (stdout, stderr, progress, kills)
    assert sorted(p.name for p in ck.iterdir()) == [STATE_NAME]  # shards merged and removed
    assert read_metadata(out)["n_hidden"] == sum(spec[1])


def test_ctrl_c_saves_and_resumes(tmp_path: Path) -> None:
    """SIGINT: a final snapshot, KeyboardInterrupt, and a resume that completes the set."""
    ck, out = tmp_path / "ck", tmp_path / "regions.parquet"
    proc = _launch("processes", ck, out, resume=False)
    _wait_for(ck / STATE_NAME)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    if proc.returncode == 0:
        pytest.skip("the run finished before Ctrl-C arrived")
    assert proc.returncode == 130 and stdout.split() == ["start", "interrupted"], stderr
    assert not out.exists()
    proc = _launch("processes", ck, out, resume=True)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert_regionsets_equal(read_regions(out), expected_medium())


class _WatchedCheckpoint(Checkpoint):
    """A checkpoint that lists itself while open, so that a test can stop its run."""

    running: list[Checkpoint] = []

    def open(self, resume: bool = False) -> None:
        super().open(resume)
        self.running.append(self)

    def close(self) -> None:
        if self in self.running:
            self.running.remove(self)
        super().close()


@pytest.fixture(autouse=True)
def _watched_checkpoints(monkeypatch):
    monkeypatch.setattr(checkpointed, "Checkpoint", _WatchedCheckpoint)


def _interrupt_after(seconds: float) -> threading.Thread:
    """Ask the open checkpoint's run to stop, as Ctrl-C does, after ``seconds``."""
    def stop() -> None:
        time.sleep(seconds)
        for ckpt in list(_WatchedCheckpoint.running):
            ckpt.request_stop()
    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    return thread


def _run_with_interrupts(scheduler, problem, ck: Path, out: Path | None, delays) -> int:
    interrupts = 0
    resume = False
    for delay in [*delays, None]:
        thread = _interrupt_after(delay) if delay is not None else None
        try:
            run = run_with_checkpoint(problem, scheduler, ck, out, resume=resume, every=0.05)
            if thread is not None:
                thread.join()
            return run.regions
        except KeyboardInterrupt:
            interrupts += 1
            resume = True
            thread.join()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("backend", ["serial", "threads", "processes", "ray"])
def test_interrupt_and_resume_every_backend(backend: str, tmp_path: Path, request) -> None:
    if backend == "ray":
        request.getfixturevalue("local_ray")
    net, box = _medium()
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    scheduler = make_scheduler(backend, workers=WORKERS, task_seconds=0.05)
    out = tmp_path / "regions.parquet"
    n = _run_with_interrupts(scheduler, problem, tmp_path / "ck", out, [0.3, 0.3, 0.3])
    got = read_regions(out)
    assert n == len(got)
    assert_regionsets_equal(got, expected_medium())


def test_count_only_checkpoint(tmp_path: Path) -> None:
    net, box = _medium()
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness", ranks=False))
    scheduler = make_scheduler("processes", workers=WORKERS, task_seconds=0.05)
    n = _run_with_interrupts(scheduler, problem, tmp_path / "ck", None, [0.3, 0.3])
    assert n == len(expected_medium())
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [STATE_NAME]


def test_killed_worker_with_checkpoint_completes_exactly(tmp_path: Path) -> None:
    net, box = _medium()
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    scheduler = make_scheduler("processes", workers=WORKERS, task_seconds=0.1, progress_every=0.05)
    killed: list[int] = []

    def kill_once(progress) -> None:
        if not killed and scheduler.worker_pids and progress.busy_workers:
            killed.append(scheduler.worker_pids[0])
            os.kill(killed[0], signal.SIGKILL)

    out = tmp_path / "regions.parquet"
    run = run_with_checkpoint(problem, scheduler, tmp_path / "ck", out, progress=kill_once)
    assert killed and scheduler.deaths and "SIGKILL" in scheduler.deaths[0].reason
    assert_regionsets_equal(read_regions(out), expected_medium())
    assert run.regions == len(expected_medium())


def _finished_checkpoint(tmp_path: Path, seed: int = 1):
    net, box = random_net(2, (8, 8), seed), Box.symmetric(2)
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    run = run_with_checkpoint(problem, SerialScheduler(), tmp_path / "ck", tmp_path / "a.parquet",
                              domain=box)
    return net, box, run


def test_resume_with_another_network_is_refused(tmp_path: Path) -> None:
    _finished_checkpoint(tmp_path)
    other, box = random_net(2, (8, 8), 2), Box.symmetric(2)
    with pytest.raises(CheckpointMismatchError, match="different network") as info:
        run_checkpointed(other, box, EnumerationConfig(algorithm="witness"), SerialScheduler(),
                         tmp_path / "b.parquet", checkpoint_dir=tmp_path / "ck", resume=True)
    assert isinstance(info.value, InputError) and "\n" not in str(info.value)
    net = random_net(2, (8, 8), 1)
    with pytest.raises(CheckpointMismatchError, match="different domain"):
        run_checkpointed(net, Box.symmetric(2, 2.0), EnumerationConfig(algorithm="witness"),
                         SerialScheduler(), tmp_path / "b.parquet", checkpoint_dir=tmp_path / "ck",
                         resume=True)
    with pytest.raises(CheckpointMismatchError, match="algorithm"):
        run_checkpointed(net, Box.symmetric(2), EnumerationConfig(algorithm="paper"),
                         SerialScheduler(), tmp_path / "b.parquet", checkpoint_dir=tmp_path / "ck",
                         resume=True)


def test_resume_of_a_finished_run_does_nothing(tmp_path: Path) -> None:
    net, box, first = _finished_checkpoint(tmp_path)
    before = (tmp_path / "a.parquet").stat().st_mtime_ns
    again = run_checkpointed(net, box, EnumerationConfig(algorithm="witness"), SerialScheduler(),
                             tmp_path / "a.parquet", checkpoint_dir=tmp_path / "ck", resume=True)
    assert again.regions == first.regions == len(read_regions(tmp_path / "a.parquet"))
    assert (tmp_path / "a.parquet").stat().st_mtime_ns == before


def test_unfinished_checkpoint_needs_resume(tmp_path: Path) -> None:
    net, box = _medium()
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    scheduler = SerialScheduler()
    _interrupt_after(0.2)
    with pytest.raises(KeyboardInterrupt):
        run_with_checkpoint(problem, scheduler, tmp_path / "ck", tmp_path / "a.parquet", every=0.05)
    with pytest.raises(CheckpointError, match="unfinished run"):
        run_with_checkpoint(problem, scheduler, tmp_path / "ck", tmp_path / "a.parquet")
    assert not (tmp_path / "a.parquet").exists()


def test_damaged_checkpoint_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / STATE_NAME).write_bytes(b"not a pickle")
    net, box = random_net(2, (8, 8), 1), Box.symmetric(2)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        run_checkpointed(net, box, None, SerialScheduler(), tmp_path / "a.parquet",
                         checkpoint_dir=tmp_path / "ck", resume=True)


def test_a_folder_serves_one_run_at_a_time(tmp_path: Path) -> None:
    net, box = random_net(2, (8, 8), 1), Box.symmetric(2)
    problem = make_problem(net, box, EnumerationConfig(algorithm="witness"))
    first = Checkpoint(tmp_path / "ck", run_identity(problem, store_regions=False))
    first.open()
    try:
        with pytest.raises(CheckpointError, match="another run"):
            run_with_checkpoint(problem, SerialScheduler(), tmp_path / "ck", resume=True)
    finally:
        first.close()
    assert run_with_checkpoint(problem, SerialScheduler(), tmp_path / "ck", resume=True).regions > 0
