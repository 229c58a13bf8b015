"""Small trained networks: scikit-learn's digits, PCA-reduced to a few inputs, classified by an MLP.

Used by the runtime study and ``examples/digits_example.py``: the 8x8 digit images are projected
on their first ``dims`` principal components (scaled so that the first has unit standard
deviation), an :class:`sklearn.neural_network.MLPClassifier` with ReLU is trained on them, and its
weights become a :class:`~reluregions.Network` (scikit-learn stores ``coefs_`` as (in, out), so they
are transposed). The domain is the bounding box of the projected data, 5 % wider on each side.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..domains import Box
from ..errors import MissingDependencyError
from ..network import Network

__all__ = ["DigitsModel", "train_digits_network", "network_from_sklearn"]


@dataclass
class DigitsModel:
    """A trained digits classifier on ``dims`` PCA inputs.

    Attributes
    ----------
    network : Network
        Logits of the ten classes (argmax = the predicted digit).
    domain : Box
        Bounding box of the projected data, 5 % wider on each side.
    accuracy : float
        Accuracy on the held-out quarter of the data.
    X, y : ndarray
        The projected data and labels (all samples).
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


def train_digits_network(dims: int = 2, hidden: Sequence[int] = (16,), seed: int = 0,
                         max_iter: int = 400) -> DigitsModel:
    """Train a ReLU MLP on the digits reduced to ``dims`` principal components.

    Parameters
    ----------
    dims : int
        Number of PCA inputs.
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
    data = load_digits()
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
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.05 * (hi - lo)
    accuracy = float((net.forward(X_te).argmax(axis=1) == y_te).mean())
    return DigitsModel(net, Box(lo - pad, hi + pad), accuracy, X, y)
