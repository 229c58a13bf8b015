"""Read the input box of a VNN-LIB property (the bounds on ``X_i``), ignoring output constraints.

VNN-LIB (https://www.vnnlib.org) is SMT-LIB 2 with variables ``X_i`` (inputs) and ``Y_j`` (outputs).
A property's input set is, in the VNN-COMP benchmarks, a box written as bound assertions::

    (declare-const X_0 Real)
    (assert (<= X_0 0.5))
    (assert (>= X_0 -0.5))

This reader accepts ``<=``, ``>=``, ``<``, ``>`` and ``=`` with the variable on either side, numbers
in decimal or scientific notation (also SMT-LIB's ``(- 1.5)``), and conjunctions
``(assert (and ...))``. Repeated bounds on one input are intersected. Comparisons that mention an
output ``Y_j`` are output constraints and are ignored, at any nesting; a disjunction of input
constraints (several boxes) or a constraint that couples inputs is refused, since the result must
be one box.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import DomainError, EmptyDomainError
from .domains import Box

__all__ = ["read_vnnlib_box"]

_Expr = Union[str, list]
_VAR = re.compile(r"^([XY])_(\d+)$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_COMPARISONS = {"<=", ">=", "<", ">", "="}
#: SMT-LIB operators that may appear in an assertion; any other head of a formula is refused.
_OPERATORS = _COMPARISONS | {"and", "or", "not", "=>", "xor", "distinct", "ite", "+", "-", "*", "/"}


class _Token(str):
    """A token of the file that remembers its line (for messages)."""

    line: int = 0


def read_vnnlib_box(path: str | Path, input_dim: int | None = None) -> Box:
    """Read the input bounds of a VNN-LIB file as a :class:`Box`.

    Parameters
    ----------
    path : str or Path
        The ``.vnnlib`` file.
    input_dim : int, optional
        Number of network inputs. If given, the file must declare (or bound) exactly the inputs
        ``X_0 .. X_{input_dim-1}``; otherwise the dimension is the number of declared inputs.

    Returns
    -------
    Box
        ``lo <= x <= hi``; an input bounded by ``=`` (or equal bounds) gets ``lo == hi``.

    Raises
    ------
    DomainError
        The file is missing, not VNN-LIB (unbalanced parentheses, no input variables), has a
        non-numeric bound, an input without a lower or upper bound, a disjunction or coupling of
        inputs, or a dimension other than ``input_dim``.
    EmptyDomainError
        Some input's lower bound exceeds its upper bound.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DomainError(f"{path}: no such file; give the path of a .vnnlib property") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DomainError(f"{path}: cannot be read as a VNN-LIB text file ({type(exc).__name__})") from None
    forms = _parse(text, path)
    declared: set[int] = set()
    lo: dict[int, float] = {}
    hi: dict[int, float] = {}
    for form in forms:
        if not isinstance(form, list) or not form:
            raise DomainError(f"{path}: top-level item {_show(form)} is not an S-expression; "
                              "the file is not VNN-LIB")
        head = form[0]
        if head == "declare-const":
            if len(form) >= 2 and isinstance(form[1], str):
                match = _VAR.match(form[1])
                if match and match.group(1) == "X":
                    declared.add(int(match.group(2)))
        elif head == "assert":
            if len(form) != 2:
                raise DomainError(f"{path}: {_show(form)} must assert exactly one formula")
            _check_operators(form[1], path)
            _collect(form[1], lo, hi, path)
    return _make_box(path, declared, lo, hi, input_dim)


def _parse(text: str, path: Path) -> list[_Expr]:
    """S-expressions of ``text`` (comments removed) as nested lists of string tokens."""
    text = re.sub(r";[^\n]*", " ", text)  # keeps the newlines, so lines still count
    stack: list[list] = [[]]
    line, counted = 1, 0
    for match in re.finditer(r"\(|\)|[^\s()]+", text):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        token = _Token(match.group())
        token.line = line
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise DomainError(f"{path}: unbalanced ')' ; the file is not valid VNN-LIB")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise DomainError(f"{path}: {len(stack) - 1} unclosed '('; the file is truncated or not VNN-LIB")
    if not stack[0]:
        raise DomainError(f"{path}: is empty; expected VNN-LIB declarations and assertions")
    return stack[0]


def _check_operators(formula: _Expr, path: Path) -> None:
    """Refuse a formula whose operator is not SMT-LIB's (a typo such as ``<==``), naming it."""
    if not isinstance(formula, list):
        return
    if formula and isinstance(formula[0], str) and formula[0] not in _OPERATORS:
        head = formula[0]
        where = f"line {head.line}: " if isinstance(head, _Token) else ""
        raise DomainError(f"{path}: {where}unknown operator '{head}' in {_show(formula)}; VNN-LIB "
                          "bounds use <=, >=, <, >, = (combined with and / or)")
    for item in formula[1:] if formula and isinstance(formula[0], str) else formula:
        _check_operators(item, path)


