"""Tests of the VNN-LIB input-box reader on real VNN-COMP properties and on hand-written variants."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reluregions.domains import Box
from reluregions.domains.vnnlib import read_vnnlib_box
from reluregions.errors import DomainError, EmptyDomainError
from reluregions.network import load_npz

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("vnnlib, npz", [
    ("prop_3.vnnlib", "acasxu_1_1_prop3.npz"),
    ("vdp_0.vnnlib", "vdp_prop0.npz"),
    ("property_N=8_0.vnnlib", "tll_N8_prop0.npz"),
])
def test_real_properties_give_the_npz_box(vnnlib, npz):
    net, (lo, hi) = load_npz(DATA / "onnx" / npz)
    box = read_vnnlib_box(DATA / "vnnlib" / vnnlib, input_dim=net.input_dim)
    assert isinstance(box, Box)
    np.testing.assert_array_equal(box.lo, lo)
    np.testing.assert_array_equal(box.hi, hi)


def test_fixed_coordinate_of_acas_property_4():
    box = read_vnnlib_box(DATA / "vnnlib" / "prop_4.vnnlib")
    assert box.input_dim == 5
    assert box.lo[2] == box.hi[2] == 0.0
    assert box.parametrize().dim == 4
    np.testing.assert_array_equal(box.hi, [-0.298552812, 0.009549297, 0.0, 0.5, 0.166666667])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.vnnlib"
    path.write_text(text)
    return path


def test_and_forms_reversed_order_scientific_and_smtlib_negation(tmp_path):
    text = """
    ; a comment (with parentheses
    (declare-const X_0 Real) (declare-const X_1 Real) (declare-const X_2 Real)
    (declare-const Y_0 Real)
    (assert (and (<= X_0 1.5e-1) (>= X_0 -2E-2) (and (<= -3 X_1) (>= 4. X_1))))
    (assert (<= X_2 (- 0.5)))
    (assert (>= X_2 -1))
    (assert (< X_2 0))          ; looser bound: intersected away
    (assert (or (and (<= Y_0 X_0) (>= Y_0 2)) (<= Y_0 -1)))
    (assert (<= Y_0 3))
    """
    box = read_vnnlib_box(_write(tmp_path, text), input_dim=3)
    np.testing.assert_array_equal(box.lo, [-0.02, -3.0, -1.0])
    np.testing.assert_array_equal(box.hi, [0.15, 4.0, -0.5])


def test_equality_and_single_branch_or(tmp_path):
    text = "(declare-const X_0 Real)(declare-const X_1 Real)\n" \
           "(assert (= X_0 0.25))\n(assert (or (and (<= X_1 1) (>= X_1 0))))"
    box = read_vnnlib_box(_write(tmp_path, text))
    np.testing.assert_array_equal(box.lo, [0.25, 0.0])
    np.testing.assert_array_equal(box.hi, [0.25, 1.0])


@pytest.mark.parametrize("text, match", [
    ("(declare-const X_0 Real)\n(assert (<= X_0 1))", "X_0 has no lower bound"),
    ("(declare-const X_0 Real)(declare-const X_1 Real)\n(assert (<= X_0 1))(assert (>= X_0 0))",
     "X_1 has no lower bound"),
    ("(declare-const X_0 Real)\n(assert (<= X_0 one))(assert (>= X_0 0))", "not a finite number"),
    ("(declare-const X_0 Real)\n(assert (<= X_0 inf))(assert (>= X_0 0))", "not a finite number"),
    ("(declare-const X_0 Real)\n(assert (<= X_0 1)", "unclosed"),
    ("(declare-const X_0 Real))", "unbalanced"),
    ("", "empty"),
    ("(declare-const Y_0 Real)\n(assert (<= Y_0 1))", "no input"),
    ("this is not vnnlib", "not an S-expression"),
    ("(declare-const X_0 Real)(declare-const X_1 Real)\n(assert (<= X_0 X_1))", "not a bound"),
    ("(declare-const X_0 Real)\n(assert (or (<= X_0 1) (>= X_0 2)))", "disjunction"),
    ("(declare-const X_0 Real)\n(assert (<= (+ X_0 1) 2))", "not a bound"),
])
def test_malformed_properties(tmp_path, text, match):
    with pytest.raises(DomainError, match=match) as info:
        read_vnnlib_box(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_wrong_dimension_empty_box_and_unreadable_files(tmp_path):
    with pytest.raises(DomainError, match="network takes 3"):
        read_vnnlib_box(DATA / "vnnlib" / "prop_3.vnnlib", input_dim=3)
    empty = _write(tmp_path, "(declare-const X_0 Real)(assert (<= X_0 0))(assert (>= X_0 1))")
    with pytest.raises(EmptyDomainError, match="X_0"):
        read_vnnlib_box(empty)
    with pytest.raises(DomainError, match="no such file"):
        read_vnnlib_box(tmp_path / "absent.vnnlib")
    binary = tmp_path / "b.vnnlib"
    binary.write_bytes(b"\xff\xfe\x00\x80")
    with pytest.raises(DomainError, match="cannot be read"):
        read_vnnlib_box(binary)
