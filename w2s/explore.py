r"""Numeric core of the interactive phase-diagram explorer (``figures/explore.py``, ``w2s explore``).

The explorer shows, for the setting of "Does Weak-to-strong Generalization Happen under
Spurious Correlations?" (Liu, Dong, Lei, ICLR 2026):

* the W2S gain over the :math:`(\eta_l, \eta_u)` square with its phase boundary (gain = 0);
* the gain against :math:`\eta_u` at the current :math:`\eta_l`, with the maximiser
  :math:`\eta_u^*` marked, for the printed forms and every registered theory method;
* teacher and student risks, printed beside the methods' values.

Everything the app computes goes through :func:`phase_diagram` (the shown method on a fixed
``grid_size(method)``-squared grid; it does not depend on the current eta_l, eta_u) and
:func:`along` (every form at :data:`CURVE` + 1 values of eta_u), both through
:func:`asymptotics.evaluate_grid`: compiled programs of fixed batch sizes, kept on disk, so a
slider move changes only the values fed to them and compiles nothing (``tests/test_explore.py``
counts the compilations), and a new (group model, p_T, p_S) loads its programs from disk once
they have been compiled on this machine. :func:`warmup` prepares the default shapes before the
first page is drawn. Plots are inline SVG built as text (:mod:`w2s._svg`), not drawn with
matplotlib; ``explore_slider`` in ``benchmarks/results.json`` times a slider update.
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading
import time

import numpy as np

import asymptotics
from setting.problem import GROUP_MODELS, Problem
from w2s import _svg

__all__ = [
    "CURVE",
    "GRIDS",
    "GRID_DEFAULT",
    "PRINTED",
    "Controls",
    "Result",
    "compilations",
    "GROUP_MODELS",
    "default_method",
    "evaluate",
    "forms",
    "grid_size",
    "plots_html",
    "problem_from",
    "quick_simulation",
    "summary_html",
    "warmup",
]

# Points per axis of the (eta_l, eta_u) phase diagram (odd, so that eta = 0.5 is on it). The
# exact theory solves each distinct fixed point once (65 teacher and 65 student solves for the
# 65 x 65 grid), so every method gets the same grid; the zero contour is interpolated between
# grid points.
GRIDS: dict[str, int] = {}
GRID_DEFAULT = 65
CURVE = 101  # points of the gain-vs-eta_u curve, step 0.01 (plus one: the current eta_u)
_KEYS = ("teacher_risk", "student_risk", "gain")
PRINTED = "printed"  # the paper's printed closed forms (docs/theory.md, section 2), shown beside the methods
P_MAX = 6  # largest p_T, p_S offered by the sliders
_EXTRAS = "_printed_extras"  # eta_u* and failure threshold of the printed forms, riding along


def default_method() -> str:
    """The method the explorer shows by default: :data:`asymptotics.DEFAULT_METHOD` (``"exact"``)."""
    return asymptotics.DEFAULT_METHOD


def forms() -> tuple[str, ...]:
    """The forms compared at each point: the printed closed forms, then every registered method."""
    return (PRINTED, *sorted(asymptotics.METHODS))


@dataclasses.dataclass(frozen=True)
class Controls:
    """The slider values of the explorer (``similarity`` = ||Xi||_F^2, ``mu_T2`` = ||mu_T||^2/sigma_xi2,
    ``mu_S2`` = ||mu_S||^2/sigma_xi2; see :meth:`setting.problem.Problem.from_scalars`)."""

    eta_l: float = 0.1
    eta_u: float = 0.4
    eta_t: float = 0.5
    gamma: float = 0.1
    nu: float = 0.0
    similarity: float = 0.0
    mu_T2: float = 4.0
    mu_S2: float = 0.0
    p_T: int = 3
    p_S: int = 2
    group_model: str = "mixture"
    ridge_teacher: float = 0.0
    ridge_student: float = 0.0


def problem_from(c: Controls) -> tuple[Problem, tuple[str, ...]]:
    """The :class:`Problem` of a set of slider values, and notes on any value that was adjusted.

    Sliders are independent, but the setting constrains them (p_S <= p_T; ||Xi||_F^2 <= p_S - 1;
    no group separation for a model that sees no group feature; at full similarity mu_S is
    determined by mu_T). Rather than fail, the nearest admissible value is used and said.
    """
    notes: list[str] = []
    p_T, p_S = int(c.p_T), int(c.p_S)
    if p_S > p_T:
        notes.append(f"p_S = {p_S} > p_T: using p_S = p_T = {p_T} (the setting needs p_S <= p_T)")
        p_S = p_T
    similarity, mu_T2, mu_S2 = float(c.similarity), float(c.mu_T2), float(c.mu_S2)
    if similarity > p_S - 1:
        notes.append(f"||Xi||_F^2 = {similarity:g} > p_S - 1: using {p_S - 1}")
        similarity = float(p_S - 1)
    if p_T == 1 and mu_T2 > 0:
        notes.append("p_T = 1: the teacher sees no group feature, so ||mu_T||^2 = 0")
        mu_T2 = 0.0
    if p_S == 1 and mu_S2 > 0:
        notes.append("p_S = 1: the student sees no group feature, so ||mu_S||^2 = 0")
        mu_S2 = 0.0
    if p_S > 1 and similarity >= p_S - 1:
        # Full similarity: S spans a subspace of T's span, so mu_S = Xi^T mu_T is determined.
        forced = similarity / (p_S - 1) * mu_T2
        if abs(forced - mu_S2) > 1e-12:
            notes.append(f"full similarity: mu_S = Xi^T mu_T, so ||mu_S||^2/sigma_xi2 = {forced:.4g}")
        mu_S2 = forced
    problem = Problem.from_scalars(
        p_T=p_T,
        p_S=p_S,
        similarity=similarity,
        mu_T2=mu_T2,
        mu_S2=mu_S2,
        group_model=c.group_model,
        eta_l=float(c.eta_l),
        eta_u=float(c.eta_u),
        eta_t=float(c.eta_t),
        gamma=float(c.gamma),
        nu=float(c.nu),
        ridge_teacher=float(c.ridge_teacher),
        ridge_student=float(c.ridge_student),
    )
    return problem, tuple(notes)


# ------------------------------------------------------------------------ compiled theory
def _other_methods(method: str) -> tuple[str, ...]:
    return tuple(m for m in sorted(asymptotics.METHODS) if m != method)


def grid_size(method: str) -> int:
    """Points per axis of the phase diagram for ``method`` (fixed, so compilations are reused)."""
    return GRIDS.get(method, GRID_DEFAULT)


def compilations() -> int:
    """How many compiled theory programs this process has loaded or compiled so far."""
    return asymptotics.compiled.cache_info().currsize


@dataclasses.dataclass(frozen=True)
class Phase:
    """The phase diagram of ``method``'s gain over (eta_l, eta_u); it does not depend on the
    problem's own eta_l, eta_u (the app recomputes it only when another slider moves).

    Attributes:
        method: the theory method.
        axis: eta grid, shape (n,), n = grid_size(method).
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


