"""The explorer's page: the three plots as inline SVG and the text beside them, as HTML strings."""

from __future__ import annotations

import html

import numpy as np

from setting.problem import Problem
from w2s import _svg

from ._theory import PRINTED, Result

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
