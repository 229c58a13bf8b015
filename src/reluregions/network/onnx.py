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

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import (MissingDependencyError, NetworkFileError,
                      ReluRegionsError, UnsupportedLayerError)
from ._onnx_ops import avgpool, conv
from .model import Network, check_conversion

__all__ = ["load_onnx", "SUPPORTED_OPS"]

#: Operator types the loader understands (on input-dependent tensors or, for the last group,
#: on constants only).
SUPPORTED_OPS = ("Gemm, MatMul, Add, Sub, Neg, Mul and Div by a constant, Relu, LeakyRelu, PRelu "
                 "with one constant slope, Conv, BatchNormalization (inference), AveragePool, "
                 "GlobalAveragePool, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, "
                 "Identity, Dropout, Cast to a float type, Constant; and on constants also Shape "
                 "and Gather")

_INSTALL = "pip install 'reluregions[onnx]'"
_FLOAT_TYPES = {1: np.float32, 10: np.float16, 11: np.float64}


@dataclass
class _Sym:
    """An input-dependent tensor: ``value(u) = t[0] + sum_j u_j t[1 + j]``, computed in layer ``seg``."""

    t: np.ndarray
    seg: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.t.shape[1:])


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
        raise NetworkFileError(f"{path}: not a readable ONNX model ({_first_line(exc)}); "
                               "re-export it, for example with torch.onnx.export") from None
    converter = _Converter(model.graph, str(path))
    net = converter.run()
    if check:
        _check_with_onnxruntime(path, model, converter, net, n_check, seed)
    return net


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------- conversion
class _Converter:
    """Walks one graph in topological order, folding constants and merging affine operators."""

    def __init__(self, graph: Any, where: str) -> None:
        from onnx import numpy_helper

        self.graph, self.where = graph, where
        self.values: dict[str, np.ndarray | _Sym] = {}
        for init in graph.initializer:
            try:
                self.values[init.name] = _as_const(numpy_helper.to_array(init))
            except Exception as exc:
                raise NetworkFileError(f"{where}: initializer '{init.name}' cannot be read "
                                       f"({_first_line(exc)}); the file may be corrupt") from None
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        self.seg = 0
        self.slope: tuple[float, str] | None = None
        self.input_name, self.input_shape, self.input_dtype, self.dynamic_batch = self._read_input()
        if len(graph.output) != 1:
            raise UnsupportedLayerError(f"{where}: the graph has {len(graph.output)} outputs; only "
                                        "models with exactly one output are supported")
        self.output_name = graph.output[0].name

    # --------------------------------------------------------------- graph interface
    def _read_input(self) -> tuple[str, tuple[int, ...], type, bool]:
        inputs = [i for i in self.graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise UnsupportedLayerError(f"{self.where}: the graph has {len(inputs)} inputs; only "
                                        "models with exactly one input tensor are supported")
        inp = inputs[0]
        ttype = inp.type.tensor_type
        if ttype.elem_type not in _FLOAT_TYPES:
            raise UnsupportedLayerError(f"{self.where}: input '{inp.name}' has element type "
                                        f"{ttype.elem_type}; only float16/32/64 inputs are supported")
        if not ttype.HasField("shape"):
            raise NetworkFileError(f"{self.where}: input '{inp.name}' has no shape; re-export the "
                                   "model with a fixed input shape")
        shape, dynamic = [], False
        for axis, dim in enumerate(ttype.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(int(dim.dim_value))
            elif axis == 0:
                shape.append(1)
                dynamic = True
            else:
                raise NetworkFileError(f"{self.where}: input '{inp.name}' has a dynamic size on "
                                       f"axis {axis}; re-export the model with a fixed input shape")
        return inp.name, tuple(shape), _FLOAT_TYPES[ttype.elem_type], dynamic and len(shape) > 1

    def _needed_nodes(self) -> list[tuple[int, Any]]:
        """Nodes the output depends on, in graph order (dead branches are ignored)."""
        producer = {out: i for i, node in enumerate(self.graph.node) for out in node.output}
        needed: set[int] = set()
        stack = [self.output_name]
        while stack:
            name = stack.pop()
            i = producer.get(name)
            if i is None or i in needed:
                continue
            needed.add(i)
            stack.extend(n for n in self.graph.node[i].input if n)
        return [(i, n) for i, n in enumerate(self.graph.node) if i in needed]

    def run(self) -> Network:
        n_in = int(np.prod(self.input_shape, dtype=np.int64))
        basis = np.concatenate([np.zeros((1, n_in)), np.eye(n_in)])
        self.values[self.input_name] = _Sym(basis.reshape((1 + n_in, *self.input_shape)), 0)
        for index, node in self._needed_nodes():
            self._run_node(index, node)
        if self.output_name not in self.values:
            raise NetworkFileError(f"{self.where}: no node computes the output "
                                   f"'{self.output_name}'; the graph is incomplete")
        out = self.values[self.output_name]
        if isinstance(out, np.ndarray):
            out = self._promote(out)
        self._same_segment([out], "the graph output")
        self._close_layer(out)
        slope = 0.0 if self.slope is None else self.slope[0]
        return Network([w for w, _ in self.layers], [b for _, b in self.layers], negative_slope=slope)

    # --------------------------------------------------------------- helpers
    def _label(self, index: int, node: Any) -> str:
        name = f" '{node.name}'" if node.name else ""
        return f"{self.where}: node {index}{name} ({node.op_type})"

    def _promote(self, c: np.ndarray) -> _Sym:
        t = np.zeros((self._rows(), *c.shape))
        t[0] = c
        return _Sym(t, self.seg)

    def _rows(self) -> int:
        if self.layers:
            return 1 + self.layers[-1][0].shape[0]
        return 1 + int(np.prod(self.input_shape, dtype=np.int64))

    def _same_segment(self, syms: list[_Sym], what: str) -> None:
        if any(s.seg != self.seg for s in syms):
            raise UnsupportedLayerError(
                f"{what} uses a tensor computed before the last activation (a skip connection or "
                "a branch); only chains of affine layers and activations are supported")

    def _close_layer(self, x: _Sym) -> int:
        flat = x.t.reshape(x.t.shape[0], -1)
        self.layers.append((flat[1:].T.copy(), flat[0].copy()))
        return flat.shape[1]

    def _activation(self, x: _Sym, slope: float, label: str) -> _Sym:
        if self.slope is not None and self.slope[0] != slope:
            raise UnsupportedLayerError(
                f"{label} has negative slope {slope:g} but {self.slope[1]} has {self.slope[0]:g}; "
                "all activations must share one slope (ReLU is slope 0)")
        if self.slope is None:
            self.slope = (slope, label[len(self.where) + 2:])
        width = self._close_layer(x)
        self.seg += 1
        t = np.concatenate([np.zeros((1, width)), np.eye(width)]).reshape((1 + width, *x.shape))
        return _Sym(t, self.seg)

    # --------------------------------------------------------------- one node
    def _run_node(self, index: int, node: Any) -> None:
        from onnx import helper

        label = self._label(index, node)
        for name in node.input:
            if name and name not in self.values:
                raise NetworkFileError(f"{label} reads '{name}', which no earlier node computes; "
                                       "the graph is not topologically sorted or is incomplete")
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedLayerError(f"{label} is from operator domain '{node.domain}'; "
                                        f"supported are standard ONNX ops: {SUPPORTED_OPS}")
        handler = _HANDLERS.get(node.op_type)
        if handler is None:
            raise UnsupportedLayerError(f"{label}: operator '{node.op_type}' is not supported (it is "
                                        f"not affine or ReLU); supported: {SUPPORTED_OPS}")
        ins = [self.values[n] if n else None for n in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        syms = [v for v in ins if isinstance(v, _Sym)]
        if syms:
            self._same_segment(syms, label)
        try:
            result = handler(self, ins, attrs, label)
        except ReluRegionsError:
            raise
        except (ValueError, IndexError, TypeError, ZeroDivisionError) as exc:
            raise NetworkFileError(f"{label} cannot be evaluated ({_first_line(exc)}); the model "
                                   "is malformed or uses an unusual attribute") from None
        if result is None:
            raise UnsupportedLayerError(f"{label}: this use of '{node.op_type}' is not affine in the "
                                        f"input (or needs a constant operand); supported: "
                                        f"{SUPPORTED_OPS}")
        if node.output:
            self.values[node.output[0]] = result


def _as_const(a: Any) -> np.ndarray:
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind in "fc" else a


# ---------------------------------------------------------------------------------- operators
# A handler gets the converter, the input values (ndarray, _Sym or None), the attributes and a
# label, and returns the output value, or None when the combination is not affine.
Handler = Callable[[_Converter, list, dict, str], "np.ndarray | _Sym | None"]


def _affine(x: np.ndarray | _Sym, linear: Callable[[np.ndarray], np.ndarray],
            bias: np.ndarray | None = None) -> np.ndarray | _Sym:
    """Apply ``linear`` (acting on arrays with one leading stack axis) and add ``bias``."""
    if isinstance(x, _Sym):
        t = np.array(linear(x.t), dtype=np.float64)
        if bias is not None:
            t[0] = t[0] + bias
        return _Sym(t, x.seg)
    y = linear(np.asarray(x, dtype=np.float64)[None])[0]
    return y + bias if bias is not None else y


def _lift(t: np.ndarray, ndim: int) -> np.ndarray:
    """Insert axes after the stack axis so the tensor part of ``t`` has ``ndim`` dimensions."""
    extra = ndim - (t.ndim - 1)
    return t.reshape((t.shape[0],) + (1,) * extra + t.shape[1:]) if extra > 0 else t


def _op_add(cv: _Converter, ins: list, attrs: dict, label: str, negate: bool = False):
    a, b = ins
    if negate:
        b = _Sym(-b.t, b.seg) if isinstance(b, _Sym) else -b
    if not isinstance(a, _Sym) and not isinstance(b, _Sym):
        return a + b
    a = a if isinstance(a, _Sym) else cv._promote(np.asarray(a, dtype=np.float64))
    b = b if isinstance(b, _Sym) else cv._promote(np.asarray(b, dtype=np.float64))
    shape = np.broadcast_shapes(a.shape, b.shape)
    ta, tb = _lift(a.t, len(shape)), _lift(b.t, len(shape))
    return _Sym(ta + tb, a.seg)


def _op_mul(cv: _Converter, ins: list, attrs: dict, label: str, divide: bool = False):
    a, b = ins
    if isinstance(b, _Sym):
        if divide or isinstance(a, _Sym):
            return None
        a, b = b, a
    if not isinstance(a, _Sym):
        return a / b if divide else a * b
    c = np.asarray(b, dtype=np.float64)
    nd = max(len(a.shape), c.ndim)
    return _Sym(_lift(a.t, nd) / c if divide else _lift(a.t, nd) * c, a.seg)


def _op_matmul(cv: _Converter, ins: list, attrs: dict, label: str):
    a, b = ins
    if isinstance(a, _Sym) and isinstance(b, _Sym):
        return None
    if not isinstance(a, _Sym) and not isinstance(b, _Sym):
        return np.matmul(a, b)
    if isinstance(a, _Sym):
        return _Sym(_matmul_sym_left(a.t, np.asarray(b, dtype=np.float64)), a.seg)
    return _Sym(_matmul_sym_right(np.asarray(a, dtype=np.float64), b.t), b.seg)


def _matmul_sym_left(t: np.ndarray, b: np.ndarray) -> np.ndarray:
    k, shape = t.shape[0], t.shape[1:]
    out_shape = np.matmul(np.zeros(shape), b).shape
    if len(shape) == 1:
        t2 = t.reshape((k,) + (1,) * max(b.ndim - 2, 0) + (1, shape[0]))
    else:
        t2 = _lift(t, b.ndim)
    return np.matmul(t2, b).reshape((k, *out_shape))


def _matmul_sym_right(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    k, shape = t.shape[0], t.shape[1:]
    out_shape = np.matmul(a, np.zeros(shape)).shape
    if len(shape) == 1:
        t2 = t.reshape((k,) + (1,) * max(a.ndim - 2, 0) + (1, shape[0]))
        return np.matmul(t2, np.swapaxes(np.atleast_2d(a), -1, -2)).reshape((k, *out_shape))
    return np.matmul(a, _lift(t, a.ndim)).reshape((k, *out_shape))


def _op_gemm(cv: _Converter, ins: list, attrs: dict, label: str):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if isinstance(c, _Sym) or (isinstance(a, _Sym) and isinstance(b, _Sym)):
        return None
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    ta, tb = bool(attrs.get("transA", 0)), bool(attrs.get("transB", 0))

    def linear(s: np.ndarray, sym_is_a: bool) -> np.ndarray:
        if sym_is_a:
            s = np.swapaxes(s, 1, 2) if ta else s
            other = np.asarray(b, dtype=np.float64)
            y = np.matmul(s, other.T if tb else other)
        else:
            s = np.swapaxes(s, 1, 2) if tb else s
            other = np.asarray(a, dtype=np.float64)
            y = np.matmul(other.T if ta else other, s)
        return y * alpha if alpha != 1.0 else y

    bias = None if c is None else beta * np.asarray(c, dtype=np.float64)
    if isinstance(b, _Sym):
        return _affine(b, lambda s: linear(s, False), bias)
    return _affine(a, lambda s: linear(s, True), bias)


def _op_activation(cv: _Converter, ins: list, attrs: dict, label: str, kind: str):
    x = ins[0]
    if kind == "Relu":
        slope = 0.0
    elif kind == "LeakyRelu":
        slope = float(attrs.get("alpha", 0.01))
    else:  # PRelu with a constant, uniform slope
        s = ins[1]
        if isinstance(s, _Sym) or np.size(s) == 0 or not np.all(np.asarray(s) == np.ravel(s)[0]):
            return None
        slope = float(np.ravel(s)[0])
    if not isinstance(x, _Sym):
        return np.where(x > 0, x, slope * x)
    return cv._activation(x, slope, label)


def _stacked(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Apply an (N, C, ...) operator to a stack (k, N, C, ...) by merging the first two axes."""
    def apply(s: np.ndarray) -> np.ndarray:
        y = fn(s.reshape((s.shape[0] * s.shape[1], *s.shape[2:])))
        return y.reshape((s.shape[0], s.shape[1], *y.shape[1:]))
    return apply


def _op_conv(cv: _Converter, ins: list, attrs: dict, label: str):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    if isinstance(w, _Sym) or isinstance(b, _Sym):
        return None
    w = np.asarray(w, dtype=np.float64)
    if w.ndim > 5:
        return None
    bias = None if b is None else np.asarray(b, dtype=np.float64).reshape((-1,) + (1,) * (w.ndim - 2))
    return _affine(x, _stacked(lambda s: conv(s, w, attrs)), bias)


def _op_avgpool(cv: _Converter, ins: list, attrs: dict, label: str):
    return _affine(ins[0], _stacked(lambda s: avgpool(s, attrs, label)))


def _op_global_avgpool(cv: _Converter, ins: list, attrs: dict, label: str):
    return _affine(ins[0], lambda s: s.mean(axis=tuple(range(3, s.ndim)), keepdims=True))


def _op_batchnorm(cv: _Converter, ins: list, attrs: dict, label: str):
    x, params = ins[0], ins[1:5]
    if any(isinstance(p, _Sym) for p in params) or int(attrs.get("training_mode", 0)) \
            or int(attrs.get("spatial", 1)) != 1:
        return None
    gamma, beta, mean, var = (np.asarray(p, dtype=np.float64) for p in params)
    scale = gamma / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
    nd = (x.t.ndim - 1 if isinstance(x, _Sym) else np.ndim(x)) - 2
    shape = (-1,) + (1,) * nd
    return _affine(x, lambda s: s * scale.reshape(shape), (beta - mean * scale).reshape(shape))


def _reshape_like(new_shape: Callable[[tuple[int, ...], list, dict], tuple[int, ...]]) -> Handler:
    def handler(cv: _Converter, ins: list, attrs: dict, label: str):
        x = ins[0]
        if isinstance(x, _Sym):
            return _Sym(x.t.reshape((x.t.shape[0], *new_shape(x.shape, ins, attrs))), x.seg)
        return np.reshape(x, new_shape(np.shape(x), ins, attrs))
    return handler


def _flatten_shape(shape: tuple[int, ...], ins: list, attrs: dict) -> tuple[int, ...]:
    axis = int(attrs.get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    return (int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64)))


def _reshape_shape(shape: tuple[int, ...], ins: list, attrs: dict) -> tuple[int, ...]:
    if len(ins) < 2 or isinstance(ins[1], _Sym):
        raise ValueError("Reshape needs a constant shape input")
    target = [int(v) for v in np.asarray(ins[1]).reshape(-1)]
    if not int(attrs.get("allowzero", 0)):
        target = [shape[i] if v == 0 else v for i, v in enumerate(target)]
    total = int(np.prod(shape, dtype=np.int64))
    if -1 in target:
        known = int(np.prod([v for v in target if v != -1], dtype=np.int64))
        target[target.index(-1)] = total // known if known else 0
    return tuple(target)


def _axes(ins: list, attrs: dict, ndim: int) -> list[int] | None:
    raw = attrs.get("axes")
    if raw is None and len(ins) > 1 and ins[1] is not None:
        raw = np.asarray(ins[1]).reshape(-1).tolist()
    return None if raw is None else [int(a) + ndim if int(a) < 0 else int(a) for a in raw]


def _squeeze_shape(shape: tuple[int, ...], ins: list, attrs: dict) -> tuple[int, ...]:
    axes = _axes(ins, attrs, len(shape))
    if axes is None:
        axes = [i for i, s in enumerate(shape) if s == 1]
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _unsqueeze_shape(shape: tuple[int, ...], ins: list, attrs: dict) -> tuple[int, ...]:
    n_new = len(_axes(ins, attrs, 0) or [])
    axes = sorted(_axes(ins, attrs, len(shape) + n_new) or [])
    out = list(shape)
    for a in axes:
        out.insert(a, 1)
    return tuple(out)


def _op_cast(cv: _Converter, ins: list, attrs: dict, label: str):
    from onnx import helper

    target = np.dtype(helper.tensor_dtype_to_np_dtype(int(attrs["to"])))
    if isinstance(ins[0], _Sym):
        return ins[0] if target.kind == "f" else None
    return _as_const(np.asarray(ins[0]).astype(target))


def _op_transpose(cv: _Converter, ins: list, attrs: dict, label: str):
    x = ins[0]
    nd = len(x.shape) if isinstance(x, _Sym) else np.ndim(x)
    perm = [int(p) for p in attrs.get("perm", range(nd - 1, -1, -1))]
    if isinstance(x, _Sym):
        return _Sym(x.t.transpose([0] + [p + 1 for p in perm]), x.seg)
    return np.transpose(x, perm)


def _op_concat(cv: _Converter, ins: list, attrs: dict, label: str):
    axis = int(attrs["axis"])
    if not any(isinstance(v, _Sym) for v in ins):
        return np.concatenate(ins, axis=axis)
    parts = [v if isinstance(v, _Sym) else cv._promote(np.asarray(v, dtype=np.float64)) for v in ins]
    nd = len(parts[0].shape)
    return _Sym(np.concatenate([p.t for p in parts], axis=(axis % nd) + 1), parts[0].seg)


def _const_only(fn: Callable[[list, dict], np.ndarray], sym_ok: bool = False) -> Handler:
    def handler(cv: _Converter, ins: list, attrs: dict, label: str):
        if any(isinstance(v, _Sym) for v in ins[1:]) or (ins and isinstance(ins[0], _Sym) and not sym_ok):
            return None
        return _as_const(fn(ins, attrs))
    return handler


def _shape(ins: list, attrs: dict) -> np.ndarray:
    x = ins[0]
    shape = x.shape if isinstance(x, _Sym) else np.shape(x)
    start, end = int(attrs.get("start", 0)), attrs.get("end")
    return np.array(shape[start:None if end is None else int(end)], dtype=np.int64)


def _constant(ins: list, attrs: dict) -> np.ndarray:
    from onnx import numpy_helper

    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key in ("value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            return np.asarray(attrs[key], dtype=np.float32 if "float" in key else np.int64)
    raise ValueError("Constant without a numeric value")


_HANDLERS: dict[str, Handler] = {
    "Add": _op_add,
    "Sub": lambda cv, ins, attrs, label: _op_add(cv, ins, attrs, label, negate=True),
    "Neg": lambda cv, ins, attrs, label: _affine(ins[0], lambda s: -s),
    "Mul": _op_mul,
    "Div": lambda cv, ins, attrs, label: _op_mul(cv, ins, attrs, label, divide=True),
    "MatMul": _op_matmul,
    "Gemm": _op_gemm,
    "Relu": lambda cv, ins, attrs, label: _op_activation(cv, ins, attrs, label, "Relu"),
    "LeakyRelu": lambda cv, ins, attrs, label: _op_activation(cv, ins, attrs, label, "LeakyRelu"),
    "PRelu": lambda cv, ins, attrs, label: _op_activation(cv, ins, attrs, label, "PRelu"),
    "Conv": _op_conv,
    "AveragePool": _op_avgpool,
    "GlobalAveragePool": _op_global_avgpool,
    "BatchNormalization": _op_batchnorm,
    "Flatten": _reshape_like(_flatten_shape),
    "Reshape": _reshape_like(_reshape_shape),
    "Squeeze": _reshape_like(_squeeze_shape),
    "Unsqueeze": _reshape_like(_unsqueeze_shape),
    "Transpose": _op_transpose,
    "Concat": _op_concat,
    "Identity": lambda cv, ins, attrs, label: ins[0],
    "Dropout": lambda cv, ins, attrs, label: ins[0],
    "Cast": _op_cast,
    "Constant": _const_only(_constant),
    "Shape": _const_only(_shape, sym_ok=True),
    "Gather": _const_only(lambda ins, attrs: np.take(ins[0], np.asarray(ins[1]).astype(np.int64),
                                                     axis=int(attrs.get("axis", 0)))),
}


# ---------------------------------------------------------------------------------- check
def _check_with_onnxruntime(path: Path, model: Any, cv: _Converter, net: Network,
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
        raise NetworkFileError(f"{path}: onnxruntime cannot load the model ({_first_line(exc)}); "
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
                                   f"({_first_line(exc)}); the file may be invalid ONNX") from None
    ref = np.asarray(ref, dtype=np.float64).reshape(x.shape[0], -1)
    x64 = x.astype(np.float64)
    # Rounding allowance of the runtime: 1e3 eps (1.2e-4 in float32) relative to the larger of the
    # output scale and a hundredth of the largest partial sum of the forward pass.
    eps = float(np.finfo(cv.input_dtype).eps)
    tol = 1e3 * eps * max(float(np.abs(ref).max(initial=0.0)), 1e-2 * net.forward_scale(x64), 1e-300)
    check_conversion(net, x64, ref, tol, str(path), "onnxruntime",
                     "the graph uses an operator the loader misreads, please report it (or pass "
                     "check=False to skip the check)")
