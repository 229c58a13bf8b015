"""Train the small MLPs of this folder (used by tests/enumeration/test_whole_space.py).

Plain numpy, full-batch Adam on a fixed smooth target over [-2, 2]^d, fixed seeds: running this
script again writes the same files. Weights are rounded to float32 (as trained networks ship) and
stored as float64 in the npz contract of DESIGN.md §4 (``W0, b0, W1, b1, ...``). Run from the
repository root: ``python tests/data/whole_space/train.py``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

NETS = {  # name: (inputs, hidden widths, seed)
    "trained_d2_10": (2, (10,), 1),
    "trained_d2_6x4": (2, (6, 4), 2),
    "trained_d2_4x3x3": (2, (4, 3, 3), 3),
    "trained_d3_5x4": (3, (5, 4), 4),
    "trained_d4_5x4": (4, (5, 4), 5),
}


def target(X: np.ndarray) -> np.ndarray:
    return np.sin(1.5 * X[:, 0]) * np.cos(X[:, 1:].sum(axis=1)) + 0.3 * X[:, 0]


def train(d: int, widths: tuple[int, ...], seed: int, steps: int = 3000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (512, d))
    y = target(X)[:, None]
    sizes = (d, *widths, 1)
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((o, i)) * np.sqrt(2.0 / i), 0.1 * rng.standard_normal(o)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for step in range(1, steps + 1):
        hs, zs = [X], []
        for li in range(len(sizes) - 1):
            z = hs[-1] @ params[2 * li].T + params[2 * li + 1]
            zs.append(z)
            hs.append(np.maximum(z, 0) if li < len(sizes) - 2 else z)
        grad = 2 * (hs[-1] - y) / len(X)
        grads = [None] * len(params)
        for li in reversed(range(len(sizes) - 1)):
            if li < len(sizes) - 2:
                grad = grad * (zs[li] > 0)
            grads[2 * li] = grad.T @ hs[li]
            grads[2 * li + 1] = grad.sum(axis=0)
            grad = grad @ params[2 * li]
        for p, g, mi, vi in zip(params, grads, m, v):
            mi *= 0.9
            mi += 0.1 * g
            vi *= 0.999
            vi += 0.001 * g * g
            p -= 0.01 * (mi / (1 - 0.9 ** step)) / (np.sqrt(vi / (1 - 0.999 ** step)) + 1e-8)
    return [p.astype(np.float32).astype(np.float64) for p in params]


def main() -> None:
    here = Path(__file__).resolve().parent
    for name, (d, widths, seed) in NETS.items():
        params = train(d, widths, seed)
        arrays = {}
        for i in range(len(params) // 2):
            arrays[f"W{i}"], arrays[f"b{i}"] = params[2 * i], params[2 * i + 1]
        np.savez(here / f"{name}.npz", **arrays)


if __name__ == "__main__":
    main()
