"""PyTorch files from the command line (issue 17, item 8): a state dict with --architecture, the
self-describing dict, and a whole pickled model only with --trust-pickle (TorchScript and the
messages of each form are tested on ``load_torch`` in tests/network)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import cli, one_line_error

torch = pytest.importorskip("torch")

SPEC = "Linear(2, 6), ReLU, Linear(6, 1)"


def _model() -> "torch.nn.Sequential":
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1))


def _count(*args) -> int:
    proc = cli("count", *args, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[0].replace(",", ""))


def test_every_accepted_form_counts_the_same(tmp_path: Path) -> None:
    model = _model()
    torch.save(model.state_dict(), tmp_path / "state.pt")
    torch.save({"state_dict": model.state_dict(), "architecture": SPEC}, tmp_path / "dict.pt")
    counts = {_count(tmp_path / "state.pt", "--architecture", SPEC), _count(tmp_path / "dict.pt")}
    assert len(counts) == 1 and counts.pop() > 1


def test_pickled_model_needs_trust_pickle(tmp_path: Path) -> None:
    torch.save(_model(), tmp_path / "model.pt")
    line = one_line_error(cli("count", tmp_path / "model.pt"))
    assert "--trust-pickle" in line and "runs code" in line
    assert _count(tmp_path / "model.pt", "--trust-pickle") > 1


def test_missing_architecture_and_input_shape_name_the_options(tmp_path: Path) -> None:
    """A state dict without an architecture, and a conv net without an input shape, name the
    command line's options (--architecture, --input-shape), not the Python arguments alone."""
    torch.save(_model().state_dict(), tmp_path / "state.pt")
    line = one_line_error(cli("info", tmp_path / "state.pt"))
    assert "--architecture" in line
    conv_spec = "Conv2d(1, 2, 3), ReLU, Flatten, Linear(8, 1)"
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(8, 1))
    torch.save(conv.state_dict(), tmp_path / "conv.pt")
    line = one_line_error(cli("count", tmp_path / "conv.pt", "--architecture", conv_spec))
    assert "--input-shape" in line
    assert _count(tmp_path / "conv.pt", "--architecture", conv_spec, "--input-shape", "1,4,4",
                  "--algorithm", "witness") > 1
