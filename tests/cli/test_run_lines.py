"""What count and enumerate print: the certificate's line, workers in the singular, and the notice
that numba compiles the certificate's kernel first."""
from __future__ import annotations

import importlib
import selectors
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from reluregions import Box, EnumerationConfig, Network, WholeSpace

from .helpers import cli, env, write_net

CERTIFIED = "certified: "


def _certificate_lines(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line.startswith(CERTIFIED)]


def test_enumerate_certify_prints_the_certificate_line_of_count(tmp_path: Path) -> None:
    """enumerate --certify prints count --certify's "certified: ..." line, and the line names
    constraints matched by a neighbour (which may touch a region in a lower-dimensional face),
    not facets."""
    net = write_net(tmp_path / "net.npz")
    counted = _certificate_lines(cli("count", net, "--certify", "--workers", "1"))
    written = _certificate_lines(cli("enumerate", net, "--certify", "--out",
                                     tmp_path / "r.parquet", "--workers", "1"))
    assert len(counted) == 1 and written == counted
    assert "constraints matched by a neighbour" in counted[0] and "facet" not in counted[0]


def test_one_worker_is_singular(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    proc = cli("count", net, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "1 worker)" in proc.stdout and "1 workers" not in proc.stdout


# ------------------------------------------------------------------------ the compile notice
def _first_notice(args: list[str], cache: Path, cwd: Path, timeout: float = 60) -> str | None:
    """Run the CLI with numba's cache in the empty folder ``cache`` until it prints the compile
    notice (then stop it: the compilation itself is not waited for); the notice, or None when
    the run ends, or ``timeout`` passes, without one."""
    proc = subprocess.Popen([sys.executable, "-m", "reluregions", *map(str, args)], cwd=cwd,
                            env=dict(env(), NUMBA_CACHE_DIR=str(cache)), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stderr, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not sel.select(timeout=max(deadline - time.monotonic(), 0.01)):
                    continue
                line = proc.stderr.readline()
                if not line:
                    return None
                if "compiling the numba kernels" in line:
                    return line.strip()
        return None
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def test_certify_says_that_it_compiles_the_certificate_first(tmp_path: Path) -> None:
    """count, enumerate and verify with --certify, with numba's cache empty, print one notice that
    the certificate's kernels compile (count and enumerate name the traversal's too)."""
    net = write_net(tmp_path / "net.npz")
    regions = tmp_path / "r.parquet"
    made = cli("enumerate", net, "--out", regions, "--workers", "1")
    assert made.returncode == 0, made.stderr
    runs = {"count": ["count", net, "--certify", "--workers", "1"],
            "enumerate": ["enumerate", net, "--certify", "--out", tmp_path / "c.parquet",
                          "--workers", "1"],
            "verify": ["verify", regions, net, "--certify", "--workers", "1"]}
    for name, args in runs.items():
        cache = tmp_path / f"numba-{name}"
        cache.mkdir()
        notice = _first_notice(args, cache, tmp_path)
        assert notice is not None and "the certificate" in notice, name
        assert "once per installation" in notice
        if name != "verify":  # the default algorithm of a 2-input net is compiled too
            assert "of the vertex algorithm and the certificate" in notice


def test_the_certificate_notice_is_printed_only_when_its_kernel_is_not_cached(monkeypatch) -> None:
    """The decision, with the cache's answer given: a cached kernel prints nothing, an uncached
    one is named; without --certify, or for the whole space (certified without the compiled
    kernel), the certificate is not named."""
    from reluregions.enumeration import _certify_fast
    from reluregions.geometry import kernels

    notices = importlib.import_module("reluregions.cli.notices")
    rng = np.random.default_rng(0)
    net = Network([rng.normal(size=(4, 2)), rng.normal(size=(1, 4))],
                  [rng.normal(size=4), rng.normal(size=1)])
    witness = EnumerationConfig(algorithm="witness")
    asked: list = []

    def cached(answer: bool):
        def numba_cached(kernel) -> bool:
            asked.append(kernel)
            return answer
        return numba_cached

    monkeypatch.setattr(kernels, "numba_cached", cached(False))
    assert notices.uncompiled_kernels(net, witness, Box.symmetric(2), certify=True) == ["certificate"]
    assert asked[-1] is _certify_fast._block_kernel
    assert notices.uncompiled_kernels(net, witness, Box.symmetric(2)) == []
    assert notices.uncompiled_kernels(net, witness, WholeSpace(2), certify=True) == []
    assert notices.uncompiled_kernels(domain=Box.symmetric(2), certify=True) == ["certificate"]
    monkeypatch.setattr(kernels, "numba_cached", cached(True))
    assert notices.uncompiled_kernels(net, witness, Box.symmetric(2), certify=True) == []
    assert notices.uncompiled_kernels(domain=Box.symmetric(2), certify=True) == []
