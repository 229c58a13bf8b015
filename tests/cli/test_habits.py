"""Command-line habits (issue 17, item 7): negative numbers, --box=, plot of a network, --out
suffix, an unreachable Ray cluster."""
from __future__ import annotations

import socket
from pathlib import Path

from .helpers import cli, one_line_error, write_net


def _regions(proc) -> int:
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[0].replace(",", ""))


def test_negative_bounds_after_a_space_and_box_with_equals_sign(tmp_path: Path) -> None:
    """``--lo -1e-0,-1 --hi 1,1`` (values that look like options) and ``--box=-1 1`` both work."""
    net = write_net(tmp_path / "net.npz")
    spaced = cli("count", net, "--lo", "-1e-0,-1", "--hi", "1,1", "--workers", "1")
    box = cli("count", net, "--box=-1", "1", "--workers", "1")
    assert _regions(spaced) == _regions(box) > 0


def test_plot_of_a_network_enumerates_and_draws(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    proc = cli("plot", net, "--box", "-1", "1", "--out", tmp_path / "p.png")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p.png").stat().st_size > 0
    assert list(tmp_path.glob("*.parquet")) == []


def test_out_with_a_csv_name_is_refused(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    line = one_line_error(cli("enumerate", net, "--out", tmp_path / "x.csv"))
    assert "x.parquet" in line and not (tmp_path / "x.csv").exists()


def test_unreachable_ray_address_is_one_line(tmp_path: Path) -> None:
    net = write_net(tmp_path / "net.npz")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = one_line_error(cli("count", net, "--address", f"127.0.0.1:{port}", timeout=60))
    assert "no Ray head answers" in line and "ray start --head" in line


def test_address_that_is_not_a_ray_head_is_one_line(tmp_path: Path) -> None:
    """A port that accepts connections but speaks no Ray: one line, none of Ray's C++ retry
    warnings, and no waiting for minutes."""
    import threading

    net = write_net(tmp_path / "net.npz")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]

    def serve() -> None:  # accept and hang up, as a server of another protocol would
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        proc = cli("count", net, "--address", f"127.0.0.1:{port}", timeout=120)
    finally:
        server.close()
    line = one_line_error(proc)
    assert "not a Ray head" in line and "gcs_client" not in proc.stderr
