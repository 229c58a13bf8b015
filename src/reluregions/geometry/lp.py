"""The one place that talks to the LP solver (HiGHS through highspy).

Every HiGHS model status is mapped either to a result or to a named error, so the enumeration code
never sees solver internals. Implements the LP feasibility test of Drammis et al. 2024, Appendix A
(Bound-IncEnum), in the Chebyshev-ball form used throughout this package: a polytope
``{t : G t <= h}`` is full-dimensional when the largest ball inside it has radius above a tolerance.
"""
from __future__ import annotations

import threading
import numpy as np

from ..config import LPOptions
from ..errors import MissingDependencyError, SolverError

__all__ = ["LPOptions", "LPSolver"]


_STDOUT_LOCK = threading.Lock()


def _new_highs(highspy):
    """A Highs instance, with the banner HiGHS prints to C stdout on first use sent to /dev/null.

    File descriptor 1 belongs to the whole process, so threads that create solvers at once (the
    ``threads`` scheduler's workers) take turns: otherwise one could save the other's /dev/null as
    "the real stdout" and restore that, silencing the process for good.
    """
    with _STDOUT_LOCK:
        return _new_highs_quietly(highspy)


def _new_highs_quietly(highspy):
    import os
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded interpreter)
        return highspy.Highs()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class LPSolver:
    """A reusable HiGHS instance that solves the small dense LPs of region enumeration.

    Not thread-safe and not picklable: each worker makes its own. ``count`` is the number of LPs
    solved so far, which the benchmarks report as LPs per region.
    """

    def __init__(self, options: LPOptions | None = None) -> None:
        try:
            import highspy
        except ImportError as exc:  # pragma: no cover - highspy is a hard dependency
            raise MissingDependencyError("highspy is missing; run: pip install highspy") from exc
        self._hs = highspy
        self.options = options or LPOptions()
        self.count = 0
        self._highs = _new_highs(highspy)
        h = self._highs
        h.setOptionValue("output_flag", False)
        h.setOptionValue("primal_feasibility_tolerance", self.options.feasibility_tol)
        h.setOptionValue("dual_feasibility_tolerance", self.options.feasibility_tol)
        h.setOptionValue("presolve", "off")
        self._optimal = highspy.HighsModelStatus.kOptimal
        self._not_set = highspy.HighsModelStatus.kNotset
        self._infeasible = {highspy.HighsModelStatus.kInfeasible}
        self._unbounded = {highspy.HighsModelStatus.kUnbounded,
                           highspy.HighsModelStatus.kUnboundedOrInfeasible}
        #: The constraint arrays of the model HiGHS holds, when :meth:`minimize_in_box` passed it.
        self._box_model: tuple | None = None

    def __getstate__(self) -> None:
        raise TypeError("LPSolver holds a native solver and cannot be pickled; make one per worker")

    def _solve(self, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
               rows: np.ndarray, rhs: np.ndarray) -> tuple[str, np.ndarray, float]:
        hs = self._hs
        m, n = rows.shape
        lp = hs.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = cost
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = np.full(m, -np.inf)
        lp.row_upper_ = rhs
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.arange(0, m * n + 1, n, dtype=np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), m)
        lp.a_matrix_.value_ = np.ascontiguousarray(rows, dtype=np.float64).ravel()
        h = self._highs
        h.passModel(lp)
        self._box_model = None
        return self._run(m, n)

    def _run(self, m: int, n: int) -> tuple[str, np.ndarray, float]:
        h = self._highs
        h.run()
        self.count += 1
        status = h.getModelStatus()
        if status == self._not_set:
            # HiGHS refused the warm start it held (a basis kept across deleted and added rows
            # can end in an error before any iteration): solve the same model from scratch.
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status == self._optimal:
            x = np.array(h.getSolution().col_value)
            return "optimal", x, float(h.getInfo().objective_function_value)
        if status in self._infeasible:
            return "infeasible", np.empty(0), np.nan
        if status in self._unbounded:
            return "unbounded", np.empty(0), -np.inf
        raise SolverError(f"HiGHS stopped with status '{h.modelStatusToString(status)}' on an LP "
                          f"with {m} rows and {n} columns; this is a solver failure, please report it")

    def chebyshev(self, G: np.ndarray, h: np.ndarray,
                  norms: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Largest ball inside ``{t : G t <= h}``.

        Returns the centre and the radius. The radius is free below, so the LP is always feasible:
        an empty polytope gives a negative radius, a lower-dimensional one a radius near 0.
        """
        k = G.shape[1]
        if norms is None:
            norms = np.linalg.norm(G, axis=1)
        rows = np.empty((G.shape[0], k + 1))
        rows[:, :k] = G
        rows[:, k] = norms
        cost = np.zeros(k + 1)
        cost[k] = -1.0
        lower = np.full(k + 1, -np.inf)
        upper = np.full(k + 1, np.inf)
        upper[k] = self.options.radius_cap
        status, x, _ = self._solve(cost, lower, upper, rows, np.asarray(h, dtype=np.float64))
        if status != "optimal":
            raise SolverError(f"Chebyshev-ball LP ended '{status}', which its form rules out; "
                              "the constraints are probably not finite")
        return x[:k], float(x[k])

    def row_duals(self) -> np.ndarray:
        """The row duals of the last LP solved (HiGHS's sign convention: ``<= 0`` on a binding
        upper bound of a minimisation), from which :mod:`.exactside` reads a Motzkin certificate."""
        return np.array(self._highs.getSolution().row_dual, dtype=np.float64)

    def basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The last LP's basis as two boolean arrays, rows and columns, True where basic; ``None``
        when HiGHS holds none."""
        b = self._highs.getBasis()
        if not b.valid:
            return None
        basic = self._hs.HighsBasisStatus.kBasic
        return (np.array([v == basic for v in b.row_status], dtype=bool),
                np.array([v == basic for v in b.col_status], dtype=bool))

    def minimize_in_box(self, c: np.ndarray, G: np.ndarray, h: np.ndarray, lower: np.ndarray,
                        upper: np.ndarray) -> tuple[str, np.ndarray, float]:
        """Minimise ``c @ t`` over ``{t : G t <= h, lower <= t <= upper}``, the box as column bounds.

        The box never becomes rows, so an LP has as many rows as ``G`` (the cuts of a cell, not the
        ``2k`` facets of the domain): the form of the high-dimensional engine (issue 14), where
        ``k`` is in the hundreds and a cell carries a few dozen cuts. Without rows the minimum is
        read off the bounds. Consecutive calls share HiGHS's model: rows the last call had in
        the same places are kept, the others are deleted and the new ones added, and the costs
        replaced, so a child cell (its parent's rows and one more) or another objective over the
        same cell starts from the last optimal basis (dual simplex after an added row, DESIGN.md
        §2). Returns ``(status, t, value)`` as :meth:`minimize` does (``"infeasible"`` or
        ``"optimal"``: a bounded box rules out ``"unbounded"``).
        """
        c = np.asarray(c, dtype=np.float64)
        if G.shape[0] == 0:
            x = np.where(c > 0, lower, upper)
            return "optimal", x, float(c @ x)
        G = np.asarray(G, dtype=np.float64)
        h = np.asarray(h, dtype=np.float64)
        key = self._box_model
        if key is None or not self._same_box(key, G.shape[1], lower, upper):
            lower = np.array(lower, dtype=np.float64)
            upper = np.array(upper, dtype=np.float64)
            result = self._solve(c, lower, upper, G, h)
            self._box_model = (G.copy(), h.copy(), lower, upper)
            return result
        rows, rhs = key[0], key[1]
        n = G.shape[1]
        common = min(rows.shape[0], G.shape[0])
        differ = np.flatnonzero((rows[:common] != G[:common]).any(axis=1)
                                | (rhs[:common] != h[:common]))
        if differ.size:
            common = int(differ[0])
        if common < rows.shape[0] or common < G.shape[0]:
            hs = self._highs
            if rows.shape[0] > common:
                hs.deleteRows(rows.shape[0] - common,
                              np.arange(common, rows.shape[0], dtype=np.int32))
            extra = G.shape[0] - common
            if extra:
                hs.addRows(extra, np.full(extra, -np.inf), h[common:], extra * n,
                           np.arange(0, extra * n, n, dtype=np.int32),
                           np.tile(np.arange(n, dtype=np.int32), extra),
                           np.ascontiguousarray(G[common:]).ravel())
            self._box_model = (G.copy(), h.copy(), key[2], key[3])
        self._highs.changeColsCost(n, np.arange(n, dtype=np.int32), c)
        return self._run(*G.shape)

    @staticmethod
    def _same_box(key: tuple, n: int, lower: np.ndarray, upper: np.ndarray) -> bool:
        """Whether the model HiGHS holds has these column bounds."""
        return (key[0].shape[1] == n and np.array_equal(key[2], lower)
                and np.array_equal(key[3], upper))

    def minimize(self, c: np.ndarray, G: np.ndarray, h: np.ndarray) -> tuple[str, np.ndarray, float]:
        """Minimise ``c @ t`` over ``{t : G t <= h}`` with ``t`` free.

        Returns ``(status, t, value)`` with status ``"optimal"``, ``"infeasible"`` or ``"unbounded"``.
        """
        n = G.shape[1]
        return self._solve(np.asarray(c, dtype=np.float64), np.full(n, -np.inf), np.full(n, np.inf),
                           np.asarray(G, dtype=np.float64), np.asarray(h, dtype=np.float64))
