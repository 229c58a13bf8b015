"""Architecture specs for PyTorch state dicts: ``"Linear(2, 8), ReLU, Linear(8, 1)"`` to an
``nn.Sequential``, with literal arguments only (nothing in the string is executed)."""
from __future__ import annotations

import ast
from typing import Any

from ..errors import MissingDependencyError, OptionError

__all__ = ["parse_architecture", "SUPPORTED_LAYERS"]

#: Layer types (``torch.nn`` class names) the converter understands.
SUPPORTED_LAYERS = ("Linear", "ReLU", "LeakyReLU", "Flatten", "Unflatten", "Identity", "Dropout",
                    "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d", "AvgPool1d", "AvgPool2d")
_INSTALL = "pip install 'reluregions[torch]'"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(f"reading PyTorch models needs torch; {_INSTALL}") from None
    return torch


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def parse_architecture(spec: str) -> Any:
    """Build an ``nn.Sequential`` from an architecture spec like ``"Linear(2,8),ReLU,Linear(8,1)"``.

    Only the layers in :data:`SUPPORTED_LAYERS` and ``Sequential`` are allowed, with literal
    arguments; nothing in the string is executed.

    Raises
    ------
    OptionError
        The spec is not of that form, names another layer, or has arguments the layer rejects.
    """
    torch = _torch()
    try:
        tree = ast.parse(f"[{spec}]", mode="eval").body
    except SyntaxError:
        raise OptionError(f"architecture spec {spec!r} is not a comma-separated list of layers "
                          "such as 'Linear(2,8),ReLU,Linear(8,1)'") from None
    if not isinstance(tree, ast.List) or not tree.elts:
        raise OptionError(f"architecture spec {spec!r} names no layers")
    return torch.nn.Sequential(*(_build_layer(node, spec) for node in tree.elts))


def _build_layer(node: ast.AST, spec: str) -> Any:
    torch = _torch()
    if isinstance(node, ast.Name):
        name, args, kwargs = node.id, [], {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name == "Sequential":
            if node.keywords:
                raise OptionError(f"architecture spec {spec!r}: Sequential takes layers only")
            return torch.nn.Sequential(*(_build_layer(a, spec) for a in node.args))
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            raise OptionError(f"architecture spec {spec!r}: arguments of {name} must be literal "
                              "numbers, tuples, booleans or strings") from None
        if len(kwargs) != len(node.keywords):
            raise OptionError(f"architecture spec {spec!r}: '**' arguments are not allowed")
    else:
        raise OptionError(f"architecture spec {spec!r}: cannot read '{ast.unparse(node)}' as a layer; "
                          "write Name or Name(args)")
    if name not in SUPPORTED_LAYERS:
        raise OptionError(f"architecture spec {spec!r}: unknown layer '{name}'; choose from "
                          f"{', '.join(SUPPORTED_LAYERS)} or Sequential")
    try:
        return getattr(torch.nn, name)(*args, **kwargs)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise OptionError(f"architecture spec {spec!r}: {name}{tuple(args)} is invalid "
                          f"({_first_line(exc)})") from None
