"""``verify`` reuses the exact checks of ``--certify`` (issue 15, item 3): a stored point exactly on
a neuron's hyperplane fails the points check (a float check with a tolerance band let it pass),
and ``verify --certify`` runs the completeness certificate, naming the region of a missing row."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from reluregions import Box
from reluregions.analysis import verify_file
from reluregions.cli.main import main
from reluregions.io.parquet import read_regions
from reluregions.network import Network

from .helpers import line_arrangement, rewrite_table, write_region_file


def _two_lines() -> Network:
    """x1 > 0 and x2 > 0.25: four regions of [-1, 1]^2 meeting at (0, 0.25)."""
    return Network([np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones((1, 2))],
                   [np.array([0.0, -0.25]), np.zeros(1)])


def _replace_point(row: int, point: list[float]):
    def edit(table: pa.Table) -> pa.Table:
        points = table.column("point").to_pylist()
        points[row] = point
        col = pa.array(points, type=table.schema.field("point").type)
        return table.set_column(table.schema.get_field_index("point"), "point", col)
    return edit


def test_point_on_a_hyperplane_fails_exactly(tmp_path) -> None:
    net = _two_lines()
    path, _ = write_region_file(tmp_path / "r.parquet", net, Box.symmetric(2))
    assert verify_file(path, net, samples=0, workers=1).ok
    rs = read_regions(path)
    row = int(np.flatnonzero(rs.bits[:, 0] & rs.bits[:, 1])[0])  # x1 > 0, x2 > 0.25
    # x2 = 0.25 exactly: neuron 2's pre-activation is 0, not > 0 (inside any float band)
    bad = tmp_path / "on_plane.parquet"
    rewrite_table(path, bad, _replace_point(row, [0.5, 0.25]))
    report = verify_file(bad, net, samples=0, workers=1)
    points = next(c for c in report.checks if c.name == "points")
    assert points.rows == [row] and "layer 1, neuron 1" in points.messages[0]
    # one ulp (2^-54) above the line: strictly inside, decided in exact arithmetic
    near = tmp_path / "near.parquet"
    rewrite_table(path, near, _replace_point(row, [0.5, 0.25 + 2.0 ** -54]))
    report = verify_file(near, net, samples=0, workers=1)
    points = next(c for c in report.checks if c.name == "points")
    assert points.passed and points.note and "exact" in points.note


def test_certificate_passes_and_names_a_missing_region(tmp_path, capsys) -> None:
    net = line_arrangement(5, seed=2)
    path, npz = write_region_file(tmp_path / "r.parquet", net, Box.symmetric(2))
    code = main(["verify", str(path), str(npz), "--certify", "--samples", "0", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "ok    certificate" in out and "matched by a neighbour" in out
    report = verify_file(path, net, samples=0, workers=1)  # not asked for: skipped
    assert next(c for c in report.checks if c.name == "certificate").skipped
    rs = read_regions(path)
    drop = int(np.argmax(rs.radii))
    bad = tmp_path / "drop.parquet"
    rewrite_table(path, bad, lambda t: pa.concat_tables([t.slice(0, drop), t.slice(drop + 1)]))
    code = main(["verify", str(bad), str(npz), "--certify", "--samples", "0", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL  certificate" in out and "region " in out


def _replace_pattern(row: int, bits: list[bool]):
    def edit(table: pa.Table) -> pa.Table:
        patterns = table.column("pattern").to_pylist()
        patterns[row] = np.packbits(np.array(bits, dtype=bool), bitorder="little").tobytes()
        col = pa.array(patterns, type=table.schema.field("pattern").type)
        return table.set_column(table.schema.get_field_index("pattern"), "pattern", col)
    return edit


def test_thin_region_passes_and_a_flat_pattern_fails(tmp_path) -> None:
    """The regions check decides "full-dimensional" exactly inside the band of float decisions
    (DESIGN.md §1): a strip 2^-40 wide (inradius about 5e-13, far below radius_tol) is a region
    and passes; a pattern asking for y > 0 and y < 0 at once (two identical neurons) has no
    interior and fails, whatever its stored point."""
    gap = 2.0 ** -40
    net = Network([np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]), np.ones((1, 3))],
                  [np.array([0.0, -gap, -0.3]), np.zeros(1)])
    path, _ = write_region_file(tmp_path / "thin.parquet", net, Box.symmetric(2))
    rs = read_regions(path)
    assert len(rs) == 6  # three strips (y < 0, 0 < y < gap, y > gap), each cut by x = 0.3
    report = verify_file(path, net, samples=0, workers=1)
    assert report.ok, [c.messages for c in report.checks if not c.passed]
    twins = Network([np.array([[0.0, 1.0], [0.0, 1.0]]), np.ones((1, 2))],
                    [np.array([0.0, 0.0]), np.zeros(1)])
    path, _ = write_region_file(tmp_path / "twins.parquet", twins, Box.symmetric(2))
    assert len(read_regions(path)) == 2
    bad = tmp_path / "flat.parquet"
    rewrite_table(path, bad, _replace_pattern(0, [True, False]))
    report = verify_file(bad, twins, samples=0, workers=1)
    regions = next(c for c in report.checks if c.name == "regions")
    assert regions.rows == [0] and "no interior" in regions.messages[0]
