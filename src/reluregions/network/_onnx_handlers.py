"""Operator handlers of the ONNX loader: each maps one node's inputs to its output.

An input-dependent tensor is a :class:`Sym`, an affine function of the current layer's input ``u``
(an array ``t`` of shape ``(1 + n, *shape)``: row 0 the offset, row ``1 + j`` the image of ``e_j``);
a handler applies an operator's linear part to every row and adds its bias to row 0 only
(DESIGN.md §1: convolutions, batch norm, pooling and flatten are affine). Constants are folded with
numpy. A handler returns ``None`` when an operator is used in a way that is not affine in the input.
The graph walk that calls them is :mod:`reluregions.network._onnx_graph`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._onnx_ops import avgpool, conv

if TYPE_CHECKING:  # pragma: no cover
    from ._onnx_graph import Converter

__all__ = ["SUPPORTED_OPS", "HANDLERS", "Sym", "as_const"]

#: Operator types the loader understands (on input-dependent tensors or, for the last group,
#: on constants only).
SUPPORTED_OPS = ("Gemm, MatMul, Add, Sub, Neg, Mul and Div by a constant, Relu, LeakyRelu, PRelu "
                 "with one constant slope, Conv, BatchNormalization (inference), AveragePool, "
                 "GlobalAveragePool, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, "
                 "Identity, Dropout, Cast to a float type, Constant; and on constants also Shape "
                 "and Gather")


@dataclass
class Sym:
    """An input-dependent tensor: ``value(u) = t[0] + sum_j u_j t[1 + j]``, computed in layer ``seg``."""

    t: np.ndarray
    seg: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.t.shape[1:])


def as_const(a: Any) -> np.ndarray:
    """A constant as an array, floating point values as float64."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind in "fc" else a


# A handler gets the converter, the input values (ndarray, Sym or None), the attributes and a
# label, and returns the output value, or None when the combination is not affine.
Handler = Callable[["Converter", list, dict, str], "np.ndarray | Sym | None"]


def _affine(x: np.ndarray | Sym, linear: Callable[[np.ndarray], np.ndarray],
            bias: np.ndarray | None = None) -> np.ndarray | Sym:
    """Apply ``linear`` (acting on arrays with one leading stack axis) and add ``bias``."""
    if isinstance(x, Sym):
        t = np.array(linear(x.t), dtype=np.float64)
        if bias is not None:
            t[0] = t[0] + bias
        return Sym(t, x.seg)
    y = linear(np.asarray(x, dtype=np.float64)[None])[0]
    return y + bias if bias is not None else y


def _lift(t: np.ndarray, ndim: int) -> np.ndarray:
    """Insert axes after the stack axis so the tensor part of ``t`` has ``ndim`` dimensions."""
    extra = ndim - (t.ndim - 1)
    return t.reshape((t.shape[0],) + (1,) * extra + t.shape[1:]) if extra > 0 else t


def _op_add(cv: Converter, ins: list, attrs: dict, label: str, negate: bool = False):
    a, b = ins
    if negate:
        b = Sym(-b.t, b.seg) if isinstance(b, Sym) else -b
    if not isinstance(a, Sym) and not isinstance(b, Sym):
        return a + b
    a = a if isinstance(a, Sym) else cv._promote(np.asarray(a, dtype=np.float64))
    b = b if isinstance(b, Sym) else cv._promote(np.asarray(b, dtype=np.float64))
    shape = np.broadcast_shapes(a.shape, b.shape)
    ta, tb = _lift(a.t, len(shape)), _lift(b.t, len(shape))
    return Sym(ta + tb, a.seg)


def _op_mul(cv: Converter, ins: list, attrs: dict, label: str, divide: bool = False):
    a, b = ins
    if isinstance(b, Sym):
        if divide or isinstance(a, Sym):
            return None
        a, b = b, a
    if not isinstance(a, Sym):
        return a / b if divide else a * b
    c = np.asarray(b, dtype=np.float64)
    nd = max(len(a.shape), c.ndim)
    return Sym(_lift(a.t, nd) / c if divide else _lift(a.t, nd) * c, a.seg)


def _op_matmul(cv: Converter, ins: list, attrs: dict, label: str):
    a, b = ins
    if isinstance(a, Sym) and isinstance(b, Sym):
        return None
    if not isinstance(a, Sym) and not isinstance(b, Sym):
        return np.matmul(a, b)
    if isinstance(a, Sym):
        return Sym(_matmul_sym_left(a.t, np.asarray(b, dtype=np.float64)), a.seg)
    return Sym(_matmul_sym_right(np.asarray(a, dtype=np.float64), b.t), b.seg)


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


def _op_gemm(cv: Converter, ins: list, attrs: dict, label: str):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if isinstance(c, Sym) or (isinstance(a, Sym) and isinstance(b, Sym)):
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
    if isinstance(b, Sym):
        return _affine(b, lambda s: linear(s, False), bias)
    return _affine(a, lambda s: linear(s, True), bias)


