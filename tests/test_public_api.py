"""The curated public API: ``reluregions.__all__`` is complete, importable and public."""
from __future__ import annotations

import importlib

import pytest

import reluregions
from reluregions import errors

PUBLIC_MODULES = ["reluregions", "reluregions.errors", "reluregions.config", "reluregions.domains",
                  "reluregions.network", "reluregions.enumeration", "reluregions.schedulers",
                  "reluregions.io.regionset", "reluregions.testing"]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("name", reluregions.__all__)
def test_every_exported_name_exists(name: str) -> None:
    assert hasattr(reluregions, name), f"reluregions.__all__ names {name!r}, which is missing"
    ns: dict = {}
    exec(f"from reluregions import {name}", ns)  # noqa: S102 - the import statement users write
    assert ns[name] is getattr(reluregions, name)


def test_no_private_or_duplicated_exports() -> None:
    exported = reluregions.__all__
    assert not [n for n in exported if _is_private(n)]
    assert len(exported) == len(set(exported))


def test_star_import_gives_exactly_all() -> None:
    ns: dict = {}
    exec("from reluregions import *", ns)  # noqa: S102
    assert set(ns) - {"__builtins__"} == set(reluregions.__all__)


def test_version_is_a_string() -> None:
    assert isinstance(reluregions.__version__, str) and reluregions.__version__


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_submodule_all_is_honest(module: str) -> None:
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    assert names is not None, f"{module} has no __all__"
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which is missing"
        assert not _is_private(name), f"{module}.__all__ exports private {name!r}"


def test_error_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ReluRegionsError), name
    assert issubclass(errors.InputError, ValueError)
    for name in ("DomainError", "EmptyDomainError", "UnboundedDomainError", "OptionError",
                 "ShapeMismatchError", "InvalidWeightsError", "NetworkFileError"):
        assert issubclass(getattr(errors, name), errors.InputError), name
    assert issubclass(errors.MissingDependencyError, ImportError)
    exported_errors = {n for n in reluregions.__all__ if n.endswith("Error")}
    assert exported_errors <= set(errors.__all__)


def test_option_errors_list_the_choices() -> None:
    with pytest.raises(reluregions.OptionError, match="incremental"):
        reluregions.EnumerationConfig(first_layer="nope")
    net = reluregions.Network([[[1.0]], [[1.0]]], [[0.0], [0.0]])
    with pytest.raises(reluregions.OptionError, match="paper"):
        reluregions.count_regions(net, reluregions.Box([-1], [1]),
                                  reluregions.EnumerationConfig(algorithm="nope"))
    from reluregions.schedulers import make_scheduler

    with pytest.raises(reluregions.OptionError, match="serial"):
        make_scheduler("nope")


def test_algorithm_registry_is_exported() -> None:
    assert "default" in reluregions.ALGORITHMS and "paper" in reluregions.ALGORITHMS
