"""The ONNX graph walk: nodes in topological order, constants folded, affine operators merged.

Every Relu/LeakyRelu closes a hidden layer; whatever follows the last activation is the affine
output layer (see :mod:`reluregions.network.onnx` for the representation). The operators
themselves are in :mod:`reluregions.network._onnx_handlers`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import NetworkFileError, ReluRegionsError, UnsupportedLayerError
from ._onnx_handlers import HANDLERS, SUPPORTED_OPS, Sym, as_const
from .model import Network

__all__ = ["Converter", "first_line"]

_FLOAT_TYPES = {1: np.float32, 10: np.float16, 11: np.float64}


def first_line(exc: BaseException) -> str:
    """The exception's type and the first line of its message, for one-line errors."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Converter:
    """Walks one graph in topological order, folding constants and merging affine operators."""

    def __init__(self, graph: Any, where: str) -> None:
        from onnx import numpy_helper

        self.graph, self.where = graph, where
        self.values: dict[str, np.ndarray | Sym] = {}
        for init in graph.initializer:
            try:
                self.values[init.name] = as_const(numpy_helper.to_array(init))
            except Exception as exc:
                raise NetworkFileError(f"{where}: initializer '{init.name}' cannot be read "
                                       f"({first_line(exc)}); the file may be corrupt") from None
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
        self.values[self.input_name] = Sym(basis.reshape((1 + n_in, *self.input_shape)), 0)
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

    def _promote(self, c: np.ndarray) -> Sym:
        t = np.zeros((self._rows(), *c.shape))
        t[0] = c
        return Sym(t, self.seg)

    def _rows(self) -> int:
        if self.layers:
            return 1 + self.layers[-1][0].shape[0]
        return 1 + int(np.prod(self.input_shape, dtype=np.int64))

    def _same_segment(self, syms: list[Sym], what: str) -> None:
        if any(s.seg != self.seg for s in syms):
            raise UnsupportedLayerError(
                f"{what} uses a tensor computed before the last activation (a skip connection or "
                "a branch); only chains of affine layers and activations are supported")

    def _close_layer(self, x: Sym) -> int:
        flat = x.t.reshape(x.t.shape[0], -1)
        self.layers.append((flat[1:].T.copy(), flat[0].copy()))
        return flat.shape[1]

    def _activation(self, x: Sym, slope: float, label: str) -> Sym:
        if self.slope is not None and self.slope[0] != slope:
            raise UnsupportedLayerError(
                f"{label} has negative slope {slope:g} but {self.slope[1]} has {self.slope[0]:g}; "
                "all activations must share one slope (ReLU is slope 0)")
        if self.slope is None:
            self.slope = (slope, label[len(self.where) + 2:])
        width = self._close_layer(x)
        self.seg += 1
        t = np.concatenate([np.zeros((1, width)), np.eye(width)]).reshape((1 + width, *x.shape))
        return Sym(t, self.seg)

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
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            raise UnsupportedLayerError(f"{label}: operator '{node.op_type}' is not supported (it is "
                                        f"not affine or ReLU); supported: {SUPPORTED_OPS}")
        ins = [self.values[n] if n else None for n in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        syms = [v for v in ins if isinstance(v, Sym)]
        if syms:
            self._same_segment(syms, label)
        try:
            result = handler(self, ins, attrs, label)
        except ReluRegionsError:
            raise
        except (ValueError, IndexError, TypeError, ZeroDivisionError) as exc:
            raise NetworkFileError(f"{label} cannot be evaluated ({first_line(exc)}); the model "
                                   "is malformed or uses an unusual attribute") from None
        if result is None:
            raise UnsupportedLayerError(f"{label}: this use of '{node.op_type}' is not affine in the "
                                        f"input (or needs a constant operand); supported: "
                                        f"{SUPPORTED_OPS}")
        if node.output:
            self.values[node.output[0]] = result

