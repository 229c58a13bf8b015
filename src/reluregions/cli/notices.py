"""Lines the command line prints around a run: compile notices, the certificate's figures, the
command that resumes an interrupted checkpointed run."""
from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..config import EnumerationConfig
    from ..domains import Domain
    from ..network import Network

__all__ = ["compile_notice", "certificate_compile_notice", "certificate_uncompiled",
           "uncompiled_kernels", "plural", "certificate_line", "resume_command"]

#: Rough first-compile times of the compiled code (numba, 2 cores), for the notice.
COMPILE_SECONDS = {"vertex": 20, "lpdfs": 60, "certificate": 20}


def _uncompiled_algorithm(network: "Network", config: "EnumerationConfig",
                          domain: "Domain") -> str | None:
    """The compiled traversal that will run and that numba must compile first, if any."""
    from ..enumeration.api import choose_algorithm, make_problem
    from ..geometry.kernels import numba_cached

    name = config.algorithm
    problem = make_problem(network, domain, config)
    if name == "default":
        name, _ = choose_algorithm(problem)
    if not problem.param.bounded:
        return None  # neither compiled traversal runs there: the refusal comes first, alone
    if name == "vertex":
        from ..geometry.dfs import dfs_packed as kernel
    elif name == "lpdfs":
        from ..geometry.lpdfs import lp_dfs as kernel
    else:
        return None
    return None if numba_cached(kernel) else name


def certificate_uncompiled() -> bool:
    """Whether the certificate's compiled kernel (``_certify_fast._block_kernel``) is missing from
    numba's on-disk cache, so that the first certificate compiles it."""
    from ..enumeration._certify_fast import _block_kernel
    from ..geometry.kernels import numba_cached

    return not numba_cached(_block_kernel)


def uncompiled_kernels(network: "Network | None" = None, config: "EnumerationConfig | None" = None,
                       domain: "Domain | None" = None, *, certify: bool = False) -> list[str]:
    """What numba will compile before the run's work starts.

    Parameters
    ----------
    network, config, domain : optional
        The run; with all three, its compiled traversal (``"vertex"`` or ``"lpdfs"``) is named
        when its kernel is not cached.
    certify : bool
        Whether the certificate runs: ``"certificate"`` is named when its kernel is not cached.
        Its compiled path runs on a box of dimension at least 1; the whole input space (and a
        single point) is certified without it, so it is not named there.

    Returns
    -------
    list of str
        The names, in the order they compile.
    """
    found = []
    if network is not None and config is not None and domain is not None:
        name = _uncompiled_algorithm(network, config, domain)
        if name is not None:
            found.append(name)
    param = domain.parametrize() if domain is not None else None
    compiled = param is None or (param.bounded and param.dim > 0)
    if certify and compiled and certificate_uncompiled():
        found.append("certificate")
    return found


def _notice_text(kernels: Sequence[str]) -> str | None:
    if not kernels:
        return None
    names = [f"the {k} algorithm" if k != "certificate" else "the certificate" for k in kernels]
    seconds = sum(COMPILE_SECONDS[k] for k in kernels)
    return (f"reluregions: compiling the numba kernels of {' and '.join(names)}, once per "
            f"installation (about {seconds} s)")


def compile_notice(network: "Network", config: "EnumerationConfig", domain: "Domain", *,
                   certify: bool = False) -> None:
    """One line on stderr when the run starts with numba compiling (issue 17, item 6: the first
    run is otherwise silent for up to a minute): the compiled traversal that will run, and the
    certificate's kernel with ``certify``."""
    text = _notice_text(uncompiled_kernels(network, config, domain, certify=certify))
    if text is not None:
        print(text, file=sys.stderr, flush=True)


def certificate_compile_notice(domain: "Domain | None" = None) -> None:
    """The notice of :func:`compile_notice` for the certificate alone (``verify --certify``)."""
    text = _notice_text(uncompiled_kernels(domain=domain, certify=True))
    if text is not None:
        print(text, file=sys.stderr, flush=True)


def plural(n: int, word: str) -> str:
    """``"1 worker"``, ``"2 workers"`` (thousands separated)."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def certificate_line(cert: dict[str, Any]) -> str:
    """The certificate's figures in words (``count``/``enumerate --certify``).

    ``facets_matched`` counts the constraints of the regions matched by a listed neighbour on
    their other side; a few of them may touch their region in a face of lower dimension, so the
    line does not call them facets.
    """
    return (f"certified: {plural(cert['regions'], 'region')} checked, "
            f"{plural(cert['facets_matched'], 'constraint')} matched by a neighbour, "
            f"{plural(cert['exact_decisions'], 'exact decision')}")


def _is_checkpoint_option(token: str) -> bool:
    """Whether ``token`` of arguments argparse accepted is ``--checkpoint``: the option itself or
    a prefix of it (argparse takes an unambiguous prefix, such as ``--chec``; no other option of
    ``enumerate`` is a prefix of ``--checkpoint``, and an ambiguous one was refused)."""
    name = token.split("=", 1)[0]
    return len(name) > 2 and "--checkpoint".startswith(name)


def resume_command(argv: Sequence[str]) -> str:
    """The command that resumes the run of ``reluregions ARGV``.

    Parameters
    ----------
    argv : sequence of str
        The arguments of the interrupted run, as given (after the program's name).

    Returns
    -------
    str
        ``reluregions`` and the same arguments, shell-quoted, with ``--checkpoint DIR`` replaced
        by ``--resume DIR``: every option is kept, so the resumed run has the network, domain and
        config its checkpoint was made for.
    """
    out: list[str] = []
    for i, token in enumerate(argv):
        if token == "--":  # what follows is positional
            out += list(argv)[i:]
            break
        if _is_checkpoint_option(token):
            _, eq, value = token.partition("=")
            token = f"--resume={value}" if eq else "--resume"
        out.append(token)
    return "reluregions " + shlex.join(out)
