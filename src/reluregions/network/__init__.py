"""Network model and loaders (npz, ONNX, PyTorch), each cross-checked against its source runtime."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidWeightsError, NetworkFileError, ShapeMismatchError
from .model import Network
from .npz import load_npz, save_npz

__all__ = ["Network", "load_network", "load_npz", "save_npz"]

_TORCH_SUFFIXES = (".pt", ".pth", ".torch")


def load_network(path: str | Path) -> tuple[Network, tuple[np.ndarray, np.ndarray] | None]:
    """Load a network from ``.npz``, ``.onnx`` or a PyTorch file, chosen by the file's suffix.

    Returns the network and the default box stored with it (only ``.npz`` files carry one), or None.
    ONNX and PyTorch models are checked against onnxruntime / torch on random inputs before use.
    """
    path = Path(path)
    if not path.exists():
        raise NetworkFileError(f"{path}: no such file; give the path of a .npz, .onnx or .pt network")
    if path.is_dir():
        raise NetworkFileError(f"{path}: is a directory; give the path of a network file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            return load_npz(path)
        if suffix == ".onnx":
            from .onnx import load_onnx

            return load_onnx(path), None
        if suffix in _TORCH_SUFFIXES:
            from .torch import load_torch

            return load_torch(path), None
    except (InvalidWeightsError, ShapeMismatchError) as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None  # which file, when several are in play
    raise NetworkFileError(
        f"{path}: unknown network format '{suffix or '(none)'}'; use .npz, .onnx, or .pt/.pth")
