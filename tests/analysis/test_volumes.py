"""Region volumes of thin 5-D regions in tiny, stretched boxes: they add up to the box, each is
positive, and they scale with the box's Jacobian.

The regression: on a public ACAS Xu net (5 inputs, tiny box) a dozen thin regions with nearly
coplanar neighbouring facets got volume 0, because Qhull could not build the convex hull of their
vertices and the failure was read as "flat"; ``verify`` then failed its volume check and
``stats --volumes`` reported a zero minimum. Whether Qhull fails depends on the last bits of the
vertices, so it struck about one such region in a few thousand; the nets below have such
regions, and the cases in :data:`CASES` each lost one under the old code (in ``stats``,
``details`` or ``verify``). The volumes are now computed from each region's constraints
(:func:`reluregions.geometry.polytope.volume_t`), with nothing left to chance.
"""
from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from reluregions import Box, Network
from reluregions.analysis import compute_stats, domain_volume, region_details, verify_file
from reluregions.io.parquet import read_regions

from .helpers import write_region_file

WIDTHS = np.array([1e-3, 4e-3, 1.5e-2, 5e-2, 1e-1])  # the box's sides (input units)
CENTRE = np.array([0.3, -1.2, 0.05, 2.0, -0.7])
REL = 1e-9  # volumes add up to the box's to this (a correct sum misses by about 1e-15)


def twin_net(seed: int, scale: float = 1.0) -> tuple[Network, Box]:
    """Four pairs of nearly parallel hyperplanes and the box they cut, both scaled by ``scale``.

    In the box's normalised coordinates ``t = (x - centre) / half`` the pairs' normals are
    about 0.1 rad apart and their offsets 0.05: the two hundred or so regions include thin
    wedges whose neighbouring facets are nearly coplanar. The first layer is written in input
    coordinates, so the regions of every ``scale`` are the same up to that scale.
    """
    rng = np.random.default_rng(seed)
    normals = rng.standard_normal((4, 5))
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    twins = normals + 0.1 * rng.standard_normal((4, 5))
    twins /= np.linalg.norm(twins, axis=1)[:, None]
    offsets = rng.uniform(-0.5, 0.5, 4)
    Wt, bt = np.vstack([normals, twins]), np.concatenate([offsets, offsets + 0.05])
    half, centre = scale * WIDTHS / 2, scale * CENTRE
    W0 = Wt / half[None, :]
    net = Network([W0, rng.standard_normal((1, 8))], [bt - W0 @ centre, np.zeros(1)])
    return net, Box(centre - half, centre + half)


def _volumes(tmp_path, seed: int, scale: float) -> tuple[dict[bytes, float], float]:
    """Per pattern, each region's volume (``region_details``); and the box's volume."""
    net, box = twin_net(seed, scale)
    path, _ = write_region_file(tmp_path / f"twin{scale:g}.parquet", net, box)
    out = tmp_path / f"vol{scale:g}.parquet"
    region_details(path, net, "volume", out, workers=1)
    table = pq.read_table(out)
    bits = read_regions(path).bits
    vols = dict(zip((bits[r].tobytes() for r in table.column("row").to_numpy()),
                    table.column("volume").to_numpy()))
    return vols, float(np.prod(box.hi - box.lo))


# (seed, scale): each lost a region's volume to Qhull under the old code
CASES = [(7, 1.0), (2, 1e-4), (5, 1e4)]


@pytest.mark.parametrize("seed, scale", CASES)
def test_thin_regions_fill_a_tiny_stretched_box(tmp_path, seed: int, scale: float) -> None:
    net, box = twin_net(seed, scale)
    path, _ = write_region_file(tmp_path / "twin.parquet", net, box)
    whole = float(np.prod(box.hi - box.lo))
    assert domain_volume(box) == pytest.approx(whole, rel=1e-14)
    st = compute_stats(path, net, volumes=True, workers=1)
    n = st.summary["regions"]
    assert st.summary["volume_min"] > 0  # every region is full-dimensional
    assert st.summary["volume_total"] == pytest.approx(whole, rel=REL)
    report = verify_file(path, net, samples=0, workers=1, checks=("regions", "volume"))
    (vol,) = [c for c in report.checks if c.name == "volume"]
    assert vol.passed and not vol.skipped and vol.checked == n, report.lines()


def test_volumes_scale_with_the_jacobian(tmp_path) -> None:
    base, whole = _volumes(tmp_path, 7, 1.0)
    assert min(base.values()) > 0
    assert math.fsum(base.values()) == pytest.approx(whole, rel=REL)
    for scale in (1e-4, 1e4):
        vols, box = _volumes(tmp_path, 7, scale)
        assert box == pytest.approx(whole * scale ** 5, rel=1e-12)
        assert vols.keys() == base.keys()  # the same regions
        assert min(vols.values()) > 0
        assert math.fsum(vols.values()) == pytest.approx(box, rel=REL)
        got = np.array([vols[p] / scale ** 5 for p in base])
        np.testing.assert_allclose(got, np.array(list(base.values())), rtol=1e-8, atol=0)
