"""What the explorer computes: the phase diagram and the curves along eta_u, every form.

Both go through :func:`asymptotics.evaluate_grid` with fixed shapes (:data:`GRID` squared, and
:data:`CURVE` + 1 points), so a slider move only feeds new values to compiled programs.
"""

from __future__ import annotations

import dataclasses
import re
import time

import numpy as np

import asymptotics
from setting import RISK_NAMES
from setting.problem import Problem

# Points per axis of the (eta_l, eta_u) phase diagram, the same for every method and fixed so that
# the compiled programs are reused (odd, so that eta = 0.5 is on it). The exact theory solves each
# distinct fixed point once (65 teacher and 65 student solves for the 65 x 65 grid); the zero
# contour is interpolated between grid points.
GRID = 65
CURVE = 101  # points of the gain-vs-eta_u curve, step 0.01 (plus one: the current eta_u)
PRINTED = "printed"  # the paper's printed closed forms (docs/theory.md, section 2), shown beside the methods
_EXTRAS = "_printed_extras"  # eta_u* and failure threshold of the printed forms, riding along


def default_method() -> str:
    """The method the explorer shows by default: :data:`asymptotics.DEFAULT_METHOD` (``"exact"``)."""
    return asymptotics.DEFAULT_METHOD


def forms() -> tuple[str, ...]:
    """The forms compared at each point: the printed closed forms, then every registered method."""
    return (PRINTED, *sorted(asymptotics.METHODS))


def _other_methods(method: str) -> tuple[str, ...]:
    return tuple(m for m in sorted(asymptotics.METHODS) if m != method)


def compilations() -> int:
    """How many compiled theory programs this process has loaded or compiled so far."""
    return asymptotics.compiled.cache_info().currsize


@dataclasses.dataclass(frozen=True)
class Phase:
    """The phase diagram of ``method``'s gain over (eta_l, eta_u); it does not depend on the
    problem's own eta_l, eta_u (the app recomputes it only when another slider moves).

    Attributes:
        method: the theory method.
        axis: eta grid, shape (n,), n = :data:`GRID`.
        gain: gain[i, j] at eta_u = axis[i], eta_l = axis[j], shape (n, n); NaN where undefined.
        ridge: eta_u*(eta_l), the refined maximiser of each column, shape (n,).
        seconds: wall time of the theory evaluation.
        errors: what the theory raised where it could not be evaluated (those points are NaN).
    """

    method: str
    axis: np.ndarray
    gain: np.ndarray
    ridge: np.ndarray
    seconds: float
    errors: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Along:
    """Every form along eta_u at the problem's eta_l, and at the problem itself.

    Attributes:
        method: the shown method (the others are compared).
        eta_u: the curve's grid, shape (CURVE,).
        curves: form -> {"teacher_risk", "student_risk", "gain"} -> shape (CURVE,).
        point: form -> {"teacher_risk", "student_risk", "gain"} -> float, at (eta_l, eta_u).
        eta_u_star: the maximiser of ``method``'s gain over eta_u in [0, 1].
        eta_u_star_printed: the printed forms' unconstrained maximiser (``eta_u_star_printed``).
        failure_threshold: ||mu_T||^2/sigma_xi2 above which the printed gain turns negative.
        seconds: wall time of the theory evaluation.
        errors: what a method raised where it could not be evaluated (its values are NaN).
    """

    method: str
    eta_u: np.ndarray
    curves: dict[str, dict[str, np.ndarray]]
    point: dict[str, dict[str, float]]
    eta_u_star: float
    eta_u_star_printed: float
    failure_threshold: float
    seconds: float
    errors: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Result:
    """What the explorer shows: the phase diagram and the curves of one setting."""

    phase: Phase
    along: Along

    @property
    def method(self) -> str:
        return self.along.method


def _argmax_refined(x: np.ndarray, y: np.ndarray) -> float:
    """Maximiser of samples y(x) on a uniform grid, refined by the parabola through the top three."""
    if not np.any(np.isfinite(y)):
        return float("nan")
    i = int(np.nanargmax(y))
    if 0 < i < len(y) - 1 and np.all(np.isfinite(y[i - 1 : i + 2])):
        curv = y[i - 1] - 2.0 * y[i] + y[i + 1]
        if curv < 0:
            return float(x[i] + 0.5 * (y[i - 1] - y[i + 1]) / curv * (x[1] - x[0]))
    return float(x[i])


def resolve_methods(method: str | None, compare: tuple[str, ...] | None) -> tuple[str, tuple[str, ...]]:
    method = method or default_method()
    compare = _other_methods(method) if compare is None else tuple(sorted(set(compare) - {method}))
    for m in (method, *compare):
        if m not in asymptotics.METHODS:
            raise ValueError(f"method: must be one of {sorted(asymptotics.METHODS)}, got {m!r}")
    return method, compare


