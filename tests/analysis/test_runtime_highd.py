"""The runtime study's high-dimensional cases (issue 14): MLPs on the 64 digit pixels, their boxes,
and the default algorithm's regions there against the witness algorithm's."""
from __future__ import annotations

import numpy as np
import pytest

import reluregions as rr
from reluregions.analysis import run_runtime_study
from reluregions.analysis import runtime as runtime_mod
from reluregions.analysis.digits import (PIXEL_MAX, digits_class_box, digits_image_box,
                                         train_digits_network)
from reluregions.errors import InputError
from reluregions.testing import assert_regionsets_equal

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def pixel_model():
    return train_digits_network(None, (8, 8), seed=0, max_iter=60)


def test_pixel_network_reads_raw_pixels(pixel_model) -> None:
    model = pixel_model
    assert model.network.input_dim == 64 and model.X.shape == (1797, 64)
    assert model.X.max() == PIXEL_MAX and model.X.min() == 0.0  # raw pixels, not rescaled
    assert np.array_equal(model.domain.lo, np.zeros(64))
    assert np.array_equal(model.domain.hi, np.full(64, PIXEL_MAX))
    predicted = model.network.forward(model.X).argmax(axis=1)
    assert (predicted == model.y).mean() > 0.5 and 0.5 < model.accuracy <= 1.0


def test_class_box_fixes_constant_pixels(pixel_model) -> None:
    box = digits_class_box(pixel_model, 0, margin=1.0)
    images = pixel_model.X[pixel_model.y == 0]
    constant = images.min(axis=0) == images.max(axis=0)
    assert constant.any()  # the blank corners of every 0
    assert np.array_equal(box.lo[constant], images.min(axis=0)[constant])
    assert np.array_equal(box.hi[constant], box.lo[constant])
    assert (box.lo >= 0).all() and (box.hi <= PIXEL_MAX).all()
    assert ((box.lo <= images) & (images <= box.hi)).all()
    assert box.parametrize().dim == int((~constant).sum())  # fixed pixels leave the domain


def test_pixel_boxes_reject_bad_input(pixel_model) -> None:
    pca = train_digits_network(2, (4,), seed=0, max_iter=20)
    for call in (lambda: digits_class_box(pca, 0), lambda: digits_class_box(pixel_model, 10),
                 lambda: digits_class_box(pixel_model, 0, margin=-1.0),
                 lambda: digits_image_box(pixel_model, 5000, 1.0),
                 lambda: digits_image_box(pixel_model, 0, 0.0),
                 lambda: train_digits_network(65, (4,))):
        with pytest.raises(InputError):
            call()


def test_default_matches_witness_in_64_dimensions(pixel_model) -> None:
    box = digits_image_box(pixel_model, 0, 1.0)
    assert box.parametrize().dim == 64
    config = rr.EnumerationConfig(ranks=False)
    found = rr.enumerate_regions(pixel_model.network, box, config)
    witness = rr.enumerate_regions(pixel_model.network, box,
                                   rr.EnumerationConfig(algorithm="witness", ranks=False))
    assert len(found) > 1
    assert_regionsets_equal(found, witness, check_ranks=False)


def test_runtime_study_fits_the_high_dimensional_regime(monkeypatch: pytest.MonkeyPatch) -> None:
    def cases(quick: bool = False, seed: int = 0):
        low = runtime_mod.RuntimeCase("low", "random", runtime_mod.random_network(2, (6,), seed),
                                      rr.Box.symmetric(2), {"d": 2, "widths": [6]})
        return [low] + runtime_mod.pixel_cases([((8, 8), (0.5, 1.0))], seed, quick=True)

    monkeypatch.setattr(runtime_mod, "runtime_cases", cases)
    study = run_runtime_study(quick=True, paper_cap=30.0)
    runs = study.runs
    assert sorted(set(runs["d"])) == [2, 64] and not runs["capped"].any()
    by = runs.pivot(index="case", columns="algorithm", values="regions")
    assert (by["default"] == by["paper"]).all()
    regimes = study.fits["default"]["by_regime"]
    assert regimes["high_d"]["n"] == 2 and regimes["low_d"]["n"] == 1
    assert study.fits["default"]["n"] == 3
