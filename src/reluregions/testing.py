"""Public testing helpers: compare region blocks the way the invariant suite does."""
from __future__ import annotations

import numpy as np

from .regionblock import RegionBlock

__all__ = ["assert_regionsets_equal"]


def assert_regionsets_equal(actual: RegionBlock, expected: RegionBlock, *,
                            check_ranks: bool = True) -> None:
    """Raise ``AssertionError`` unless both blocks hold the same patterns (and ranks), in any order.

    The message names how many patterns each side has that the other lacks, and shows a few.
    """
    a_keys = actual.pattern_keys()
    e_keys = expected.pattern_keys()
    if len(set(a_keys)) != len(a_keys):
        raise AssertionError(f"actual holds {len(a_keys) - len(set(a_keys))} duplicated patterns")
    if len(set(e_keys)) != len(e_keys):
        raise AssertionError(f"expected holds {len(e_keys) - len(set(e_keys))} duplicated patterns")
    missing = set(e_keys) - set(a_keys)
    extra = set(a_keys) - set(e_keys)
    if missing or extra:
        show = lambda keys: [k.hex() for k in sorted(keys)[:3]]  # noqa: E731
        raise AssertionError(f"region sets differ: {len(actual)} vs {len(expected)} regions; "
                             f"{len(missing)} missing (e.g. {show(missing)}), "
                             f"{len(extra)} extra (e.g. {show(extra)})")
    if check_ranks and actual.ranks.size and expected.ranks.size:
        a, e = actual.sorted(), expected.sorted()
        if (a.ranks >= 0).all() and (e.ranks >= 0).all() and not np.array_equal(a.ranks, e.ranks):
            bad = int(np.flatnonzero((a.ranks != e.ranks).any(axis=1))[0])
            raise AssertionError(f"ranks differ on {int((a.ranks != e.ranks).any(axis=1).sum())} "
                                 f"regions, first at pattern {a.pattern_keys()[bad].hex()}: "
                                 f"{a.ranks[bad].tolist()} vs {e.ranks[bad].tolist()}")