def _show(expr: _Expr, limit: int = 60) -> str:
    text = expr if isinstance(expr, str) else "(" + " ".join(_show(e, limit) for e in expr) + ")"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _variables(expr: _Expr) -> set[tuple[str, int]]:
    if isinstance(expr, str):
        match = _VAR.match(expr)
        return {(match.group(1), int(match.group(2)))} if match else set()
    out: set[tuple[str, int]] = set()
    for item in expr:
        out |= _variables(item)
    return out


def _is_input_atom(expr: _Expr) -> bool:
    """A comparison that mentions inputs ``X_i`` and no output ``Y_j``."""
    if not (isinstance(expr, list) and expr and expr[0] in _COMPARISONS):
        return False
    kinds = {kind for kind, _ in _variables(expr)}
    return "X" in kinds and "Y" not in kinds


def _has_input_atom(expr: _Expr) -> bool:
    if _is_input_atom(expr):
        return True
    return isinstance(expr, list) and any(_has_input_atom(e) for e in expr[1:])


def _collect(formula: _Expr, lo: dict[int, float], hi: dict[int, float], path: Path) -> None:
    """Add the input bounds in ``formula`` to ``lo``/``hi``; skip constraints on outputs.

    A comparison that mentions any output ``Y_j`` is an output constraint and is skipped.
    """
    if not _has_input_atom(formula):
        return
    head = formula[0] if isinstance(formula, list) and formula else None
    if head == "and" or (head == "or" and len(formula) == 2):
        for part in formula[1:]:
            _collect(part, lo, hi, path)
        return
    if _is_input_atom(formula) and len(formula) == 3:
        op, left, right = formula
        var_left = _input_index(left)
        var_right = _input_index(right)
        if var_left is not None and var_right is None:
            _bound(var_left, op, _number(right, formula, path), lo, hi)
            return
        if var_right is not None and var_left is None:
            flipped = {"<=": ">=", ">=": "<=", "<": ">", ">": "<", "=": "="}[op]
            _bound(var_right, flipped, _number(left, formula, path), lo, hi)
            return
    if head == "or":
        raise DomainError(f"{path}: {_show(formula)} is a disjunction of input constraints; only one "
                          "box is supported (split the property into one file per box)")
    raise DomainError(f"{path}: {_show(formula)} is not a bound of one input X_i by a number; only "
                      "box constraints on inputs are supported")


def _input_index(expr: _Expr) -> int | None:
    if isinstance(expr, str):
        match = _VAR.match(expr)
        if match and match.group(1) == "X":
            return int(match.group(2))
    return None


def _number(expr: _Expr, formula: _Expr, path: Path) -> float:
    if isinstance(expr, list) and len(expr) == 2 and expr[0] == "-":
        return -_number(expr[1], formula, path)
    if isinstance(expr, str) and _NUMBER.match(expr):
        value = float(expr)
        if np.isfinite(value):
            return value
    raise DomainError(f"{path}: in {_show(formula)}, {_show(expr)} is not a finite number; input "
                      "bounds must be numeric constants")


def _bound(i: int, op: str, value: float, lo: dict[int, float], hi: dict[int, float]) -> None:
    if op in ("<=", "<", "="):
        hi[i] = min(hi.get(i, np.inf), value)
    if op in (">=", ">", "="):
        lo[i] = max(lo.get(i, -np.inf), value)


def _make_box(path: Path, declared: set[int], lo: dict[int, float], hi: dict[int, float],
              input_dim: int | None) -> Box:
    indices = declared | set(lo) | set(hi)
    if not indices:
        raise DomainError(f"{path}: declares and bounds no input X_i; the file is not a VNN-LIB "
                          "property")
    dim = max(indices) + 1
    if input_dim is not None and dim != int(input_dim):
        raise DomainError(f"{path}: has inputs X_0..X_{dim - 1} but the network takes {input_dim}; "
                          "use the property written for this network")
    for i in range(dim):
        for side, bounds in (("lower", lo), ("upper", hi)):
            if i not in bounds:
                raise DomainError(f"{path}: input X_{i} has no {side} bound; the input set must be a "
                                  "bounded box")
    lo_arr = np.array([lo[i] for i in range(dim)])
    hi_arr = np.array([hi[i] for i in range(dim)])
    bad = np.flatnonzero(lo_arr > hi_arr)
    if bad.size:
        i = int(bad[0])
        raise EmptyDomainError(f"{path}: input X_{i} has lower bound {lo_arr[i]:g} above its upper "
                               f"bound {hi_arr[i]:g}; the property's input set is empty")
    return Box(lo_arr, hi_arr)
