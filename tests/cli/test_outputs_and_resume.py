"""Output paths are checked before any work, and --resume needs an existing checkpoint (issue 17)."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from reluregions.enumeration.checkpoint_state import FORMAT, STATE_NAME

from .helpers import cli, env, one_line_error, partial_files, write_net

#: The last line of ``enumerate``, with or without a checkpoint.
WRITTEN = re.compile(r"^([\d,]+) regions written to .+ in [\d.]+ s \([\d.]+ LPs/region\)$")


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write to (root ignores permissions, so /sys for root)."""
    if os.geteuid() == 0:
        yield Path("/sys")
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


def test_enumerate_into_an_existing_folder_fails_at_once(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    (tmp_path / "out").mkdir()
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "out", "--workers", "1"))
    assert "is a folder" in line and "regions written" not in line
    assert partial_files(tmp_path) == []


def test_enumerate_into_a_read_only_folder_fails_at_once(tmp_path: Path, read_only_folder) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", read_only_folder / "r.parquet",
                              "--workers", "1"))
    assert "cannot write in the folder" in line


def test_study_into_a_read_only_folder_fails_before_the_sweep(read_only_folder) -> None:
    proc = cli("study", "runtime", "--quick", "--out", read_only_folder / "study")
    assert "cannot write in the folder" in one_line_error(proc)
    assert " s\n" not in proc.stderr  # no run of the sweep was reported


def test_enumerate_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "nope" / "r.parquet"))
    assert "does not exist" in line


def test_resume_from_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet",
                              "--resume", tmp_path / "ckpt-typo", "--workers", "1"))
    assert "no run to resume" in line and "--checkpoint" in line
    assert not (tmp_path / "r.parquet").exists() and not (tmp_path / "ckpt-typo").exists()


def test_resume_from_a_folder_without_checkpoint_is_an_error(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    (tmp_path / "empty").mkdir()
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet",
                              "--resume", tmp_path / "empty", "--workers", "1"))
    assert "holds no checkpoint" in line


def test_checkpoint_and_resume_together_are_refused(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet", "--checkpoint",
                              tmp_path / "a", "--resume", tmp_path / "b"))
    assert "not both" in line


def test_resume_needs_the_checkpointed_network(tmp_path: Path) -> None:
    """A finished checkpoint resumes (nothing to do); another network's run is refused."""
    net = write_net(tmp_path / "net.npz")
    other = write_net(tmp_path / "other.npz", seed=1)
    out, ck = tmp_path / "r.parquet", tmp_path / "ck"
    first = cli("enumerate", net, "--out", out, "--checkpoint", ck, "--workers", "1")
    assert first.returncode == 0, first.stderr
    again = cli("enumerate", net, "--out", out, "--resume", ck, "--workers", "1")
    assert again.returncode == 0 and first.stdout.split()[0] == again.stdout.split()[0]
    line = one_line_error(cli("enumerate", other, "--out", out, "--resume", ck, "--workers", "1"))
    assert "different network" in line


def test_resume_of_a_checkpoint_of_an_older_format_is_refused(tmp_path: Path) -> None:
    """A checkpoint written before cells had typed payloads (format 1, data/checkpoints) is
    refused with its format named, exit status 2, before any work."""
    ck = tmp_path / "ck"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "format1", ck)
    net = write_net(tmp_path / "net.npz")  # the network the checkpoint was made for
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "r.parquet", "--resume", ck,
                              "--workers", "1"))
    assert "another version of reluregions" in line and "checkpoint format 1" in line
    assert f"reads format {FORMAT}" in line and FORMAT != 1
    assert not (tmp_path / "r.parquet").exists()


def _regions(proc: subprocess.CompletedProcess) -> int:
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[0].replace(",", ""))


