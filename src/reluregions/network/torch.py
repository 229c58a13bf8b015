"""Loader for PyTorch models: an ``nn.Sequential`` of affine layers and (Leaky)ReLU, as a :class:`Network`.

Accepted files (``load_torch``), none of which needs unsafe unpickling:

1. **TorchScript** (``torch.jit.save(torch.jit.script(model), path)`` or a traced model) whose top
   module is a (possibly nested) ``Sequential``.
2. **A state dict** (``torch.save(model.state_dict(), path)``), together with ``architecture=``: the
   ``nn.Module`` to load it into, or an architecture spec string (see below).
3. **A dict** ``{"state_dict": ..., "architecture": "<spec>"}``, optionally with
   ``"input_shape": (C, H, W)``, saved with ``torch.save``; it is self-describing, so the
   command-line tool can read it.

A whole pickled module (``torch.save(model, path)``) can only be read by running arbitrary pickle
code, so it is refused with a message saying how to re-save it, unless the caller trusts the file
(``trust_pickle=True``, ``--trust-pickle`` on the command line).

**Architecture spec.** Comma-separated layers written like their ``torch.nn`` constructors, with
literal arguments only (numbers, tuples, booleans, strings), and ``Sequential(...)`` for nesting::

    "Linear(2, 8), ReLU, Linear(8, 1)"
    "Conv2d(1, 4, 3, stride=2, padding=1), BatchNorm2d(4), ReLU, AvgPool2d(2), Flatten, Linear(36, 10)"

A bare name means no arguments. The parameter names follow from the positions exactly as in an
``nn.Sequential`` built from the same layers (``0.weight``, ``0.bias``, ``2.weight``, ...).

Supported layers (see :data:`SUPPORTED_LAYERS`): Linear, ReLU, LeakyReLU, Flatten, Unflatten,
Identity, Dropout (identity, as in eval mode), Conv1d/Conv2d, BatchNorm1d/2d (eval statistics) and
AvgPool1d/2d. Convolutions, batch norm and pooling are lowered to dense layers by pushing the
identity basis through the layer itself (in float64, under ``torch.no_grad()``, in eval mode); the
bias is switched off while the basis goes through, so weights are exact up to the layer's own
arithmetic.
"""
from __future__ import annotations

import copy
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import (NetworkFileError, OptionError,
                      ShapeMismatchError, UnsupportedLayerError)
from .model import Network, check_conversion
from .torch_spec import SUPPORTED_LAYERS, _first_line, _torch, parse_architecture

__all__ = ["load_torch", "from_torch_module", "parse_architecture", "SUPPORTED_LAYERS"]

_AFFINE = {"Linear", "Flatten", "Unflatten", "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d",
           "AvgPool1d", "AvgPool2d"}
_PASS = {"Identity", "Dropout"}
_ACTIVATIONS = {"ReLU", "LeakyReLU"}
_RESAVE = ("save model.state_dict() and pass --architecture SPEC (architecture=...), save "
           "{'state_dict': ..., 'architecture': '<spec>'}, or save TorchScript with torch.jit.save")


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch's own warnings around TorchScript calls (``torch.jit.load`` is deprecated in
    torch 2.x but remains the only safe way to read a whole saved model; ``.double()`` on a script
    module warns about ``.grad`` internally)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


