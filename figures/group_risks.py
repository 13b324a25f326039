"""Per-group risks of teacher and student against eta_u: majority (eta_t = 0) and minority (eta_t = 1).

The teacher never sees the pseudolabels, so its risk is flat in eta_u; the student's risk on each
group moves with the pseudolabels' group mix. Theory as lines, simulation as markers (one
simulation per eta_u gives both groups' risks). Mixture model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from w2s import Problem

from ._common import THEORY_LABEL, errorbar, sim_note, simulate_points, theory

NAME = "group_risks"
ORDER = 50
BASE = dict(p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=1.0, eta_l=0.3, gamma=0.1, nu=0.1)
GROUPS = ((0, "majority group ($\\eta_t = 0$)"), (1, "minority group ($\\eta_t = 1$)"))


def problem(eta_u: float, eta_t: float) -> Problem:
    return Problem.from_scalars(**BASE, eta_u=float(eta_u), eta_t=float(eta_t))


def params(size: str) -> dict:
    fast = size == "fast"
    return {"base": BASE, "lines": 21 if fast else 101, "points": 3 if fast else 6}


def compute(p: dict) -> dict[str, np.ndarray]:
    lines = np.linspace(0.0, 1.0, p["lines"])
    points = np.linspace(0.0, 1.0, p["points"])
    out: dict[str, np.ndarray] = {"eta_u": lines, "eta_u_sim": points}
    for g, _ in GROUPS:
        r = theory([problem(e, g) for e in lines])
        out[f"teacher_g{g}"], out[f"student_g{g}"] = r["teacher_risk"], r["student_risk"]
    # eta_t does not change the per-group risks; at 0.5 these cells are those of trends panel (c).
    sim = simulate_points([problem(e, 0.5) for e in points], p["size"], desc=NAME)
    for k, v in sim.items():
        out[f"sim_{k}"] = v
    return out


def plot(data: dict[str, np.ndarray], p: dict) -> dict:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    for ax, (g, title) in zip(axes, GROUPS, strict=True):
        ax.plot(data["eta_u"], data[f"teacher_g{g}"], color="C3", lw=1.8)
        ax.plot(data["eta_u"], data[f"student_g{g}"], color="C0", lw=1.8)
        errorbar(ax, data["eta_u_sim"], data[f"sim_teacher_risk_g{g}"], color="C3", fmt="s")
        errorbar(ax, data["eta_u_sim"], data[f"sim_student_risk_g{g}"], color="C0")
        ax.axvline(BASE["eta_l"], color="0.4", lw=0.8, ls="--")
        ax.text(BASE["eta_l"], 0.98, r" $\eta_l$", transform=ax.get_xaxis_transform(), va="top", fontsize=9)
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(r"pseudolabel minority fraction $\eta_u$")
        ax.set_ylim(bottom=0.0)
    axes[0].set_ylabel(r"excess risk on the group  $E\,ER_{\eta_t}$")
    handles = [
        Line2D([], [], color="C3", lw=1.8, label="teacher"),
        Line2D([], [], color="C0", lw=1.8, label="student (W2S)"),
        Line2D([], [], color="k", lw=1.8, label=f"lines: {THEORY_LABEL}"),
        Line2D([], [], color="k", marker="o", mfc="white", ls="", label="markers: simulation ±1 s.e."),
    ]
    fig.legend(handles=handles, fontsize=9, loc="outside lower center", ncol=len(handles), frameon=False)
    fig.suptitle(
        rf"mixture, $p_T = {BASE['p_T']},\ p_S = {BASE['p_S']},\ \|\Xi\|_F^2 = {BASE['similarity']:g},\ "
        rf"\|\mu_T\|^2/\sigma_\xi^2 = {BASE['mu_T2']:g},\ \|\mu_S\|^2/\sigma_\xi^2 = {BASE['mu_S2']:g},\ "
        rf"\eta_l = {BASE['eta_l']},\ \gamma_z = {BASE['gamma']},\ \nu_z = {BASE['nu']},\ \sigma_y^2 = 1$"
        + f"\n{sim_note(p, data['sim_trials'])}",
        fontsize=10,
    )
    return {NAME: fig}
