"""Small networks with known answers, and region files written from them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from reluregions import Box, EnumerationConfig, Network, iter_regions
from reluregions.cli.common import run_metadata
from reluregions.io.parquet import ParquetRegionWriter
from reluregions.network import save_npz

__all__ = ["random_net", "slab_net", "line_arrangement", "write_region_file", "rewrite_table"]


def random_net(d: int, widths: tuple[int, ...], seed: int, n_out: int = 1) -> Network:
    """Gaussian weights scaled by 1/sqrt(fan-in), biases N(0, 0.5^2)."""
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, n_out)
    ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    return Network(ws, [0.5 * rng.standard_normal(o) for o in sizes[1:]])


def slab_net() -> Network:
    """d = 2, widths (1, 4): layer 1 is x1 > 0; layer 2 cuts x1 at 0.2, 0.4, 0.6, 0.8.

    On [-1, 1]^2 it has 6 regions: x1 < 0 (ranks (0, 0)), then five vertical slabs of area 0.4;
    the first slab has ranks (1, 0), the others (1, 1). The output (the sum of layer 2) is 0 on
    both x1 < 0 and the first slab, so 6 regions share 5 output maps.
    """
    W1, b1 = np.array([[1.0, 0.0]]), np.zeros(1)
    W2, b2 = np.ones((4, 1)), -np.array([0.2, 0.4, 0.6, 0.8])
    W3, b3 = np.ones((1, 4)), np.zeros(1)
    return Network([W1, W2, W3], [b1, b2, b3])


def line_arrangement(n: int, seed: int = 0) -> Network:
    """One hidden layer of ``n`` lines in general position in the plane, every crossing in [-10, 10]^2.

    Lines pass through points of [-0.5, 0.5]^2 at angles at least 180/n - 3 degrees apart, so the
    arrangement has 1 + n + C(n, 2) regions and n^2 edges between regions in the box.
    """
    rng = np.random.default_rng(seed)
    theta = np.arange(n) * np.pi / n + rng.uniform(-0.05, 0.05, n)
    normals = np.column_stack([np.cos(theta), np.sin(theta)])
    through = rng.uniform(-0.5, 0.5, size=(n, 2))
    b = -(normals * through).sum(axis=1)
    return Network([normals, rng.standard_normal((1, n))], [b, np.zeros(1)])


def write_region_file(path: Path, net: Network, domain: Box | None = None,
                      **config: object) -> tuple[Path, Path]:
    """Enumerate ``net`` into ``path`` (Parquet) and save the network beside it; returns both paths.

    The witness (LP) algorithm is used unless ``algorithm`` is given: these tests check the analysis
    of region files, not the enumerators, and it needs no numba compilation.
    """
    domain = domain or Box.symmetric(net.input_dim)
    config.setdefault("algorithm", "witness")  # LP-based: no numba compilation in the tests
    cfg = EnumerationConfig(**config)
    npz = path.with_suffix(".npz")
    save_npz(npz, net, (domain.lo, domain.hi) if isinstance(domain, Box) else None)
    meta = run_metadata(net, domain, cfg, npz)
    extras = (("A", "c") if cfg.keep_maps else ()) + (("G", "h") if cfg.keep_hrep else ())
    with ParquetRegionWriter(path, net.n_hidden, meta, batch_size=64, extras=extras) as writer:
        writer.write_all(iter_regions(net, domain, cfg).chunks())
    return path, npz


def rewrite_table(src: Path, dst: Path, edit) -> None:
    """Copy a region file, passing its Arrow table through ``edit`` (schema and metadata kept)."""
    import pyarrow.parquet as pq

    table = pq.read_table(src)
    pq.write_table(edit(table).replace_schema_metadata(table.schema.metadata), dst)
