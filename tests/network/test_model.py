"""The Network model: validation, forward pass against plain numpy, activation patterns."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invariants import random_net
from reluregions import InvalidWeightsError, Network, ShapeMismatchError


def _manual_forward(ws, bs, x, slope=0.0):
    h = np.atleast_2d(x)
    zs = []
    for w, b in zip(ws[:-1], bs[:-1]):
        z = h @ np.asarray(w).T + b
        zs.append(z)
        h = np.maximum(z, 0) + slope * np.minimum(z, 0)
    return h @ np.asarray(ws[-1]).T + bs[-1], zs


# ---------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("ws,bs,error", [
    ([np.ones((2, 2)) * np.nan, np.ones((1, 2))], [np.zeros(2), np.zeros(1)], InvalidWeightsError),
    ([np.ones((2, 2)), np.ones((1, 2))], [np.array([0, np.inf]), np.zeros(1)], InvalidWeightsError),
    ([np.ones((2, 2)), np.ones((1, 3))], [np.zeros(2), np.zeros(1)], ShapeMismatchError),
    ([np.ones((2, 2)), np.ones((1, 2))], [np.zeros(3), np.zeros(1)], ShapeMismatchError),
    ([np.ones((2, 2)), np.ones((1, 2))], [np.zeros(2)], ShapeMismatchError),
    ([np.ones(2)], [np.zeros(1)], ShapeMismatchError),
    ([], [], ShapeMismatchError),
], ids=["nan-weight", "inf-bias", "layer-mismatch", "bias-length", "missing-bias", "1d-weight",
        "no-layers"])
def test_network_validation_errors(ws, bs, error) -> None:
    with pytest.raises(error):
        Network(ws, bs)


@pytest.mark.parametrize("slope", [np.nan, np.inf])
def test_network_rejects_bad_slope(slope: float) -> None:
    with pytest.raises(InvalidWeightsError):
        Network([np.ones((1, 2))], [np.zeros(1)], negative_slope=slope)


def test_network_input_dimension_mismatch() -> None:
    net = random_net(3, (4,), 0)
    for method in (net.forward, net.pattern, net.pattern_margin, net.preactivations):
        with pytest.raises(ShapeMismatchError):
            method(np.zeros((5, 2)))


def test_network_copies_and_freezes_its_arrays() -> None:
    w = np.ones((2, 2))
    net = Network([w, np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    w[0, 0] = 7.0
    assert net.weights[0][0, 0] == 1.0
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 3.0
    assert net.weights[0].dtype == np.float64


# -------------------------------------------------------------------------------- properties
def test_network_shape_properties() -> None:
    net = random_net(3, (5, 4, 2), 1, n_out=2)
    assert net.input_dim == 3 and net.output_dim == 2
    assert net.hidden_widths == (5, 4, 2)
    assert net.n_hidden == 11
    assert net.n_parameters == (3 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2) + (2 * 2 + 2)
    assert "3" in repr(net)


def test_network_hash_is_stable_and_sensitive() -> None:
    net = random_net(2, (3,), 2)
    same = Network(net.weights, net.biases)
    leaky = Network(net.weights, net.biases, negative_slope=0.1)
    ws = [w.copy() for w in net.weights]
    ws[0][0, 0] += 1e-12
    nudged = Network(ws, net.biases)
    assert net.sha256 == same.sha256
    assert len({net.sha256, leaky.sha256, nudged.sha256}) == 3


def test_network_pickles() -> None:
    net = random_net(2, (4, 3), 3, negative_slope=0.2)
    back = pickle.loads(pickle.dumps(net))
    assert back.sha256 == net.sha256
    x = np.random.default_rng(0).standard_normal((10, 2))
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


# ----------------------------------------------------------------------------------- forward
@pytest.mark.parametrize("slope", [0.0, 0.1])
def test_forward_matches_numpy(slope: float) -> None:
    net = random_net(3, (6, 5), 4, negative_slope=slope, n_out=2)
    x = np.random.default_rng(1).standard_normal((100, 3))
    want, zs = _manual_forward(net.weights, net.biases, x, slope)
    np.testing.assert_allclose(net.forward(x), want, rtol=1e-12, atol=1e-12)
    for got, z in zip(net.preactivations(x), zs):
        np.testing.assert_allclose(got, z, rtol=1e-12, atol=1e-12)
    y1 = net.forward(x[0])
    assert y1.shape == (2,)
    np.testing.assert_allclose(y1, want[0])


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(d=st.integers(1, 4), widths=st.lists(st.integers(1, 6), min_size=0, max_size=3),
       seed=st.integers(0, 2**31 - 1), slope=st.sampled_from([0.0, 0.01, 0.5]))
def test_forward_and_pattern_property(d, widths, seed, slope) -> None:
    net = random_net(d, tuple(widths), seed, negative_slope=slope)
    x = np.random.default_rng(seed).standard_normal((20, d))
    want, zs = _manual_forward(net.weights, net.biases, x, slope)
    np.testing.assert_allclose(net.forward(x), want, rtol=1e-10, atol=1e-12)
    bits = net.pattern(x)
    assert bits.shape == (20, sum(widths)) and bits.dtype == bool
    if widths:
        np.testing.assert_array_equal(bits, np.concatenate([z > 0 for z in zs], axis=1))


def test_network_without_hidden_layers() -> None:
    net = Network([np.array([[1.0, -2.0]])], [np.array([0.5])])
    assert net.hidden_widths == () and net.n_hidden == 0
    x = np.array([[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(net.forward(x), [[-0.5], [0.5]])
    assert net.pattern(x).shape == (2, 0)
    bits, sure = net.pattern_margin(x)
    assert bits.shape == sure.shape == (2, 0)


# ----------------------------------------------------------------------------------- pattern
def test_pattern_margin_flags_points_on_a_hyperplane() -> None:
    # neuron 0 vanishes on x = y; neuron 1 is x + y + 1
    net = Network([np.array([[1.0, -1.0], [1.0, 1.0]]), np.ones((1, 2))], [np.array([0.0, 1.0]), [0.0]])
    x = np.array([[0.3, 0.3], [0.3, 0.1], [0.1, 0.3]])
    bits, sure = net.pattern_margin(x)
    np.testing.assert_array_equal(sure, [[False, True], [True, True], [True, True]])
    np.testing.assert_array_equal(bits[1:], [[True, True], [False, True]])
    np.testing.assert_array_equal(bits, net.pattern(x))


def test_pattern_margin_flags_identically_zero_neurons() -> None:
    # layer-2 neuron = relu(x) - relu(x): identically zero, its rounded sign is noise
    a = np.array([[0.1, 0.7]])
    net = Network([np.vstack([a, a]), np.array([[1.0, -1.0]]), np.ones((1, 1))],
                  [np.array([0.2, 0.2]), np.array([0.0]), np.zeros(1)])
    x = np.random.default_rng(5).uniform(-1, 1, (200, 2))
    bits, sure = net.pattern_margin(x)
    assert not sure[:, 2].any()
    active = (x @ a.T + 0.2)[:, 0] > 0
    np.testing.assert_array_equal(bits[:, 0], active)
    assert sure[:, :2].all()


def test_pattern_margin_tolerance_is_relative() -> None:
    net = Network([np.array([[1e6, 0.0]]), np.ones((1, 1))], [np.array([-1e6]), np.zeros(1)])
    x = np.array([[1.0 + 1e-12, 0.0], [1.0 + 1e-6, 0.0]])
    _, sure = net.pattern_margin(x, rel_tol=1e-9)
    np.testing.assert_array_equal(sure[:, 0], [False, True])


@pytest.mark.parametrize("arrays,error", [
    ({"W0": np.array([[np.nan, 1.0]]), "b0": np.zeros(1), "W1": np.ones((1, 1)), "b1": np.zeros(1)},
     InvalidWeightsError),
    ({"W0": np.ones((3, 2)), "b0": np.zeros(3), "W1": np.ones((1, 4)), "b1": np.zeros(1)},
     ShapeMismatchError),
], ids=["nan", "shape"])
def test_invalid_network_file_errors_name_the_file(tmp_path, arrays, error) -> None:
    """A NaN or a shape mismatch read from a file says which file (issue 17: bad input)."""
    from reluregions.network import load_network

    path = tmp_path / "bad_net.npz"
    np.savez(path, **arrays)
    with pytest.raises(error) as info:
        load_network(path)
    assert str(info.value).startswith(f"{path}: ") and str(info.value).count(str(path)) == 1