# ---------------------------------------------------------------------------------- files
def load_torch(path: str | Path, *, architecture: Any = None,
               input_shape: Sequence[int] | int | None = None, check: bool = True,
               trust_pickle: bool = False) -> Network:
    """Read a PyTorch model file (TorchScript, state dict + architecture, or a self-describing dict).

    Parameters
    ----------
    path : str or Path
        The file (any suffix); the accepted forms are listed in the module docstring.
    architecture : nn.Module or str, optional
        For a bare state dict: the module to load it into (its parameters are overwritten) or an
        architecture spec such as ``"Linear(2,8),ReLU,Linear(8,1)"``. Overrides a spec in the file.
    input_shape : int or sequence of int, optional
        Shape of one input without the batch axis, e.g. ``(1, 28, 28)``. Needed when the model does
        not start with ``Linear``; overrides an ``"input_shape"`` stored in the file.
    check : bool, default True
        Compare the result with the torch model on random inputs (float64).
    trust_pickle : bool, default False
        Also read a whole pickled ``nn.Module`` (``torch.save(model)``). Unpickling runs code stored
        in the file, so only pass True for files you trust.

    Returns
    -------
    Network

    Raises
    ------
    MissingDependencyError
        torch is not installed.
    NetworkFileError
        The file is missing, corrupt, needs unsafe unpickling, or lacks an architecture.
    UnsupportedLayerError, ShapeMismatchError, ConversionMismatchError, OptionError
        As for :func:`from_torch_module`, and for a malformed architecture.
    """
    torch = _torch()
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such file; give the path of a PyTorch model file")
    if _is_torchscript(path):
        try:
            with _quiet():
                module = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise NetworkFileError(f"{path}: not a loadable TorchScript file ({_first_line(exc)}); "
                                   "re-save it with torch.jit.save") from None
        return _convert_owned(module, input_shape, check, str(path))
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc):
            raise NetworkFileError(f"{path}: loading it needs unsafe unpickling (it is probably a "
                                   "whole pickled nn.Module, and unpickling runs code stored in the "
                                   "file), which is refused; if you trust the file pass --trust-pickle "
                                   f"(trust_pickle=True), or {_RESAVE}") from None
        raise NetworkFileError(f"{path}: not a readable PyTorch file ({_first_line(exc)})") from None
    except Exception as exc:
        raise NetworkFileError(f"{path}: not a readable PyTorch file ({_first_line(exc)}); "
                               f"{_RESAVE}") from None
    if isinstance(obj, torch.nn.Module):  # only reachable with trust_pickle
        return _convert_owned(obj, input_shape, check, str(path))
    state, spec, shape = _unpack(obj, path)
    arch = architecture if architecture is not None else spec
    if arch is None:
        raise NetworkFileError(f"{path}: holds a state dict but no architecture; pass --architecture "
                               "SPEC on the command line (Python: architecture=<nn.Module or spec>), "
                               "such as 'Linear(2,8),ReLU,Linear(8,1)'")
    if isinstance(arch, str):
        try:
            module = parse_architecture(arch)
        except OptionError as exc:
            if architecture is not None:
                raise
            raise NetworkFileError(f"{path}: the stored architecture is invalid: {exc}") from None
    elif isinstance(arch, torch.nn.Module):
        module = arch
    else:
        raise OptionError(f"architecture must be an nn.Module or a spec string, not "
                          f"{type(arch).__name__}")
    _load_state(module, state, path)
    return from_torch_module(module, input_shape if input_shape is not None else shape, check=check)


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n == "constants.pkl" or n.endswith("/constants.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _unpack(obj: Any, path: Path) -> tuple[Mapping, str | None, Any]:
    torch = _torch()
    if isinstance(obj, Mapping) and "state_dict" in obj:
        state, spec, shape = obj["state_dict"], obj.get("architecture"), obj.get("input_shape")
        if spec is not None and not isinstance(spec, str):
            raise NetworkFileError(f"{path}: 'architecture' must be a spec string, not "
                                   f"{type(spec).__name__}")
    else:
        state, spec, shape = obj, None, None
    if not (isinstance(state, Mapping) and state
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items())):
        raise NetworkFileError(f"{path}: holds a {type(obj).__name__}, not a state dict of tensors; "
                               f"{_RESAVE}")
    return state, spec, shape


def _load_state(module: Any, state: Mapping, path: Path) -> None:
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        raise NetworkFileError(f"{path}: the state dict does not fit the architecture (missing: "
                               f"{missing[:3] or 'none'}, unexpected: {extra[:3] or 'none'}); "
                               "check the layer list")
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ShapeMismatchError(f"{path}: '{key}' has shape {tuple(state[key].shape)} in the file "
                                     f"but {tuple(value.shape)} in the architecture; fix the layer sizes")
    module.load_state_dict(state)