def test_the_resume_hint_keeps_every_option(tmp_path: Path) -> None:
    """Ctrl-C of a checkpointed run with non-default options prints a command that resumes it:
    the same arguments with --resume for --checkpoint (shell-quoted), which completes the run."""
    write_net(tmp_path / "net.npz", d=4, widths=(12, 12))  # about 5 s with these options
    options = ["--algorithm", "witness", "--box", "-1.5", "1.5", "--workers", "1"]
    ck = tmp_path / "ck dir"  # a name that needs quoting
    proc = subprocess.Popen([sys.executable, "-m", "reluregions", "enumerate", "net.npz", *options,
                             "--checkpoint", ck.name, "--out", "r.parquet"], cwd=tmp_path,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (ck / STATE_NAME).exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before Ctrl-C arrived")
    assert proc.returncode == 130, stderr
    words = shlex.split(stderr.strip().splitlines()[-1].split("resume with: ", 1)[1])
    assert words[0] == "reluregions"
    resumed = cli(*words[1:], cwd=tmp_path)  # exactly the hinted command
    assert resumed.returncode == 0, resumed.stderr
    assert WRITTEN.match(resumed.stdout.strip()), resumed.stdout
    assert "--checkpoint" not in words and words[words.index("--resume") + 1] == ck.name
    expected = _regions(cli("count", "net.npz", *options, cwd=tmp_path))
    assert _regions(resumed) == expected


def test_a_finished_checkpoint_takes_a_new_run_with_other_options(tmp_path: Path) -> None:
    """--checkpoint on the folder of a finished run starts a new run whatever its options (the
    README: "to start afresh, use --checkpoint on a new or finished folder"); --resume still
    needs the checkpoint's own network, domain and options."""
    net = write_net(tmp_path / "net.npz")
    ck = tmp_path / "ck"
    first = cli("enumerate", net, "--out", tmp_path / "a.parquet", "--checkpoint", ck,
                "--workers", "1")
    assert first.returncode == 0, first.stderr
    other = ["--algorithm", "witness", "--box", "-2", "2", "--workers", "1"]
    second = cli("enumerate", net, *other, "--out", tmp_path / "b.parquet", "--checkpoint", ck)
    assert _regions(second) == _regions(cli("count", net, *other))
    assert _regions(second) != _regions(first)  # another domain: another partition
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "c.parquet", "--resume", ck,
                              "--workers", "1"))
    assert "belongs to a run with a different domain" in line
    again = cli("enumerate", net, *other, "--out", tmp_path / "b.parquet", "--resume", ck)
    assert _regions(again) == _regions(second)


def test_checkpointed_runs_print_the_summary_of_a_plain_run(tmp_path: Path) -> None:
    """enumerate's last line gives the time and LPs per region with --checkpoint and --resume as
    without them."""
    net = write_net(tmp_path / "net.npz")
    plain = cli("enumerate", net, "--out", tmp_path / "a.parquet", "--workers", "1")
    ck = [cli("enumerate", net, "--out", tmp_path / "b.parquet", "--workers", "1", option,
              tmp_path / "ck") for option in ("--checkpoint", "--resume")]
    for proc in (plain, *ck):
        assert proc.returncode == 0, proc.stderr
        match = WRITTEN.match(proc.stdout.strip())
        assert match, proc.stdout
        assert match.group(1) == plain.stdout.split()[0]


def test_certify_under_a_checkpoint_is_refused(tmp_path: Path) -> None:
    """A checkpointed run does not certify: --certify with --checkpoint is refused before any work
    (it was ignored), pointing to verify --certify."""
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "a.parquet", "--certify",
                              "--checkpoint", tmp_path / "ck", "--workers", "1"))
    assert "verify" in line and "--certify" in line
    assert not (tmp_path / "ck").exists() and not (tmp_path / "a.parquet").exists()


def test_the_resume_command_replaces_only_the_checkpoint_option() -> None:
    """--checkpoint DIR, --checkpoint=DIR and an abbreviation argparse accepts (--chec) become
    --resume; every other word is kept, shell-quoted."""
    from reluregions.cli.notices import resume_command

    argv = ["enumerate", "my net.npz", "--box", "-1", "1", "--checkpoint", "ck", "--out", "r.parquet"]
    assert resume_command(argv) == ("reluregions enumerate 'my net.npz' --box -1 1 --resume ck "
                                    "--out r.parquet")
    assert resume_command(["enumerate", "n", "--checkpoint=a b", "--out", "o.parquet"]) == \
        "reluregions enumerate n '--resume=a b' --out o.parquet"
    assert resume_command(["enumerate", "n", "--chec", "ck", "--out", "o.parquet"]) == \
        "reluregions enumerate n --resume ck --out o.parquet"