def _error_text(method: str, e: Exception) -> str:
    """One line for the page: the theory's own message where it has one."""
    text = str(e)
    found = re.search(r"EquinoxRuntimeError: (.+)", text)
    line = found.group(1) if found else next((x for x in text.splitlines() if x.strip()), type(e).__name__)
    return f"{method}: not evaluated at some points ({line.strip()[:160]})"


def _note(errors: list[str], method: str, e: Exception) -> None:
    message = _error_text(method, e)
    if message not in errors:
        errors.append(message)


def _evaluate(errors: list[str], problem: Problem, quantity: str, method: str, shape, **grids) -> dict[str, np.ndarray]:
    """``asymptotics.evaluate_grid``, with NaN and a note where the theory fails (a fixed point that
    does not converge, or a method that raises): one bad setting must not break the page."""
    try:
        out = asymptotics.evaluate_grid(problem, quantity, method, on_error="nan", **grids)
    except Exception as e:  # noqa: BLE001 (any failure of a theory method becomes a note)
        _note(errors, method, e)
        return {k: np.full(shape, np.nan) for k in RISK_NAMES}
    failed = int((~out.pop("converged")).sum())
    if failed:
        _note(errors, method, asymptotics.ConvergenceError(f"the fixed point did not converge at {failed} points"))
    return out


def phase_diagram(problem: Problem, method: str | None = None) -> Phase:
    """``method``'s gain on the fixed (eta_l, eta_u) grid of :data:`GRID` points per axis."""
    method, _ = resolve_methods(method, ())
    t0 = time.perf_counter()
    n = GRID
    axis = np.linspace(0.0, 1.0, n)
    errors: list[str] = []
    gain = _evaluate(errors, problem, "risks", method, (n, n), eta_l=axis[None, :], eta_u=axis[:, None])["gain"]
    seconds = time.perf_counter() - t0
    ridge = np.array([_argmax_refined(axis, gain[:, j]) for j in range(n)])
    return Phase(method=method, axis=axis, gain=gain, ridge=ridge, seconds=seconds, errors=tuple(errors))


def along(problem: Problem, method: str | None = None, *, compare: tuple[str, ...] | None = None) -> Along:
    """The printed forms, ``method`` and the ``compare`` methods (default: every other registered
    method) along eta_u in [0, 1] at the problem's eta_l, plus the problem's own point."""
    method, compare = resolve_methods(method, compare)
    t0 = time.perf_counter()
    grid_u = np.linspace(0.0, 1.0, CURVE)
    points = np.append(grid_u, problem.eta_u)  # the current eta_u rides along: one dispatch, fixed shape
    methods = tuple(sorted({method, *compare}))
    errors: list[str] = []
    printed = asymptotics.evaluate_grid(problem, "printed", eta_u=points)
    out = {PRINTED: {k: printed[k] for k in RISK_NAMES}}
    out[_EXTRAS] = {k: printed[k] for k in ("eta_u_star_printed", "failure_threshold")}
    for m in methods:
        out[m] = {
            k: v
            for k, v in _evaluate(errors, problem, "risks", m, points.shape, eta_u=points).items()
            if k in RISK_NAMES
        }
    seconds = time.perf_counter() - t0
    extras = {k: float(v[-1]) for k, v in out.pop(_EXTRAS).items()}
    out = {f: out[f] for f in forms() if f in out}  # printed first, then the methods in a fixed order
    curves = {f: {k: v[:-1] for k, v in d.items()} for f, d in out.items()}
    return Along(
        method=method,
        eta_u=grid_u,
        curves=curves,
        point={f: {k: float(v[-1]) for k, v in d.items()} for f, d in out.items()},
        eta_u_star=_argmax_refined(grid_u, curves[method]["gain"]),
        eta_u_star_printed=extras["eta_u_star_printed"],
        failure_threshold=extras["failure_threshold"],
        seconds=seconds,
        errors=tuple(errors),
    )


def evaluate(problem: Problem, method: str | None = None, *, compare: tuple[str, ...] | None = None) -> Result:
    """The phase diagram and the curves of ``problem`` (see :func:`phase_diagram`, :func:`along`).

    Args:
        problem: the current setting (its eta_l and eta_u are the marked point).
        method: theory method of the phase diagram and eta_u*; default :func:`default_method`.
        compare: further methods shown along the curve beside the printed forms; default every
            other registered method.
    """
    return Result(phase_diagram(problem, method), along(problem, method, compare=compare))