# ---------------------------------------------------------------------------------- modules
def from_torch_module(module: Any, input_shape: Sequence[int] | int | None = None, *,
                      check: bool = True) -> Network:
    """Convert an ``nn.Sequential`` (or a TorchScript one) of supported layers to a :class:`Network`.

    Parameters
    ----------
    module : torch.nn.Module
        A ``Sequential``, possibly nested, or a single supported layer. It is not modified: the
        conversion works on a float64 copy in eval mode.
    input_shape : int or sequence of int, optional
        Shape of one input without the batch axis, e.g. ``(C, H, W)`` for ``Conv2d``. Inferred as
        ``(in_features,)`` when the first layer with weights is ``Linear``.
    check : bool, default True
        Compare with the module (float64, eval mode) on 256 random points of ``[-1, 1]^d``.

    Returns
    -------
    Network
        Inputs and outputs are the module's, flattened in C order.

    Raises
    ------
    UnsupportedLayerError
        A layer is not supported (the message gives its position and type), activations use
        different slopes, or the module is not a Sequential.
    ShapeMismatchError
        The input shape cannot be inferred, or a layer rejects the shape it receives.
    InvalidWeightsError
        Weights are NaN or infinite.
    ConversionMismatchError
        The result disagrees with torch beyond float64 rounding.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise OptionError(f"expected a torch.nn.Module, got {type(module).__name__}")
    try:
        work = copy.deepcopy(module)
    except Exception as exc:
        raise UnsupportedLayerError(f"the module cannot be copied for conversion "
                                    f"({_first_line(exc)}); pass a plain nn.Sequential") from None
    return _convert_owned(work, input_shape, check, "the model")


def _convert_owned(work: Any, input_shape: Any, check: bool, where: str) -> Network:
    """Convert a module this function may change (a copy or a freshly loaded file)."""
    torch = _torch()
    try:
        with _quiet():
            work = work.double().eval()
    except Exception as exc:
        raise UnsupportedLayerError(f"{where}: cannot be converted to float64 ({_first_line(exc)}); "
                                    "only float models are supported") from None
    leaves = list(_leaves(work, "", where))
    shape = _input_shape(leaves, input_shape, where)
    with torch.no_grad():
        net = _lower(leaves, shape, where)
        if check:
            _check_with_torch(work, net, shape, where)
    return net


def _kind(module: Any) -> str:
    torch = _torch()
    if isinstance(module, torch.jit.ScriptModule):
        return str(getattr(module, "original_name", type(module).__name__))
    name = type(module).__name__
    return name if getattr(torch.nn, name, None) is type(module) else f"{type(module).__module__}.{name}"


def _leaves(module: Any, path: str, where: str) -> Iterator[tuple[str, str, Any]]:
    """``(path, kind, layer)`` for every layer of a nested Sequential, in execution order."""
    torch = _torch()
    kind = _kind(module)
    if kind == "Sequential" or (isinstance(module, torch.nn.Sequential)
                                and type(module).forward is torch.nn.Sequential.forward):
        for name, child in module.named_children():
            yield from _leaves(child, f"{path}.{name}" if path else name, where)
    elif kind in SUPPORTED_LAYERS:
        yield path or "(top)", kind, module
    elif any(True for _ in module.children()):
        raise UnsupportedLayerError(
            f"{where}: module '{path or '(top)'}' of type {kind} is not an nn.Sequential, so its "
            "layer order is unknown; wrap the layers in nn.Sequential (or export to ONNX)")
    else:
        yield path or "(top)", kind, module


def _input_shape(leaves: list, input_shape: Any, where: str) -> tuple[int, ...]:
    if input_shape is not None:
        try:
            shape = (int(input_shape),) if np.ndim(input_shape) == 0 else tuple(int(s) for s in input_shape)
        except (TypeError, ValueError):
            shape = ()
        if not shape or min(shape) < 1:
            raise ShapeMismatchError(f"input_shape {input_shape!r} must be positive sizes, like (1, 28, 28)")
        return shape
    for _, kind, layer in leaves:
        if kind in _PASS or kind in _ACTIVATIONS:
            continue
        if kind == "Linear":
            return (int(layer.weight.shape[1]),)
        raise ShapeMismatchError(f"{where}: cannot infer the input shape because the first layer is "
                                 f"{kind}; pass --input-shape C,H,W on the command line (Python: "
                                 "input_shape=(C, H, W)), without the batch axis")
    raise ShapeMismatchError(f"{where}: has no Linear layer to infer the input size from; pass "
                             "--input-shape on the command line (Python: input_shape=...)")


@contextmanager
def _biases_off(layer: Any, kind: str) -> Iterator[None]:
    """Zero the bias (and batch-norm running mean) while the identity basis goes through."""
    names = ("bias", "running_mean") if kind.startswith("BatchNorm") else ("bias",)
    tensors = dict(layer.named_parameters(recurse=False))
    tensors.update(dict(layer.named_buffers(recurse=False)))
    saved = [(tensors[n], tensors[n].clone()) for n in names if tensors.get(n) is not None]
    for tensor, _ in saved:
        tensor.zero_()
    try:
        yield
    finally:
        for tensor, value in saved:
            tensor.copy_(value)


def _lower(leaves: list, shape: tuple[int, ...], where: str) -> Network:
    torch = _torch()
    n = int(np.prod(shape))
    t = torch.cat([torch.zeros(1, n, dtype=torch.float64),
                   torch.eye(n, dtype=torch.float64)]).reshape(1 + n, *shape)
    weights, biases, slope = [], [], None
    for position, (path, kind, layer) in enumerate(leaves):
        label = f"{where}: layer {position} ('{path}', {kind})"
        if kind in _PASS:
            continue
        if kind in _ACTIVATIONS:
            s = _slope(layer, kind, label)
            if slope is not None and s != slope[0]:
                raise UnsupportedLayerError(f"{label} has negative slope {s:g} but {slope[1]} has "
                                            f"{slope[0]:g}; all activations must share one slope")
            slope = slope or (s, label[len(where) + 2:])
            flat = t.reshape(t.shape[0], -1).numpy()
            weights.append(flat[1:].T.copy())
            biases.append(flat[0].copy())
            width = flat.shape[1]
            t = torch.cat([torch.zeros(1, width, dtype=torch.float64),
                           torch.eye(width, dtype=torch.float64)]).reshape(1 + width, *t.shape[1:])
            continue
        if kind not in _AFFINE:
            raise UnsupportedLayerError(f"{label} is not supported (not affine or ReLU); "
                                        f"supported: {', '.join(SUPPORTED_LAYERS)}")
        t = _apply_affine(layer, kind, t, label)
    flat = t.reshape(t.shape[0], -1).numpy()
    weights.append(flat[1:].T.copy())
    biases.append(flat[0].copy())
    return Network(weights, biases, negative_slope=0.0 if slope is None else slope[0])


def _slope(layer: Any, kind: str, label: str) -> float:
    torch = _torch()
    if kind == "ReLU":
        return 0.0
    y = layer(torch.tensor([-1.0, 1.0], dtype=torch.float64))
    if float(y[1]) != 1.0:
        raise UnsupportedLayerError(f"{label} does not act as LeakyReLU; use nn.LeakyReLU")
    return -float(y[0])


def _apply_affine(layer: Any, kind: str, t: Any, label: str) -> Any:
    torch = _torch()
    if kind.startswith("BatchNorm"):
        buffers = dict(layer.named_buffers(recurse=False))
        if buffers.get("running_mean") is None or buffers.get("running_var") is None:
            raise UnsupportedLayerError(f"{label} has no running statistics (track_running_stats="
                                        "False), so it is not affine; retrain with running stats")
    try:
        offset = layer(t[:1])
        with _biases_off(layer, kind):
            linear = layer(t[1:])
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ShapeMismatchError(f"{label} rejects inputs of shape {tuple(t.shape[1:])} "
                                 f"({_first_line(exc)}); check input_shape") from None
    if linear.shape[0] != t.shape[0] - 1 or offset.shape[1:] != linear.shape[1:]:
        raise UnsupportedLayerError(f"{label} mixes the batch axis into the features (for example "
                                    "Flatten(start_dim=0)); flatten from dimension 1")
    return torch.cat([offset, linear])


def _check_with_torch(work: Any, net: Network, shape: tuple[int, ...], where: str,
                      n_check: int = 256, seed: int = 0) -> None:
    torch = _torch()
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_check, net.input_dim))
    try:
        ref = work(torch.from_numpy(x).reshape(n_check, *shape)).reshape(n_check, -1).numpy()
    except Exception as exc:
        raise ShapeMismatchError(f"{where}: torch cannot run the model on inputs of shape {shape} "
                                 f"({_first_line(exc)}); check input_shape") from None
    ref = np.asarray(ref, dtype=np.float64)
    tol = 1e-9 * max(float(np.abs(ref).max(initial=0.0)), net.forward_scale(x), 1e-300)
    check_conversion(net, x, ref, tol, where, "torch",
                     "a layer is not what its type says (a traced model in training mode?) - save "
                     "it in eval mode, or pass check=False")
