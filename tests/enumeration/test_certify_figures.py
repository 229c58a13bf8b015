"""The certificate's figures do not move with the speed of its compiled path (issue 15).

The figures (facets matched, non-facets proven, far constraints) were recorded with the kernel as
it was before the allocation-free rewrite (commit 4269cec): the same decisions, in the same order,
must give the same figures. A region removed from the output must still fail the certificate,
naming a region and a facet whose neighbour across is the removed one.
"""
import re

import numpy as np
import pytest

from reluregions.domains import Box
from reluregions.enumeration import enumerate_regions
from reluregions.enumeration.certify import certify_regions
from reluregions.network import Network


def _random(seed, widths):
    rng = np.random.default_rng(seed)
    return Network([rng.standard_normal((o, i)) for i, o in zip(widths[:-1], widths[1:])],
                   [rng.standard_normal(o) for o in widths[1:]])


_BOX3 = ([-2, -1, -3], [2, 1, 3])
# five inputs in a box of unequal, offset sides, three hidden layers: the shape of the shared
# ACAS Xu and robot cases, small
_BOX5 = ([-0.3, -0.5, -0.5, 0.2, -0.5], [0.7, 0.5, 0.4, 0.5, 0.5])

# seed, widths, box, regions, facets matched, non-facets proven, far constraints (at 4269cec)
CASES = [
    (40, (3, 8, 6, 1), _BOX3, 128, 588, 176, 1028),
    (41, (3, 8, 6, 1), _BOX3, 266, 1355, 483, 1886),
    (42, (3, 8, 6, 1), _BOX3, 257, 1309, 448, 1841),
    (43, (5, 10, 10, 6, 1), _BOX5, 1636, 11447, 5286, 25803),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_figures_equal_those_before_the_rewrite_and_a_removed_region_fails(case):
    seed, widths, (lo, hi), regions, matched, proven, far = case
    net, box = _random(seed, widths), Box(lo, hi)
    rs = enumerate_regions(net, box)
    cert = certify_regions(net, box, rs.bits, rs.points)
    assert cert.certified, cert.failure
    assert len(rs) == regions and cert.regions_exact_path == 0
    assert (cert.facets_matched, cert.non_facets_proven, cert.far_constraints) == \
        (matched, proven, far)
    drop = (5 * seed) % len(rs)
    keep = np.arange(len(rs)) != drop
    bad = certify_regions(net, box, rs.bits[keep], rs.points[keep])
    assert not bad.certified and bad.failed_region is not None
    found = re.search(r"facet of neuron (\d+)", bad.failure)
    assert found and f"region {bad.failed_region}" in bad.failure
    # the named region, across the named facet, is the removed one
    across = rs.bits[keep][bad.failed_region].copy()
    across[int(found.group(1))] ^= True
    assert np.array_equal(across, rs.bits[drop])
