"""The network model: an immutable chain of dense affine layers with (Leaky)ReLU between them.

Implements the network of Drammis et al. 2024, §2: ``z_l = W_l h_{l-1} + b_l``, ``h_l = relu(z_l)``
for every layer but the last, which is affine. Convolutions, batch norm and pooling are lowered to
dense layers by the loaders, so the enumeration core only ever sees this object.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import ConversionMismatchError, InvalidWeightsError, ShapeMismatchError

__all__ = ["Network", "check_conversion"]


@dataclass(frozen=True, eq=False)
class Network:
    """A feed-forward ReLU (or LeakyReLU) network with dense float64 layers.

    Parameters
    ----------
    weights : sequence of ndarray
        ``W_l`` of shape ``(out, in)``, one per layer, the last one being the affine output layer.
    biases : sequence of ndarray
        ``b_l`` of shape ``(out,)``.
    negative_slope : float, default 0.0
        Slope of the activation for negative inputs (0 is ReLU, otherwise LeakyReLU). The
        geometry of the regions does not depend on it; only the affine map inside a region does.

    Notes
    -----
    The constructor validates shapes and finiteness once; the arrays are copied, made read-only and
    stored as float64, so the object can be shared between threads and processes safely.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    negative_slope: float = 0.0
    _hash: str = field(default="", init=False, repr=False)

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                 negative_slope: float = 0.0) -> None:
        if len(weights) == 0:
            raise ShapeMismatchError("the network has no layers; give at least one weight matrix")
        if len(weights) != len(biases):
            raise ShapeMismatchError(
                f"{len(weights)} weight matrices but {len(biases)} bias vectors; give one bias per layer")
        ws, bs = [], []
        for i, (w, b) in enumerate(zip(weights, biases)):
            w = np.array(w, dtype=np.float64)
            b = np.array(b, dtype=np.float64).reshape(-1)
            if w.ndim != 2:
                raise ShapeMismatchError(f"layer {i}: weight has shape {w.shape}; expected (out, in)")
            if b.shape[0] != w.shape[0]:
                raise ShapeMismatchError(
                    f"layer {i}: weight has {w.shape[0]} rows but bias has {b.shape[0]} entries")
            if ws and w.shape[1] != ws[-1].shape[0]:
                raise ShapeMismatchError(
                    f"layer {i}: weight takes {w.shape[1]} inputs but layer {i - 1} has "
                    f"{ws[-1].shape[0]} outputs")
            if not (np.isfinite(w).all() and np.isfinite(b).all()):
                raise InvalidWeightsError(
                    f"layer {i} has NaN or infinite weights or biases; fix or retrain the model")
            w.setflags(write=False)
            b.setflags(write=False)
            ws.append(w)
            bs.append(b)
        slope = float(negative_slope)
        if not np.isfinite(slope):
            raise InvalidWeightsError("negative_slope is not finite")
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))
        object.__setattr__(self, "negative_slope", slope)
        digest = hashlib.sha256()
        digest.update(repr(slope).encode())
        for w, b in zip(ws, bs):
            digest.update(repr(w.shape).encode())
            digest.update(np.ascontiguousarray(w).tobytes())
            digest.update(np.ascontiguousarray(b).tobytes())
        object.__setattr__(self, "_hash", digest.hexdigest())

    # ------------------------------------------------------------------ shape
    @property
    def input_dim(self) -> int:
        """Number of inputs ``d``."""
        return int(self.weights[0].shape[1])

    @property
    def output_dim(self) -> int:
        """Number of outputs."""
        return int(self.weights[-1].shape[0])

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """Widths of the hidden (ReLU) layers, in order."""
        return tuple(int(w.shape[0]) for w in self.weights[:-1])

    @property
    def n_hidden(self) -> int:
        """Total number of hidden neurons (the length of an activation pattern)."""
        return int(sum(self.hidden_widths))

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases."""
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases)))

    @property
    def sha256(self) -> str:
        """A hash of the weights, biases and activation, written into output metadata."""
        return self._hash

    # ------------------------------------------------------------------ evaluation
    def preactivations(self, x: np.ndarray) -> list[np.ndarray]:
        """Pre-activations ``z_l`` of every hidden layer for a batch of inputs ``x`` (n, d)."""
        h = self._as_batch(x)
        out = []
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = h @ w.T + b
            out.append(z)
            h = np.where(z > 0, z, self.negative_slope * z)
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Network output for a batch of inputs ``x`` of shape (n, d) (or a single point (d,))."""
        single = np.ndim(x) == 1
        h = self._as_batch(x)
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = h @ w.T + b
            h = np.where(z > 0, z, self.negative_slope * z)
        y = h @ self.weights[-1].T + self.biases[-1]
        return y[0] if single else y

    def pattern(self, x: np.ndarray) -> np.ndarray:
        """Activation bits ``z > 0`` over all hidden neurons, layer by layer: shape (n, n_hidden).

        This is the rounded forward pass; on neurons that are identically zero on a region it can
        return noise. Compare with :meth:`pattern_margin` to know which bits are decided.
        """
        zs = self.preactivations(x)
        if not zs:
            return np.zeros((self._as_batch(x).shape[0], 0), dtype=bool)
        return np.concatenate([z > 0 for z in zs], axis=1)

    def pattern_margin(self, x: np.ndarray, rel_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
        """Bits and a mask of the bits whose pre-activation clears ``rel_tol`` times its scale.

        The scale of neuron ``j`` of layer ``l`` is ``|W_l[j]| @ |h_{l-1}| + |b_l[j]|``; bits inside
        that band are rounding noise and must not be compared (DESIGN.md §1).
        """
        h = self._as_batch(x)
        bits, sure = [], []
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            z = h @ w.T + b
            scale = np.abs(h) @ np.abs(w).T + np.abs(b)
            bits.append(z > 0)
            sure.append(np.abs(z) > rel_tol * np.maximum(scale, 1e-300))
            h = np.where(z > 0, z, self.negative_slope * z)
        n = h.shape[0]
        if not bits:
            return np.zeros((n, 0), bool), np.zeros((n, 0), bool)
        return np.concatenate(bits, axis=1), np.concatenate(sure, axis=1)

    def forward_scale(self, x: np.ndarray) -> float:
        """The largest partial sum ``|W_l| |h_{l-1}| + |b_l|`` met in the forward pass of ``x``.

        Outputs that cancel large terms carry rounding errors of this size, so converted models are
        compared with their source runtime relative to it.
        """
        h, scale = self._as_batch(x), 0.0
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            scale = max(scale, float((np.abs(h) @ np.abs(w).T + np.abs(b)).max(initial=0.0)))
            z = h @ w.T + b
            h = z if i == last else np.where(z > 0, z, self.negative_slope * z)
        return scale

    def _as_batch(self, x: np.ndarray) -> np.ndarray:
        h = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if h.shape[1] != self.input_dim:
            raise ShapeMismatchError(
                f"input has {h.shape[1]} coordinates but the network takes {self.input_dim}")
        return h

    def __repr__(self) -> str:
        widths = "x".join(str(w) for w in self.hidden_widths) or "none"
        act = "ReLU" if self.negative_slope == 0 else f"LeakyReLU({self.negative_slope:g})"
        return (f"Network(input_dim={self.input_dim}, hidden={widths}, "
                f"output_dim={self.output_dim}, activation={act})")


def check_conversion(net: Network, x: np.ndarray, ref: np.ndarray, tol: float, where: str,
                     runtime: str, hint: str) -> None:
    """Raise :class:`ConversionMismatchError` unless ``net(x)`` matches the runtime's ``ref``.

    ``tol`` is the absolute allowance; ``hint`` (what to do) ends the one-line message.
    """
    got = net.forward(np.asarray(x, dtype=np.float64))
    ref = np.asarray(ref, dtype=np.float64)
    if ref.shape != got.shape:
        raise ConversionMismatchError(f"{where}: {runtime} gives {ref.shape[1]} outputs but the "
                                      f"converted network {got.shape[1]}; please report this model")
    err = np.abs(got - ref)
    if not np.all(err <= tol):
        raise ConversionMismatchError(
            f"{where}: the converted network differs from {runtime} by up to {err.max():.3g} "
            f"(tolerance {tol:.3g}) on random inputs; {hint}")
