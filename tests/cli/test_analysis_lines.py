"""verify and stats from the command line: the volume check runs what it needs, and whole-space
radii are labelled in input units."""
from __future__ import annotations

from pathlib import Path

from .helpers import cli, one_line_error, write_net


def _region_file(tmp_path: Path, *options: str) -> tuple[Path, Path]:
    net = write_net(tmp_path / "net.npz")
    out = tmp_path / "r.parquet"
    proc = cli("enumerate", net, "--out", out, "--workers", "1", *options)
    assert proc.returncode == 0, proc.stderr
    return out, net


def test_verify_checks_volume_runs_the_regions_check_it_needs(tmp_path: Path) -> None:
    """--checks volume alone checks the volumes (it was skipped, "needs the regions check", and
    the file still PASSED); with --skip regions it is refused in one line."""
    out, net = _region_file(tmp_path)
    proc = cli("verify", out, net, "--checks", "volume", "--workers", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("ok    volume") for line in lines), proc.stdout
    assert any(line.startswith("ok    regions") for line in lines), proc.stdout
    assert all(line.startswith("skip") for line in lines
               if line.split()[1:2] in (["points"], ["disjoint"], ["coverage"]))
    line = one_line_error(cli("verify", out, net, "--checks", "volume", "--skip", "regions"))
    assert "regions" in line and "volume" in line


def test_stats_of_the_whole_space_gives_radii_in_input_units(tmp_path: Path) -> None:
    """The README: whole-space radii are in input units; a box's are in normalised coordinates."""
    whole, _ = _region_file(tmp_path, "--whole-space")
    proc = cli("stats", whole)
    assert proc.returncode == 0, proc.stderr
    assert "radius (input units): min" in proc.stdout and "normalised" not in proc.stdout
    box = tmp_path / "box.parquet"
    assert cli("enumerate", tmp_path / "net.npz", "--out", box, "--workers", "1").returncode == 0
    proc = cli("stats", box)
    assert "radius (normalised coordinates): min" in proc.stdout, proc.stdout
