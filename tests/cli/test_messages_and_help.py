"""Messages and help (issue 17, item 9): an unknown VNN-LIB operator is named with its line, errors
point to the README, and every command's --help shows examples (count lists every algorithm)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reluregions.cli.main import EXAMPLES, build_parser
from reluregions.domains.vnnlib import read_vnnlib_box
from reluregions.enumeration import ALGORITHMS
from reluregions.errors import DomainError

from .helpers import cli, one_line_error, write_net

TYPO = """; input box
(declare-const X_0 Real)
(declare-const X_1 Real)
(assert (<= X_0 1))
(assert (>= X_0 -1))
(assert (<== X_1 1))
(assert (>= X_1 -1))
"""


def test_unknown_vnnlib_operator_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "p.vnnlib").write_text(TYPO)
    with pytest.raises(DomainError, match=r"line 6: unknown operator '<=='"):
        read_vnnlib_box(tmp_path / "p.vnnlib")
    net = write_net(tmp_path / "net.npz")
    assert "line 6" in one_line_error(cli("count", net, "--vnnlib", tmp_path / "p.vnnlib"))


def test_bad_npz_points_to_the_readme(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", weights=np.ones((2, 2)))
    line = one_line_error(cli("info", tmp_path / "bad.npz"))
    assert "README" in line and "DESIGN" not in line


def test_every_command_help_has_examples() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # the subcommand parsers
    for name, sub in commands.items():
        text = sub.format_help()
        assert "examples:" in text and f"reluregions {name}" in text, name
    assert set(EXAMPLES) >= set(commands)


def test_count_help_lists_every_algorithm() -> None:
    proc = cli("count", "--help")
    assert proc.returncode == 0
    assert all(name in proc.stdout for name in ALGORITHMS)
    assert " | ".join(ALGORITHMS) in " ".join(proc.stdout.split())


def test_compile_notice_names_the_compiled_algorithm_that_will_run(monkeypatch, capsys) -> None:
    """Issue 17, item 6: the first run of a compiled traversal says it compiles (vertex in low
    dimension, lpdfs from 6 inputs); LP algorithms and cached kernels print nothing."""
    import numpy as np

    import importlib

    from reluregions import Box, EnumerationConfig, Network
    from reluregions.geometry import kernels

    notices = importlib.import_module("reluregions.cli.notices")

    def net(d: int) -> Network:
        rng = np.random.default_rng(d)
        return Network([rng.normal(size=(4, d)), rng.normal(size=(1, 4))],
                       [rng.normal(size=4), rng.normal(size=1)])

    monkeypatch.setattr(kernels, "numba_cached", lambda kernel: False)
    for d, algorithm, expected in ((2, "default", "vertex"), (8, "default", "lpdfs"),
                                   (8, "witness", None)):
        notices.compile_notice(net(d), EnumerationConfig(algorithm=algorithm), Box.symmetric(d))
        err = capsys.readouterr().err
        if expected is None:
            assert err == ""
        else:
            assert f"compiling the numba kernels of the {expected} algorithm" in err
    monkeypatch.setattr(kernels, "numba_cached", lambda kernel: True)
    notices.compile_notice(net(8), EnumerationConfig(), Box.symmetric(8))
    assert capsys.readouterr().err == ""
