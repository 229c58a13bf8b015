"""``volume_t``: volumes of polytopes ``G t <= h`` with known answers, simple or degenerate,
fat or thin, whatever the interior point and the order of the rows."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from reluregions.geometry.polytope import volume_t


def _cube(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([np.eye(k), -np.eye(k)]), np.ones(2 * k)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_known_volumes(k: int) -> None:
    G, h = _cube(k)
    assert volume_t(G, h, np.zeros(k)) == pytest.approx(2.0 ** k, rel=1e-14)
    # the simplex t_i >= -1, sum(t) <= 1: side k + 1
    G2, h2 = np.vstack([-np.eye(k), np.ones((1, k))]), np.concatenate([np.ones(k), [1.0]])
    assert volume_t(G2, h2, np.full(k, -0.5)) == pytest.approx((k + 1.0) ** k / math.factorial(k),
                                                              rel=1e-13)
    # the cross-polytope |t|_1 <= 1: 2^(k-1) rows through each vertex (not simple)
    S = np.array(list(itertools.product([-1.0, 1.0], repeat=k)))
    assert volume_t(S, np.ones(len(S)), np.zeros(k)) == pytest.approx(2.0 ** k / math.factorial(k),
                                                                      rel=1e-13)


def test_redundant_rows_and_rows_through_vertices() -> None:
    """Rows that only touch the cube at its corners, or miss it, change nothing."""
    k = 5
    G, h = _cube(k)
    S = np.array(list(itertools.product([-1.0, 1.0], repeat=k)))
    G2 = np.vstack([G, S, S, 2 * G])
    h2 = np.concatenate([h, np.full(len(S), float(k)), np.full(len(S), k + 1.0), 2 * h + 1])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(h2))
    for center in (np.zeros(k), np.full(k, 0.9), rng.uniform(-0.99, 0.99, k)):
        assert volume_t(G2[order], h2[order], center) == pytest.approx(32.0, rel=1e-14)


@pytest.mark.parametrize("width", [1e-3, 1e-6, 1e-9])
def test_thin_slabs_keep_their_relative_accuracy(width: float) -> None:
    """A turned cube ``|Q^T t| <= 1`` cut by the slab ``|Q_0 . t| <= width``: volume
    ``2 width 2^(k-1)``, to the same relative accuracy however thin."""
    k = 5
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((k, k)))[0]
    G = np.vstack([Q.T, -Q.T, Q[:, 0], -Q[:, 0]])
    h = np.concatenate([np.ones(2 * k), [width, width]])
    assert volume_t(G, h, np.zeros(k)) == pytest.approx(2 * width * 2.0 ** (k - 1), rel=1e-12)


def test_volume_is_affine_invariant() -> None:
    """A random polytope and its image under ``t -> s * M t``: volumes differ by ``|det(sM)|``."""
    k = 5
    rng = np.random.default_rng(2)
    A = rng.standard_normal((30, k))
    A /= np.linalg.norm(A, axis=1)[:, None]
    G = np.vstack([_cube(k)[0], A])
    h = np.concatenate([np.ones(2 * k), np.full(30, 0.6)])
    base = volume_t(G, h, np.zeros(k))
    stretch = np.diag([1e-3, 4e-3, 1.5e-2, 5e-2, 1e-1])  # a tiny, stretched box's Jacobian
    for s in (1e-4, 1.0, 1e4):
        M = s * stretch @ np.linalg.qr(rng.standard_normal((k, k)))[0]
        Gm = G @ np.linalg.inv(M)  # the image {M t : G t <= h}
        scale = np.linalg.norm(Gm, axis=1)
        got = volume_t(Gm / scale[:, None], h / scale, np.zeros(k))
        assert got == pytest.approx(base * abs(np.linalg.det(M)), rel=1e-11)