def _check_methods(method: str | None, compare: tuple[str, ...] | None) -> tuple[str, tuple[str, ...]]:
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
        return {k: np.full(shape, np.nan) for k in _KEYS}
    failed = int((~out.pop("converged")).sum())
    if failed:
        _note(errors, method, asymptotics.ConvergenceError(f"the fixed point did not converge at {failed} points"))
    return out


def phase_diagram(problem: Problem, method: str | None = None) -> Phase:
    """``method``'s gain on the fixed (eta_l, eta_u) grid of :func:`grid_size` points per axis."""
    method, _ = _check_methods(method, ())
    t0 = time.perf_counter()
    n = grid_size(method)
    axis = np.linspace(0.0, 1.0, n)
    errors: list[str] = []
    gain = _evaluate(errors, problem, "risks", method, (n, n), eta_l=axis[None, :], eta_u=axis[:, None])["gain"]
    seconds = time.perf_counter() - t0
    ridge = np.array([_argmax_refined(axis, gain[:, j]) for j in range(n)])
    return Phase(method=method, axis=axis, gain=gain, ridge=ridge, seconds=seconds, errors=tuple(errors))


def along(problem: Problem, method: str | None = None, *, compare: tuple[str, ...] | None = None) -> Along:
    """The printed forms, ``method`` and the ``compare`` methods (default: every other registered
    method) along eta_u in [0, 1] at the problem's eta_l, plus the problem's own point."""
    method, compare = _check_methods(method, compare)
    t0 = time.perf_counter()
    grid_u = np.linspace(0.0, 1.0, CURVE)
    points = np.append(grid_u, problem.eta_u)  # the current eta_u rides along: one dispatch, fixed shape
    methods = tuple(sorted({method, *compare}))
    errors: list[str] = []
    printed = asymptotics.evaluate_grid(problem, "printed", eta_u=points)
    out = {PRINTED: {k: printed[k] for k in _KEYS}}
    out[_EXTRAS] = {k: printed[k] for k in ("eta_u_star_printed", "failure_threshold")}
    for m in methods:
        out[m] = {
            k: v for k, v in _evaluate(errors, problem, "risks", m, points.shape, eta_u=points).items() if k in _KEYS
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


_warmed: set[tuple[str, ...]] = set()
_warm_lock = threading.Lock()


def warmup(
    controls: Controls | None = None,
    method: str | None = None,
    *,
    compare: tuple[str, ...] | None = None,
    background: bool = True,
) -> float:
    """Compile the theory for the default shapes before the first page; returns the seconds spent.

    The given group model is compiled now; the other group models in a background thread (when
    ``background``), so that switching them later is instant too. Once per process: every
    browser session of ``marimo run`` shares the compiled functions.
    """
    t0 = time.perf_counter()
    controls = controls or Controls()
    method, compare = _check_methods(method, compare)
    key = (method, *compare)

    def run(model: str) -> None:
        problem, _ = problem_from(dataclasses.replace(controls, group_model=model))
        result = evaluate(problem, method, compare=compare)
        plots_html(result, problem)  # first use imports contourpy, the colormaps and PIL

    with _warm_lock:
        if key in _warmed:
            return 0.0
        _warmed.add(key)
        run(controls.group_model)
    rest = [m for m in GROUP_MODELS if m != controls.group_model]
    if background:
        threading.Thread(target=lambda: [run(m) for m in rest], name="w2s-explore-warmup", daemon=True).start()
    else:
        for m in rest:
            run(m)
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------ simulation


def quick_simulation(problem: Problem, *, trials: int = 16, d_z: int = 64, seed: int = 0) -> dict[str, float]:
    """A small Monte-Carlo estimate of the gain at ``problem`` (finite d_z: expect finite-size bias).

    Returns ``{"gain", "se", "d_z", "trials", "seconds"}``.
    """
    import simulate

    t0 = time.perf_counter()
    est = simulate.estimate(problem.replace(d_z=d_z), trials=trials, seed=seed, progress=False)
    return {
        "gain": float(est["gain"]["mean"]),
        "se": float(est["gain"]["se"]),
        "d_z": d_z,
        "trials": trials,
        "seconds": time.perf_counter() - t0,
    }


# ------------------------------------------------------------------------------- display

_DASH = {PRINTED: "6,3", "paper": "2,2"}  # the shown method is solid; others dotted-dashed
_FORM_COLOR = {PRINTED: _svg.COLORS["orange"], "paper": _svg.COLORS["blue"], "exact": _svg.COLORS["purple"]}


def _dash(form: str, method: str) -> str:
    return "" if form == method else _DASH.get(form, "8,3,2,3")


def plots_html(result: Result, problem: Problem, simulation: dict[str, float] | None = None) -> str:
    """The three panels as inline SVG: phase diagram | gain vs eta_u | risks vs eta_u.

    The wrapper is ``<div id="w2s-plot">``; the phase diagram's blue means the student beats the
    teacher (gain > 0), red that W2S fails, the black curve is the boundary gain = 0.
    """
    import contourpy
    from matplotlib import colormaps

    m = result.method
    c = _svg.COLORS
    P, A = result.phase, result.along

    # Phase diagram, with a symmetric colour scale so that white is gain = 0.
    finite = P.gain[np.isfinite(P.gain)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    cmap = colormaps["RdBu"]
    rgba = cmap(np.clip(0.5 + 0.5 * P.gain / vmax, 0.0, 1.0), bytes=True)
    rgba[~np.isfinite(P.gain)] = (200, 200, 200, 255)
    ph = _svg.Panel(
        (0.0, 1.0),
        (0.0, 1.0),
        width=372,
        margin=(28, 12, 44, 56),
        title=f"W2S gain ({P.method}); black: gain = 0",
        xlabel="η_l",
        ylabel="η_u",
        element_id="w2s-phase",
    )
    h = 0.5 / (len(P.axis) - 1)  # pixel centres on the grid points
    ph.image(rgba, extent=(-h, 1 + h, -h, 1 + h))
    if finite.size and finite.min() < 0.0 < finite.max():
        gen = contourpy.contour_generator(P.axis, P.axis, np.ma.masked_invalid(P.gain))
        for k, seg in enumerate(gen.lines(0.0)):
            ph.line(seg[:, 0], seg[:, 1], color=c["black"], width=2.0, label="gain = 0" if k == 0 else None)
    ph.line([0, 1], [0, 1], color=c["gray"], width=1.0, dash="4,3", label="η_u = η_l")
    ph.line(P.axis, P.ridge, color=c["green"], width=1.5, dash="2,2", label="η_u*(η_l)")
    ph.marker(problem.eta_l, problem.eta_u)
    ph.legend("upper left")
    bar = _svg.colorbar(cmap, -vmax, vmax, x=ph.box[2] + 8, y0=ph.box[1], y1=ph.box[3])

    # Gain against eta_u at the current eta_l, every form.
    gains = [curve["gain"] for curve in A.curves.values()]
    extra = (
        []
        if simulation is None
        else [
            np.array([simulation["gain"] - 2 * simulation["se"]]),
            np.array([simulation["gain"] + 2 * simulation["se"]]),
        ]
    )
    ylo, yhi = _svg.padded_range([*gains, np.zeros(1), *extra])
    gp = _svg.Panel(
        (0.0, 1.0),
        (ylo, yhi),
        title=f"gain vs η_u at η_l = {problem.eta_l:.2f}",
        xlabel="η_u",
        ylabel="W2S gain",
        element_id="w2s-gain-curve",
    )
    gp.hline(0.0, color=c["gray"], width=0.8)
    gp.vline(problem.eta_l, color=c["gray"], width=0.8, dash="4,3")
    for f, curve in A.curves.items():
        gp.line(
            A.eta_u,
            curve["gain"],
            color=_FORM_COLOR.get(f, c["red"]),
            width=2.5 if f == m else 1.5,
            dash=_dash(f, m),
            label=f,
        )
    if np.isfinite(A.eta_u_star):
        gp.vline(A.eta_u_star, color=c["green"], width=1.5, label=f"η_u* = {A.eta_u_star:.3f}")
    gp.marker(problem.eta_u, A.point[m]["gain"])
    if simulation is not None:
        gp.errorbar(
            problem.eta_u,
            simulation["gain"],
            2 * simulation["se"],
            color=c["red"],
            label=f"simulation, ±2 se (d_z = {simulation['d_z']})",
        )
    gp.legend("lower right" if A.point[m]["gain"] > 0.5 * (ylo + yhi) else "upper right")

    # Teacher (flat in eta_u) and student risks, every form.
    risks = [curve[k] for curve in A.curves.values() for k in ("teacher_risk", "student_risk")]
    rp = _svg.Panel(
        (0.0, 1.0),
        _svg.padded_range(risks),
        title=f"risks on D(η_t), η_t = {problem.eta_t:.2f}",
        xlabel="η_u",
        ylabel="excess risk",
        element_id="w2s-risks",
    )
    rp.vline(problem.eta_u, color=c["gray"], width=0.8, dash="4,3")
    for f, curve in A.curves.items():
        rp.line(A.eta_u, curve["teacher_risk"], color=c["blue"], width=2.0 if f == m else 1.3, dash=_dash(f, m))
        rp.line(A.eta_u, curve["student_risk"], color=c["orange"], width=2.0 if f == m else 1.3, dash=_dash(f, m))
    rp.legend_items += [("teacher", c["blue"], "", "line"), ("student", c["orange"], "", "line")]
    rp.legend_items += [(f"{f} (solid)" if f == m else f, c["gray"], _dash(f, m), "line") for f in A.curves]
    rp.legend("upper left")

    return (
        '<div id="w2s-plot" style="display:flex;flex-wrap:wrap;gap:4px">'
        + ph.svg(extra_right=bar, extra_width=48)
        + gp.svg()
        + rp.svg()
        + "</div>"
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _num(x: float, digits: int = 4) -> str:
    return "—" if not np.isfinite(x) else f"{x:.{digits}g}"


def summary_html(
    result: Result,
    problem: Problem,
    notes: tuple[str, ...] = (),
    simulation: dict[str, float] | None = None,
    render_seconds: float | None = None,
) -> str:
    """The explorer's text: gain headline (``#w2s-gain``), table of forms, eta_u*, notes, timings."""
    m = result.method
    A = result.along
    pt = A.point[m]
    g = pt["gain"]
    verdict = "W2S happens" if g > 0 else "W2S fails" if g < 0 else "no gain" if g == 0 else "not evaluated here"
    rows = "".join(
        f"<tr><td>{html.escape(f)}</td><td>{_num(v['teacher_risk'])}</td><td>{_num(v['student_risk'])}</td>"
        f"<td>{_num(v['gain'])}</td><td>{_num(_ratio(v['gain'], v['teacher_risk']))}</td></tr>"
        for f, v in A.point.items()
    )
    s = problem.summary()
    parts = [
        f'<p style="font-size:1.3em;margin:0"><b>W2S gain ({html.escape(m)}): '
        f'<span id="w2s-gain">{pt["gain"]:+.5f}</span></b> — {verdict}; relative '
        f"{_num(_ratio(pt['gain'], pt['teacher_risk']), 3)}</p>",
        '<table id="w2s-forms" style="font-size:0.9em;width:auto;min-width:32em"><tr><th>form</th><th>teacher risk</th>'
        f"<th>student risk</th><th>gain</th><th>relative</th></tr>{rows}</table>",
        f"<p style='margin:0.3em 0'>eta_u* ({html.escape(m)}, max over [0, 1]): "
        f'<span id="w2s-eta-u-star">{_num(A.eta_u_star)}</span>; '
        f"printed-form eta_u* (claim (b), docs/theory.md): {_num(A.eta_u_star_printed)}; "
        + (
            f"printed gain turns negative once ||mu_T||^2/sigma_xi2 &gt; {_num(A.failure_threshold)}"
            if np.isfinite(A.failure_threshold)
            else "the printed gain stays positive at any group separation here"
        )
        + "</p>",
        f"<p style='margin:0;color:#555;font-size:0.85em'>{html.escape(problem.group_model)} model, p_T = {s['p_T']}, "
        f"p_S = {s['p_S']}, ||Xi||_F^2 = {s['similarity']:.3g}, ||mu_T||^2/sigma_xi2 = {s['mu_T2']:.3g}, "
        f"||mu_S||^2/sigma_xi2 = {s['mu_S2']:.3g}; sigma_y2 = {problem.sigma_y2:g}. "
        f"The printed forms and the paper method are ridgeless with N = inf (they ignore nu and the ridges).</p>",
    ]
    if simulation is not None:
        parts.append(
            f'<p style="margin:0.3em 0">Simulation: gain <span id="w2s-sim">{simulation["gain"]:+.4f} ± '
            f"{simulation['se']:.4f}</span> (1 se; d_z = {simulation['d_z']}, {simulation['trials']} trials, "
            f"{simulation['seconds']:.1f} s; finite d_z, so expect a finite-size bias)</p>"
        )
    for note in notes:
        parts.append(f"<p style='margin:0;color:#a15c00'>note: {html.escape(note)}</p>")
    for error in dict.fromkeys((*result.phase.errors, *A.errors)):
        parts.append(f"<p style='margin:0;color:#b00020' class='w2s-error'>{html.escape(error)}</p>")
    timing = f"theory: phase diagram {1e3 * result.phase.seconds:.0f} ms, curves {1e3 * A.seconds:.0f} ms"
    if render_seconds is not None:
        timing += f", plot {1e3 * render_seconds:.0f} ms"
    parts.append(f"<p style='margin:0;color:#777;font-size:0.8em' id='w2s-timing'>{timing}</p>")
    return "\n".join(parts)
