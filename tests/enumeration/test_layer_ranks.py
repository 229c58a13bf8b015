"""Ranks of the layer maps (layers._map_rank): the factored shortcut gives matrix_rank's answer.

When the live neurons of layer ``l - 1`` are as many as its map's rank, the rank of layer ``l``'s
map is computed from ``D_l W_l`` on those neurons alone; every region's ranks must still equal
:func:`numpy.linalg.matrix_rank` of its full pulled-back maps, on nets built so that the shortcut
runs (a first layer narrower than the input) and on degenerate ones (a duplicated neuron, a dead
input column, a leaky slope).
"""
from __future__ import annotations

import numpy as np
import pytest

import reluregions as rr
from reluregions.enumeration import make_problem


def _full_ranks(net: rr.Network, U: np.ndarray, bits: np.ndarray) -> list[int]:
    A, out, start = U, [], 0
    for layer, width in enumerate(net.hidden_widths):
        d = np.where(bits[start:start + width], 1.0, net.negative_slope)
        A = d[:, None] * (net.weights[layer] @ A)
        out.append(int(np.linalg.matrix_rank(A)))
        start += width
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("algorithm", ["witness", "highd", "lpdfs", "paper"])
def test_every_region_has_the_full_maps_ranks(seed: int, algorithm: str) -> None:
    rng = np.random.default_rng(seed)
    d = 6
    sizes = [d, 3, 7, 5] if seed % 3 != 2 else [d, 4, 4]
    W = [rng.normal(size=(o, i)) for i, o in zip(sizes, sizes[1:])]
    if seed % 2:
        W[1][1] = W[1][0]  # a duplicated neuron
        W[0][:, 2] = 0.0   # an input no neuron sees
    slope = 0.05 if seed == 4 else 0.0
    net = rr.Network(W + [rng.normal(size=(1, sizes[-1]))],
                     [rng.normal(size=o) * 0.5 for o in sizes[1:]] + [np.zeros(1)],
                     negative_slope=slope)
    box = rr.Box.symmetric(d)
    cfg = rr.EnumerationConfig(algorithm=algorithm, ranks=True)
    U = make_problem(net, box, cfg).param.U
    regions = rr.enumerate_regions(net, box, cfg)
    assert len(regions) > 5
    for bits, ranks in zip(regions.bits, regions.ranks):
        assert list(ranks) == _full_ranks(net, U, bits)