def _op_activation(cv: Converter, ins: list, attrs: dict, label: str, kind: str):
    x = ins[0]
    if kind == "Relu":
        slope = 0.0
    elif kind == "LeakyRelu":
        slope = float(attrs.get("alpha", 0.01))
    else:  # PRelu with a constant, uniform slope
        s = ins[1]
        if isinstance(s, Sym) or np.size(s) == 0 or not np.all(np.asarray(s) == np.ravel(s)[0]):
            return None
        slope = float(np.ravel(s)[0])
    if not isinstance(x, Sym):
        return np.where(x > 0, x, slope * x)
    return cv._activation(x, slope, label)


def _stacked(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Apply an (N, C, ...) operator to a stack (k, N, C, ...) by merging the first two axes."""
    def apply(s: np.ndarray) -> np.ndarray:
        y = fn(s.reshape((s.shape[0] * s.shape[1], *s.shape[2:])))
        return y.reshape((s.shape[0], s.shape[1], *y.shape[1:]))
    return apply


def _op_conv(cv: Converter, ins: list, attrs: dict, label: str):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    if isinstance(w, Sym) or isinstance(b, Sym):
        return None
    w = np.asarray(w, dtype=np.float64)
    if w.ndim > 5:
        return None
    bias = None if b is None else np.asarray(b, dtype=np.float64).reshape((-1,) + (1,) * (w.ndim - 2))
    return _affine(x, _stacked(lambda s: conv(s, w, attrs)), bias)


def _op_avgpool(cv: Converter, ins: list, attrs: dict, label: str):
    return _affine(ins[0], _stacked(lambda s: avgpool(s, attrs, label)))


def _op_global_avgpool(cv: Converter, ins: list, attrs: dict, label: str):
    return _affine(ins[0], lambda s: s.mean(axis=tuple(range(3, s.ndim)), keepdims=True))


def _op_batchnorm(cv: Converter, ins: list, attrs: dict, label: str):
    x, params = ins[0], ins[1:5]
    if any(isinstance(p, Sym) for p in params) or int(attrs.get("training_mode", 0)) \
            or int(attrs.get("spatial", 1)) != 1:
        return None
    gamma, beta, mean, var = (np.asarray(p, dtype=np.float64) for p in params)
    scale = gamma / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
    nd = (x.t.ndim - 1 if isinstance(x, Sym) else np.ndim(x)) - 2
    shape = (-1,) + (1,) * nd
    return _affine(x, lambda s: s * scale.reshape(shape), (beta - mean * scale).reshape(shape))


def _reshape_like(new_shape: Callable[[tuple[int, ...], list, dict], tuple[int, ...]]) -> Handler:
    def handler(cv: Converter, ins: list, attrs: dict, label: str):
        x = ins[0]
        if isinstance(x, Sym):
            return Sym(x.t.reshape((x.t.shape[0], *new_shape(x.shape, ins, attrs))), x.seg)
        return np.reshape(x, new_shape(np.shape(x), ins, attrs))
    return handler


def _flatten_shape(shape: tuple[int, ...], ins: list, attrs: dict) -> tuple[int, ...]:
    axis = int(attrs.get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    return (int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64)))


def _reshape_shape(shape: tuple[int, ...], ins: list, attrs: dict) -> tuple[int, ...]:
    if len(ins) < 2 or isinstance(ins[1], Sym):
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


def _op_cast(cv: Converter, ins: list, attrs: dict, label: str):
    from onnx import helper

    target = np.dtype(helper.tensor_dtype_to_np_dtype(int(attrs["to"])))
    if isinstance(ins[0], Sym):
        return ins[0] if target.kind == "f" else None
    return as_const(np.asarray(ins[0]).astype(target))


def _op_transpose(cv: Converter, ins: list, attrs: dict, label: str):
    x = ins[0]
    nd = len(x.shape) if isinstance(x, Sym) else np.ndim(x)
    perm = [int(p) for p in attrs.get("perm", range(nd - 1, -1, -1))]
    if isinstance(x, Sym):
        return Sym(x.t.transpose([0] + [p + 1 for p in perm]), x.seg)
    return np.transpose(x, perm)


def _op_concat(cv: Converter, ins: list, attrs: dict, label: str):
    axis = int(attrs["axis"])
    if not any(isinstance(v, Sym) for v in ins):
        return np.concatenate(ins, axis=axis)
    parts = [v if isinstance(v, Sym) else cv._promote(np.asarray(v, dtype=np.float64)) for v in ins]
    nd = len(parts[0].shape)
    return Sym(np.concatenate([p.t for p in parts], axis=(axis % nd) + 1), parts[0].seg)


def _const_only(fn: Callable[[list, dict], np.ndarray], sym_ok: bool = False) -> Handler:
    def handler(cv: Converter, ins: list, attrs: dict, label: str):
        if any(isinstance(v, Sym) for v in ins[1:]) or (ins and isinstance(ins[0], Sym) and not sym_ok):
            return None
        return as_const(fn(ins, attrs))
    return handler


def _shape(ins: list, attrs: dict) -> np.ndarray:
    x = ins[0]
    shape = x.shape if isinstance(x, Sym) else np.shape(x)
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


HANDLERS: dict[str, Handler] = {
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

