"""Exceptions raised by reluregions, named for what went wrong.

Every error caused by bad user input derives from :class:`InputError`; the command-line interface
turns those into one line on stderr and exit status 2.
"""
from __future__ import annotations

__all__ = [
    "ReluRegionsError",
    "InputError",
    "NetworkFileError",
    "UnsupportedLayerError",
    "InvalidWeightsError",
    "ShapeMismatchError",
    "ConversionMismatchError",
    "DomainError",
    "EmptyDomainError",
    "UnboundedDomainError",
    "OptionError",
    "OutputPathError",
    "ClusterUnreachableError",
    "CorruptFileError",
    "MissingDependencyError",
    "SolverError",
    "WorkerDiedError",
]


class ReluRegionsError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(ReluRegionsError, ValueError):
    """Something the user supplied (a file, an option, a domain) is unusable."""


class NetworkFileError(InputError):
    """A network file is missing, unreadable, corrupt or of an unknown format."""


class UnsupportedLayerError(InputError):
    """A model contains a layer or operator that is not piecewise affine with ReLU."""


class InvalidWeightsError(InputError):
    """Weights contain NaN or infinite values."""


class ShapeMismatchError(InputError):
    """Consecutive layers, or a domain and a network, disagree on a dimension."""


class ConversionMismatchError(InputError):
    """A converted model disagrees with its source runtime on random inputs."""


class DomainError(InputError):
    """The input domain is malformed."""


class EmptyDomainError(DomainError):
    """The input domain contains no point (or an inverted box)."""


class UnboundedDomainError(DomainError):
    """The input domain is not bounded."""


class OptionError(InputError):
    """An option has a value outside its valid choices."""


class OutputPathError(InputError):
    """An output file or folder cannot be written (missing folder, a folder in place of a file,
    no permission, or a name whose suffix promises another format)."""


class ClusterUnreachableError(InputError):
    """No Ray head answers at the address given."""


class CorruptFileError(NetworkFileError):
    """A file this package wrote is damaged: a page checksum fails or its data cannot be decoded."""


class MissingDependencyError(ReluRegionsError, ImportError):
    """An optional dependency needed for this feature is not installed."""


class SolverError(ReluRegionsError, RuntimeError):
    """The LP solver returned a status that is neither optimal nor infeasible."""


class WorkerDiedError(ReluRegionsError, RuntimeError):
    """A worker process died during a run without a checkpoint; the result would be incomplete."""
