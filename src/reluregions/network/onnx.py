"""Loader for ONNX models: a chain of affine operators and (Leaky)ReLU, flattened to a :class:`Network`.

The graph is run symbolically. Every tensor that depends on the input is kept as an affine function
of the current layer's input ``u`` (of size ``n``): an array ``t`` of shape ``(1 + n, *shape)`` whose
row 0 is the offset and whose row ``1 + j`` is the image of the unit vector ``e_j`` under the linear
part (DESIGN.md §1: convolutions, batch norm, pooling and flatten are affine, so pushing the identity
basis through them gives their dense matrix). Each operator applies its *linear* part to all rows
and adds its bias to row 0 only, so weights are never perturbed by a bias being added and taken off
again (which matters for degenerate nets whose hyperplanes coincide exactly). Consecutive affine
operators thus merge into one layer; every Relu/LeakyRelu closes a hidden layer; whatever follows
the last activation is the affine output layer (the identity when the graph ends with a Relu).

Tensors that do not depend on the input (initializers, ``Constant`` nodes and anything computed
from them only, such as ``Shape -> Gather -> Reshape`` chains) are folded with numpy. The batch
dimension of the graph input is taken as 1; a dynamic batch dimension is allowed.

Supported operators: see :data:`SUPPORTED_OPS`. The converted network is checked against
onnxruntime on random inputs (``check=True``), as nnenum does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, NetworkFileError
from ._onnx_graph import Converter, first_line
from ._onnx_handlers import SUPPORTED_OPS
from .model import Network, check_conversion

__all__ = ["load_onnx", "SUPPORTED_OPS"]

_INSTALL = "pip install 'reluregions[onnx]'"


def load_onnx(path: str | Path, *, check: bool = True, n_check: int = 256, seed: int = 0) -> Network:
    """Read an ONNX model of a feed-forward (Leaky)ReLU network into a :class:`Network`.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file. It must have one input and one output.
    check : bool, default True
        Run onnxruntime on ``n_check`` random inputs and compare with :meth:`Network.forward`.
    n_check : int, default 256
        Number of random points for the check, drawn uniformly from ``[-1, 1]^d``.
    seed : int, default 0
        Seed of the random points.

    Returns
    -------
    Network
        Its input is the graph input flattened in C order (batch dimension of 1 dropped); its
        output is the graph output flattened likewise.

    Raises
    ------
    MissingDependencyError
        ``onnx`` (or, for the check, ``onnxruntime``) is not installed.
    NetworkFileError
        The file is missing, corrupt or not a usable ONNX graph.
    UnsupportedLayerError
        An operator is not affine or (Leaky)ReLU (the message names it and lists
        :data:`SUPPORTED_OPS`), activations use different slopes, or the graph is not a chain.
    InvalidWeightsError
        Weights are NaN or infinite.
    ConversionMismatchError
        The converted network disagrees with onnxruntime beyond float32 rounding.
    """
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError(f"reading .onnx files needs the onnx package; {_INSTALL}") from None
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such file; give the path of an .onnx model")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own DecodeError, and others on truncated files
        raise NetworkFileError(f"{path}: not a readable ONNX model ({first_line(exc)}); "
                               "re-export it, for example with torch.onnx.export") from None
    converter = Converter(model.graph, str(path))
    net = converter.run()
    if check:
        _check_with_onnxruntime(path, model, converter, net, n_check, seed)
    return net


def _check_with_onnxruntime(path: Path, model: Any, cv: Converter, net: Network,
                            n_check: int, seed: int) -> None:
    """Compare ``net`` with onnxruntime on random points in ``[-1, 1]^d``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise MissingDependencyError("checking a converted ONNX model needs onnxruntime; "
                                     f"{_INSTALL} (or pass check=False)") from None
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise NetworkFileError(f"{path}: onnxruntime cannot load the model ({first_line(exc)}); "
                               "the file may be invalid ONNX") from None
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(max(int(n_check), 1), net.input_dim)).astype(cv.input_dtype)
    ref = None
    if cv.dynamic_batch:
        try:
            feed = x.reshape((x.shape[0], *cv.input_shape[1:]))
            ref = session.run([cv.output_name], {cv.input_name: feed})[0]
        except Exception:  # e.g. a Reshape that hard-codes batch 1: go point by point instead
            ref = None
    if ref is None:
        try:
            ref = np.stack([session.run([cv.output_name], {cv.input_name: p.reshape(cv.input_shape)})[0]
                            for p in x])
        except Exception as exc:
            raise NetworkFileError(f"{path}: onnxruntime fails to run the model "
                                   f"({first_line(exc)}); the file may be invalid ONNX") from None
    ref = np.asarray(ref, dtype=np.float64).reshape(x.shape[0], -1)
    x64 = x.astype(np.float64)
    # Rounding allowance of the runtime: 1e3 eps (1.2e-4 in float32) relative to the larger of the
    # output scale and a hundredth of the largest partial sum of the forward pass.
    eps = float(np.finfo(cv.input_dtype).eps)
    tol = 1e3 * eps * max(float(np.abs(ref).max(initial=0.0)), 1e-2 * net.forward_scale(x64), 1e-300)
    check_conversion(net, x64, ref, tol, str(path), "onnxruntime",
                     "the graph uses an operator the loader misreads, please report it (or pass "
                     "check=False to skip the check)")
