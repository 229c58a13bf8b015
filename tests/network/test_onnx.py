"""Tests of the ONNX loader: real VNN-COMP graphs, small graphs built with onnx.helper, error paths."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from reluregions.errors import (ConversionMismatchError, InvalidWeightsError,  # noqa: E402
                                MissingDependencyError, NetworkFileError, UnsupportedLayerError)
from reluregions.network import load_network, load_npz  # noqa: E402
from reluregions.network._onnx_handlers import HANDLERS  # noqa: E402
from reluregions.network.onnx import load_onnx  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "onnx"
RNG = np.random.default_rng(1234)


# ---------------------------------------------------------------------------------- helpers
def _init(name: str, array: np.ndarray, dtype=np.float32) -> TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def _save(tmp_path: Path, nodes: list, inits: list, in_shape: list, *, name: str = "m.onnx",
          elem: int = TensorProto.FLOAT, opset: int = 13, inputs: list | None = None,
          output: str = "y") -> Path:
    graph = helper.make_graph(
        nodes, "g",
        inputs or [helper.make_tensor_value_info("x", elem, in_shape)],
        [helper.make_tensor_value_info(output, elem, None)],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: x})[0], dtype=np.float64)


def _w(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape).astype(np.float32)


# ---------------------------------------------------------------------------------- real graphs
@pytest.mark.parametrize("onnx_name, npz_name, widths", [
    ("ACASXU_run2a_1_1_batch_2000.onnx", "acasxu_1_1_prop3.npz", (50,) * 6),
    ("vdp.onnx", "vdp_prop0.npz", (32, 32)),
    ("tllBench_n=2_N=M=8_m=1_instance_0_0.onnx", "tll_N8_prop0.npz", (128, 64, 32, 16, 8, 4)),
])
def test_real_graphs_reproduce_the_npz_function(onnx_name, npz_name, widths):
    net = load_onnx(DATA / onnx_name)  # also checked against onnxruntime
    ref, (lo, hi) = load_npz(DATA / npz_name)
    assert net.hidden_widths == widths
    assert net.input_dim == ref.input_dim and net.output_dim == ref.output_dim
    x = np.random.default_rng(0).uniform(lo, hi, size=(2000, lo.size))
    np.testing.assert_allclose(net.forward(x), ref.forward(x), rtol=1e-12, atol=1e-12)


def test_load_network_dispatches_onnx():
    net, box = load_network(DATA / "vdp.onnx")
    assert box is None and net.input_dim == 3 and net.hidden_widths == (32, 32)


# ---------------------------------------------------------------------------------- small graphs
def test_gemm_attributes_and_leaky_relu(tmp_path):
    w1, b1, w2, b2 = _w(4, 3), _w(4), _w(4, 2), _w(2)
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "B1"], ["h"], alpha=0.5, beta=2.0, transA=1, transB=1),
        helper.make_node("LeakyRelu", ["h"], ["a"], alpha=0.25),
        helper.make_node("Gemm", ["a", "W2", "B2"], ["y"]),
    ]
    path = _save(tmp_path, nodes, [_init("W1", w1), _init("B1", b1), _init("W2", w2), _init("B2", b2)],
                 [3, 1])
    net = load_onnx(path)
    assert net.negative_slope == pytest.approx(0.25)
    assert net.input_dim == 3 and net.hidden_widths == (4,) and net.output_dim == 2
    x = RNG.uniform(-1, 1, size=3).astype(np.float32)
    np.testing.assert_allclose(net.forward(x.astype(float)), _run_ort(path, x.reshape(3, 1)).ravel(),
                               rtol=1e-5, atol=1e-5)


def test_matmul_add_sub_mul_div_neg_merge_into_one_layer(tmp_path):
    w, b = _w(3, 5), _w(5)
    nodes = [
        helper.make_node("Sub", ["C", "x"], ["s"]),          # constant minus input
        helper.make_node("Mul", ["S", "s"], ["m"]),          # constant times input
        helper.make_node("Div", ["m", "D"], ["d"]),
        helper.make_node("MatMul", ["d", "W"], ["mm"]),
        helper.make_node("Add", ["B", "mm"], ["a"]),
        helper.make_node("Neg", ["a"], ["n"]),
        helper.make_node("Relu", ["n"], ["y"]),
    ]
    inits = [_init("C", _w(3)), _init("S", _w(3)), _init("D", [2.0]), _init("W", w), _init("B", b)]
    path = _save(tmp_path, nodes, inits, ["batch", 3])
    net = load_onnx(path)
    assert net.hidden_widths == (5,) and net.output_dim == 5
    np.testing.assert_array_equal(net.weights[-1], np.eye(5))   # graph ends with Relu
    x = RNG.uniform(-1, 1, size=(7, 3)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x.astype(float)), _run_ort(path, x), rtol=1e-5, atol=1e-5)


def _conv_graph(tmp_path: Path, name: str = "conv.onnx", auto_pad: str | None = None) -> Path:
    conv_attrs = dict(strides=[2, 1], group=2)
    # onnxruntime has no dilation with SAME padding
    conv_attrs.update({"auto_pad": auto_pad} if auto_pad else {"pads": [1, 0, 1, 2], "dilations": [1, 2]})
    nodes = [
        helper.make_node("Conv", ["x", "K", "KB"], ["c"], **conv_attrs),
        helper.make_node("BatchNormalization", ["c", "G", "BB", "M", "V"], ["bn"], epsilon=1e-3),
        helper.make_node("LeakyRelu", ["bn"], ["r"], alpha=0.1),
        helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2, 2], strides=[1, 2],
                         pads=[1, 1, 0, 0], count_include_pad=0),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "W", "B"], ["g"], transB=1),
        helper.make_node("LeakyRelu", ["g"], ["y"], alpha=0.1),
    ]
    inits = [_init("K", _w(4, 1, 3, 2)), _init("KB", _w(4)), _init("G", _w(4)), _init("BB", _w(4)),
             _init("M", _w(4)), _init("V", RNG.uniform(0.5, 2.0, 4))]
    probe = _save(tmp_path, nodes[:5], inits, [1, 2, 6, 5], name="probe.onnx", output="f")
    n_flat = _run_ort(probe, np.zeros((1, 2, 6, 5), np.float32)).shape[1]
    inits += [_init("W", _w(3, n_flat)), _init("B", _w(3))]
    return _save(tmp_path, nodes, inits, ["N", 2, 6, 5], name=name)


@pytest.mark.parametrize("auto_pad", [None, "SAME_UPPER", "SAME_LOWER"])
def test_conv_batchnorm_avgpool_lowered_to_dense(tmp_path, auto_pad):
    path = _conv_graph(tmp_path, auto_pad=auto_pad)
    net = load_onnx(path)
    assert net.input_dim == 60 and net.negative_slope == pytest.approx(0.1)
    assert len(net.hidden_widths) == 2 and net.output_dim == 3
    x = RNG.uniform(-2, 2, size=(16, 2, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x.reshape(16, -1).astype(float)),
                               _run_ort(path, x).reshape(16, -1), rtol=1e-4, atol=1e-4)


def test_reshape_transpose_shape_chain_and_global_pool(tmp_path):
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),                  # (1,12) -> (1,3,2,2)
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 1, 3, 2]),
        helper.make_node("GlobalAveragePool", ["t"], ["gp"]),               # (1,3,1,1)
        helper.make_node("Identity", ["t"], ["t2"]),
        helper.make_node("Shape", ["t2"], ["sh"]),
        helper.make_node("Gather", ["sh", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["fshape"], axis=0),
        helper.make_node("Reshape", ["t2", "fshape"], ["flat"]),            # (1, 12)
        helper.make_node("Flatten", ["gp"], ["gflat"]),                     # (1, 3)
        helper.make_node("Concat", ["flat", "gflat"], ["cat"], axis=1),      # (1, 15)
        helper.make_node("MatMul", ["cat", "W"], ["y"]),
    ]
    inits = [_init("shape", [1, 3, 2, 2], np.int64), _init("zero", 0, np.int64),
             _init("ax", [0], np.int64), _init("minus1", [-1], np.int64), _init("W", _w(15, 4))]
    path = _save(tmp_path, nodes, inits, [1, 12])
    net = load_onnx(path)
    assert net.input_dim == 12 and net.hidden_widths == () and net.output_dim == 4
    x = RNG.uniform(-1, 1, size=(1, 12)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x.astype(float)), _run_ort(path, x), rtol=1e-5, atol=1e-5)


def test_float64_model_and_dead_branch_and_constant_node(tmp_path):
    nodes = [
        helper.make_node("Constant", [], ["k"], value=_init("kv", [[1.5, -2.0], [0.5, 1.0]], np.float64)),
        helper.make_node("MatMul", ["x", "k"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Sigmoid", ["h"], ["unused"]),       # not on the path to the output
        helper.make_node("Squeeze", ["r", "ax"], ["y"]),
    ]
    path = _save(tmp_path, nodes, [_init("ax", [0], np.int64)], [1, 2], elem=TensorProto.DOUBLE)
    net = load_onnx(path)
    x = np.array([[0.3, -0.7]])
    np.testing.assert_allclose(net.forward(x), _run_ort(path, x).reshape(1, -1), rtol=1e-12)


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("op, attrs", [("Sigmoid", {}), ("MaxPool", {"kernel_shape": [2]})])
def test_unsupported_operator_is_named(tmp_path, op, attrs):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="fc"),
             helper.make_node(op, ["h"], ["y"], name="bad_node", **attrs)]
    shape = [1, 1, 4] if op == "MaxPool" else [1, 4]
    path = _save(tmp_path, nodes, [_init("W", _w(4, 4))], shape)
    with pytest.raises(UnsupportedLayerError) as info:
        load_onnx(path)
    message = str(info.value)
    assert op in message and "bad_node" in message and "node 1" in message
    assert "Gemm" in message and "\n" not in message       # says what is supported, one line


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage\xff\xff\xff\x00not a protobuf" * 3)
    with pytest.raises(NetworkFileError) as info:
        load_onnx(bad)
    assert "\n" not in str(info.value)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes((DATA / "vdp.onnx").read_bytes()[:1000])
    with pytest.raises(NetworkFileError):
        load_onnx(truncated)
    with pytest.raises(NetworkFileError, match="no such file"):
        load_onnx(tmp_path / "absent.onnx")


def test_nan_weights_rejected(tmp_path):
    w = _w(2, 2)
    w[0, 1] = np.nan
    path = _save(tmp_path, [helper.make_node("MatMul", ["x", "W"], ["y"])], [_init("W", w)], [1, 2])
    with pytest.raises(InvalidWeightsError):
        load_onnx(path, check=False)


def test_mixed_activation_slopes_rejected(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"], name="first"),
             helper.make_node("MatMul", ["r", "W"], ["h2"]),
             helper.make_node("LeakyRelu", ["h2"], ["y"], alpha=0.1, name="second")]
    path = _save(tmp_path, nodes, [_init("W", _w(2, 2))], [1, 2])
    with pytest.raises(UnsupportedLayerError, match="slope") as info:
        load_onnx(path)
    assert "first" in str(info.value) and "second" in str(info.value)


def test_skip_connection_and_nonlinear_uses_rejected(tmp_path):
    skip = [helper.make_node("MatMul", ["x", "W"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("Add", ["r", "h"], ["y"])]
    with pytest.raises(UnsupportedLayerError, match="skip connection"):
        load_onnx(_save(tmp_path, skip, [_init("W", _w(2, 2))], [1, 2], name="skip.onnx"))
    square = [helper.make_node("Mul", ["x", "x"], ["y"])]
    with pytest.raises(UnsupportedLayerError, match="Mul"):
        load_onnx(_save(tmp_path, square, [], [1, 2], name="square.onnx"))
    two_inputs = [helper.make_node("Add", ["x", "z"], ["y"])]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2]) for n in ("x", "z")]
    with pytest.raises(UnsupportedLayerError, match="2 inputs"):
        load_onnx(_save(tmp_path, two_inputs, [], [1, 2], inputs=inputs, name="two.onnx"))


def test_avgpool_ceil_mode_with_partial_window_rejected(tmp_path):
    nodes = [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                              ceil_mode=1)]
    with pytest.raises(UnsupportedLayerError, match="ceil_mode"):
        load_onnx(_save(tmp_path, nodes, [], [1, 1, 5, 5]))


def test_mismatch_with_onnxruntime_is_detected(tmp_path, monkeypatch):
    nodes = [helper.make_node("Neg", ["x"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    path = _save(tmp_path, nodes, [], [1, 3])
    monkeypatch.setitem(HANDLERS, "Neg", HANDLERS["Identity"])
    with pytest.raises(ConversionMismatchError, match="onnxruntime"):
        load_onnx(path)
    load_onnx(path, check=False)  # without the check the wrong conversion goes through


def test_missing_dependencies_name_the_install_command(tmp_path, monkeypatch):
    path = DATA / "vdp.onnx"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError, match=r"reluregions\[onnx\]"):
        load_onnx(path)
    load_onnx(path, check=False)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'reluregions\[onnx\]'"):
        load_onnx(path, check=False)
