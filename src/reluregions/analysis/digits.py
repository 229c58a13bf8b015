"""Small trained networks: scikit-learn's digits, classified by an MLP, on a few PCA inputs or on
all 64 pixels.

Used by the runtime study, ``bench/bench_digits.py`` and ``examples/digits_example.py``. With
``dims`` an integer the 8x8 digit images are projected on their first ``dims`` principal components
(scaled so that the first has unit standard deviation) and the domain is the bounding box of the
projected data, 5 % wider on each side. With ``dims=None`` the network reads the 64 raw pixels
(values 0..16, the paper's full-resolution setting, Drammis et al. 2024 §6 / issue 14) and the
domain is the whole pixel range ``[0, 16]^64``; :func:`digits_class_box` gives the smaller box
around the images of one class. Either way an :class:`sklearn.neural_network.MLPClassifier` with
ReLU is trained, and its weights become a :class:`~reluregions.Network` (scikit-learn stores
``coefs_`` as (in, out), so they are transposed).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..domains import Box
from ..errors import InputError, MissingDependencyError
from ..network import Network

__all__ = ["DigitsModel", "train_digits_network", "network_from_sklearn", "digits_class_box",
           "digits_image_box", "PIXEL_MAX"]

#: The largest pixel value of scikit-learn's digits (16 grey levels above 0).
PIXEL_MAX = 16.0


@dataclass
class DigitsModel:
    """A trained digits classifier on ``dims`` PCA inputs or on the 64 pixels.

    Attributes
    ----------
    network : Network
        Logits of the ten classes (argmax = the predicted digit).
    domain : Box
        Bounding box of the projected data, 5 % wider on each side (PCA inputs), or the whole
        pixel range ``[0, 16]^64`` (pixels).
    accuracy : float
        Accuracy on the held-out quarter of the data.
    X, y : ndarray
        The network's inputs (projected data or pixels) and labels (all samples).
    """

    network: Network
    domain: Box
    accuracy: float
    X: np.ndarray
    y: np.ndarray


def network_from_sklearn(model: Any) -> Network:
    """A :class:`Network` from a fitted ``MLPClassifier``/``MLPRegressor`` with ReLU activation."""
    if getattr(model, "activation", "relu") != "relu":
        from ..errors import UnsupportedLayerError

        raise UnsupportedLayerError(f"the model uses activation '{model.activation}'; only relu "
                                    "networks are piecewise affine")
    return Network([np.asarray(w).T for w in model.coefs_], [np.asarray(b) for b in model.intercepts_])


def digits_class_box(model: DigitsModel, digit: int, margin: float = 0.0) -> Box:
    """The box around the pixel images of one class: per-pixel min/max, widened, clipped.

    Each pixel ranges over ``[min - margin, max + margin]`` of the class's images, clipped to
    ``[0, 16]``; a pixel constant over the class (such as the always-blank corners) stays fixed at
    its value (``lo == hi``, not widened), so the box is a lower-dimensional slice of the pixel
    space (DESIGN.md §1: a :class:`Box` with ``lo == hi`` fixes that coordinate). ``model`` must
    read pixels (``dims=None``).

    Parameters
    ----------
    model : DigitsModel
        A model of :func:`train_digits_network` with ``dims=None``.
    digit : int
        The class, 0 to 9.
    margin : float
        Pixel values added on each side of the class's range (0 keeps the class's own range).
    """
    _check_pixels(model)
    if not 0 <= int(digit) <= 9 or int(digit) != digit:
        raise InputError(f"digit must be an integer from 0 to 9, got {digit!r}")
    if not (np.isfinite(margin) and margin >= 0):
        raise InputError(f"margin must be a non-negative number, got {margin!r}")
    images = model.X[model.y == digit]
    low, high = images.min(axis=0), images.max(axis=0)
    constant = low == high
    lo = np.where(constant, low, np.clip(low - margin, 0.0, PIXEL_MAX))
    hi = np.where(constant, high, np.clip(high + margin, 0.0, PIXEL_MAX))
    return Box(lo, hi)


def digits_image_box(model: DigitsModel, index: int, radius: float) -> Box:
    """The box of pixel values within ``radius`` of one image, clipped to ``[0, 16]``.

    The L-infinity ball of VNN-COMP's MNIST properties (issue 14), on the digits' pixel scale;
    small radii give complete enumerations in 64 dimensions, which the runtime study times.

    Parameters
    ----------
    model : DigitsModel
        A model of :func:`train_digits_network` with ``dims=None``.
    index : int
        The image, an index into ``model.X``.
    radius : float
        Pixel values on each side of the image (positive).
    """
    _check_pixels(model)
    if not 0 <= int(index) < len(model.X) or int(index) != index:
        raise InputError(f"index must be an integer from 0 to {len(model.X) - 1}, got {index!r}")
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"radius must be a positive number, got {radius!r}")
    x = model.X[int(index)]
    return Box(np.clip(x - radius, 0.0, PIXEL_MAX), np.clip(x + radius, 0.0, PIXEL_MAX))


def _check_pixels(model: DigitsModel) -> None:
    if model.X.shape[1] != 64:
        raise InputError(f"pixel boxes need a model on the 64 pixels; this one reads "
                         f"{model.X.shape[1]} PCA inputs (train it with dims=None)")


def train_digits_network(dims: int | None = 2, hidden: Sequence[int] = (16,), seed: int = 0,
                         max_iter: int = 400) -> DigitsModel:
    """Train a ReLU MLP on the digits reduced to ``dims`` principal components.

    Parameters
    ----------
    dims : int or None
        Number of PCA inputs; ``None`` reads the 64 raw pixels (no PCA), with the whole pixel
        range ``[0, 16]^64`` as domain.
    hidden : sequence of int
        Hidden widths of the MLP.
    seed : int
        Seed of the train/test split and of the MLP's initialisation.
    max_iter : int
        Adam epochs (training stops early when it converges; the convergence warning is silenced).
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.decomposition import PCA
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier
    except ImportError as exc:
        raise MissingDependencyError("the digits networks need scikit-learn; run: pip install "
                                     "scikit-learn") from exc
    if dims is not None and not 1 <= int(dims) <= 64:
        raise InputError(f"dims must be 1 to 64 PCA inputs or None (the 64 pixels), got {dims!r}")
    data = load_digits()
    if dims is None:  # trained on pixels / 16; the scale is folded into the first layer below
        X = data.data.astype(np.float64) / PIXEL_MAX
    else:
        Z = PCA(n_components=dims, random_state=seed).fit_transform(data.data)
        X = Z / Z[:, 0].std()
    y = data.target
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    clf = MLPClassifier(hidden_layer_sizes=tuple(hidden), activation="relu", max_iter=max_iter,
                        random_state=seed, learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_tr, y_tr)
    net = network_from_sklearn(clf)
    accuracy = float((net.forward(X_te).argmax(axis=1) == y_te).mean())
    if dims is None:  # the same function of the raw pixels: W1 (x / 16) = (W1 / 16) x
        coefs = [np.asarray(w, dtype=np.float64).T for w in clf.coefs_]
        coefs[0] = coefs[0] / PIXEL_MAX
        net = Network(coefs, [np.asarray(b, dtype=np.float64) for b in clf.intercepts_])
        return DigitsModel(net, Box(np.zeros(64), np.full(64, PIXEL_MAX)), accuracy,
                           X * PIXEL_MAX, y)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.05 * (hi - lo)
    return DigitsModel(net, Box(lo - pad, hi + pad), accuracy, X, y)
