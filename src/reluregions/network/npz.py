"""Loader for the ``.npz`` network contract of DESIGN.md §4 (``W0, b0, W1, b1, ...``, optional ``lo``, ``hi``)."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from ..errors import NetworkFileError, ShapeMismatchError
from .model import Network

__all__ = ["load_npz", "save_npz"]

_KEY = re.compile(r"^([Wb])(\d+)$")


def load_npz(path: str | Path) -> tuple[Network, tuple[np.ndarray, np.ndarray] | None]:
    """Read a network and its optional default box from an ``.npz`` file.

    Returns
    -------
    network : Network
    box : (lo, hi) or None
        The ``lo``/``hi`` arrays stored in the file, if both are present.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except FileNotFoundError:
        raise NetworkFileError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise NetworkFileError(f"{path}: not a readable .npz archive ({type(exc).__name__}); "
                               "save the network with numpy.savez(W0=..., b0=..., ...)") from None
    layers: dict[int, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        match = _KEY.match(key)
        if match:
            layers.setdefault(int(match.group(2)), {})[match.group(1)] = value
    if not layers:
        raise NetworkFileError(f"{path}: no arrays named W0, b0, W1, b1, ...; see 'Network files' "
                               "in the README")
    order = sorted(layers)
    if order != list(range(len(order))):
        raise NetworkFileError(f"{path}: layer indices {order} are not 0, 1, 2, ... without gaps")
    for i in order:
        if set(layers[i]) != {"W", "b"}:
            missing = "b" if "W" in layers[i] else "W"
            raise NetworkFileError(f"{path}: layer {i} has no {missing}{i} array")
    net = Network([layers[i]["W"] for i in order], [layers[i]["b"] for i in order])
    box = None
    if "lo" in arrays or "hi" in arrays:
        if not ("lo" in arrays and "hi" in arrays):
            raise NetworkFileError(f"{path}: has only one of 'lo' and 'hi'; store both or neither")
        lo = np.asarray(arrays["lo"], dtype=np.float64).reshape(-1)
        hi = np.asarray(arrays["hi"], dtype=np.float64).reshape(-1)
        if lo.shape[0] != net.input_dim or hi.shape[0] != net.input_dim:
            raise ShapeMismatchError(f"{path}: lo/hi have {lo.shape[0]}/{hi.shape[0]} entries but the "
                                     f"network takes {net.input_dim} inputs")
        box = (lo, hi)
    return net, box


def save_npz(path: str | Path, network: Network, box: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Write ``network`` (and optionally a default box) in the ``.npz`` contract."""
    arrays: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"W{i}"] = w
        arrays[f"b{i}"] = b
    if box is not None:
        arrays["lo"], arrays["hi"] = np.asarray(box[0], float), np.asarray(box[1], float)
    np.savez(path, **arrays)
