"""Tests of the PyTorch loader: modules, the accepted file forms, and every error path."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from reluregions.errors import (ConversionMismatchError, InvalidWeightsError,  # noqa: E402
                                MissingDependencyError, NetworkFileError, OptionError,
                                ShapeMismatchError, UnsupportedLayerError)
from reluregions.network import load_network  # noqa: E402
from reluregions.network.torch import from_torch_module, load_torch, parse_architecture  # noqa: E402

CONV_SPEC = ("Conv2d(2, 4, 3, stride=2, padding=1, groups=2), BatchNorm2d(4), LeakyReLU(0.1), "
             "AvgPool2d(2, stride=1, padding=1, count_include_pad=False), Flatten, "
             "Sequential(Linear(64, 6), LeakyReLU(0.1)), Dropout(0.5), Linear(6, 3)")


@pytest.fixture
def conv_model() -> nn.Module:
    """A small conv net (input 2x6x6) with non-trivial batch-norm statistics, in eval mode."""
    torch.manual_seed(0)
    model = parse_architecture(CONV_SPEC)
    bn = model[1]
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    return model.eval()


def _torch_out(model: nn.Module, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    with torch.no_grad():
        y = model.double()(torch.from_numpy(x).reshape(len(x), *shape))
    return y.reshape(len(x), -1).numpy()


def _quiet_jit(fn, *args, **kwargs):
    with warnings.catch_warnings():   # torch.jit is deprecated in torch 2.x but still supported
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------------------------- modules
def test_conv_bn_pool_model_matches_torch(conv_model):
    net = from_torch_module(conv_model, input_shape=(2, 6, 6))
    assert net.input_dim == 72 and net.negative_slope == pytest.approx(0.1)
    assert net.hidden_widths == (36, 6) and net.output_dim == 3
    assert next(conv_model.parameters()).dtype == torch.float32    # the module is not modified
    x = np.random.default_rng(1).uniform(-3, 3, size=(50, 72))
    np.testing.assert_allclose(net.forward(x), _torch_out(conv_model, x, (2, 6, 6)), rtol=1e-10,
                               atol=1e-10)


def test_linear_model_infers_input_and_ends_with_identity():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Identity(), nn.Sequential(nn.Linear(3, 5), nn.ReLU()),
                          nn.Linear(5, 4), nn.ReLU(inplace=True))
    net = from_torch_module(model)
    assert net.input_dim == 3 and net.hidden_widths == (5, 4) and net.negative_slope == 0.0
    np.testing.assert_array_equal(net.weights[-1], np.eye(4))
    np.testing.assert_array_equal(net.weights[0], model[1][0].weight.detach().double().numpy())
    np.testing.assert_array_equal(net.biases[0], model[1][0].bias.detach().double().numpy())


def test_conv1d_batchnorm1d_avgpool1d():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv1d(1, 3, 3, padding=1), nn.BatchNorm1d(3), nn.ReLU(),
                          nn.AvgPool1d(2), nn.Flatten(), nn.Linear(6, 2)).eval()
    net = from_torch_module(model, input_shape=(1, 4))
    x = np.random.default_rng(2).uniform(-1, 1, size=(20, 4))
    np.testing.assert_allclose(net.forward(x), _torch_out(model, x, (1, 4)), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------- files
def test_state_dict_with_spec_or_module(tmp_path, conv_model):
    path = tmp_path / "sd.pt"
    torch.save(conv_model.state_dict(), path)
    x = np.random.default_rng(3).uniform(-1, 1, size=(10, 72))
    expected = _torch_out(conv_model, x, (2, 6, 6))
    net = load_torch(path, architecture=CONV_SPEC, input_shape=(2, 6, 6))
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-10, atol=1e-10)
    net = load_torch(path, architecture=parse_architecture(CONV_SPEC), input_shape=(2, 6, 6))
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-10, atol=1e-10)


def test_self_describing_dict_through_load_network(tmp_path, conv_model):
    path = tmp_path / "model.pth"
    torch.save({"state_dict": conv_model.state_dict(), "architecture": CONV_SPEC,
                "input_shape": (2, 6, 6)}, path)
    net, box = load_network(path)
    assert box is None and net.input_dim == 72
    x = np.random.default_rng(4).uniform(-1, 1, size=(10, 72))
    np.testing.assert_allclose(net.forward(x), _torch_out(conv_model, x, (2, 6, 6)), rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_files(tmp_path, conv_model, how):
    if how == "script":
        scripted = _quiet_jit(torch.jit.script, conv_model)
    else:
        scripted = _quiet_jit(torch.jit.trace, conv_model, torch.zeros(1, 2, 6, 6))
    path = tmp_path / f"{how}.pt"
    _quiet_jit(torch.jit.save, scripted, str(path))
    net = load_torch(path, input_shape=(2, 6, 6))
    x = np.random.default_rng(5).uniform(-1, 1, size=(10, 72))
    np.testing.assert_allclose(net.forward(x), _torch_out(conv_model, x, (2, 6, 6)), rtol=1e-10,
                               atol=1e-10)


def test_whole_pickled_module_is_refused(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(nn.Sequential(nn.Linear(2, 2)), path)
    with pytest.raises(NetworkFileError, match="unsafe unpickling") as info:
        load_torch(path)
    assert "state_dict" in str(info.value) and "TorchScript" in str(info.value)


def test_bad_files(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x02garbage that is not a torch file")
    with pytest.raises(NetworkFileError) as info:
        load_torch(corrupt)
    assert "\n" not in str(info.value)
    with pytest.raises(NetworkFileError, match="no such file"):
        load_torch(tmp_path / "absent.pt")
    bare = tmp_path / "bare.pt"
    torch.save(nn.Sequential(nn.Linear(2, 3)).state_dict(), bare)
    with pytest.raises(NetworkFileError, match="architecture"):
        load_torch(bare)
    with pytest.raises(NetworkFileError, match="missing"):
        load_torch(bare, architecture="Linear(2, 3), ReLU, Linear(3, 1)")
    with pytest.raises(ShapeMismatchError, match="weight"):
        load_torch(bare, architecture="Linear(2, 4)")
    not_state = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_state)
    with pytest.raises(NetworkFileError, match="not a state dict"):
        load_torch(not_state)
    bad_spec = tmp_path / "badspec.pt"
    torch.save({"state_dict": nn.Linear(2, 3).state_dict(), "architecture": "Linear(2,"}, bad_spec)
    with pytest.raises(NetworkFileError, match="stored architecture"):
        load_torch(bad_spec)


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("spec", ["Linear(2, 3), Sigmoid", "__import__('os').system('true')",
                                  "Linear(n, 3)", "Linear(2, 3, **{'bias': False})",
                                  "Linear(2, 3, frobnicate=1)", ""])
def test_bad_architecture_specs(spec):
    with pytest.raises(OptionError) as info:
        parse_architecture(spec)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("layer, name", [(nn.Sigmoid(), "Sigmoid"), (nn.MaxPool1d(1), "MaxPool1d"),
                                         (nn.Tanh(), "Tanh")])
def test_unsupported_layer_named_with_position(layer, name):
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), layer), nn.Linear(3, 1))
    with pytest.raises(UnsupportedLayerError) as info:
        from_torch_module(model)
    message = str(info.value)
    assert name in message and "layer 2" in message and "'1.1'" in message and "Linear" in message


def test_custom_module_and_mixed_slopes_rejected():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return torch.sigmoid(self.fc(x))

    with pytest.raises(UnsupportedLayerError, match="Sequential"):
        from_torch_module(Net())
    mixed = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.LeakyReLU(0.2))
    with pytest.raises(UnsupportedLayerError, match="slope"):
        from_torch_module(mixed)
    no_stats = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, track_running_stats=False))
    with pytest.raises(UnsupportedLayerError, match="running statistics"):
        from_torch_module(no_stats)


def test_shape_errors():
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1))
    with pytest.raises(ShapeMismatchError, match="input_shape"):
        from_torch_module(conv)
    with pytest.raises(ShapeMismatchError, match="input_shape"):
        from_torch_module(conv, input_shape=(1, 5, 5))   # 2*3*3 = 18 features, not 8
    with pytest.raises(OptionError):
        from_torch_module("not a module")


def test_nan_weights_rejected():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    with pytest.raises(InvalidWeightsError):
        from_torch_module(model, check=False)


def test_mismatch_detected_for_a_model_traced_in_training_mode(tmp_path):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)).train()
    traced = _quiet_jit(torch.jit.trace, model, torch.zeros(3, 4), check_trace=False)
    path = tmp_path / "train.pt"
    _quiet_jit(torch.jit.save, traced, str(path))
    with pytest.raises(ConversionMismatchError, match="torch"):
        load_torch(path)


def test_missing_torch_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'reluregions\[torch\]'"):
        parse_architecture("Linear(2, 2)")
    path = tmp_path / "m.pt"
    path.write_bytes(b"x")
    with pytest.raises(MissingDependencyError):
        load_torch(path)
