"""The paper's trends: W2S gain against eta_u at fixed eta_l.

(a) for several nu_z = d_z/N (fewer pseudolabels: smaller gain), (b) for several teacher-student
similarities ||Xi||_F^2 (more similar: smaller gain), (c) for several student separations
||mu_S||^2/sigma_xi^2, with the optimal eta_u* marked (it moves away from eta_l as ||mu_S|| grows).
Theory as lines, simulation as markers; mixture model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from w2s import Problem

from ._common import THEORY_LABEL, errorbar, eta_u_star, sim_curves, sim_note, simulate_points, theory

NAME = "trends"
ORDER = 20
BASE = dict(p_T=3, p_S=2, similarity=0.0, mu_T2=4.0, mu_S2=0.0, eta_l=0.3, eta_t=0.5, gamma=0.1, nu=0.1)
PANELS = (
    ("nu", (0.05, 0.15, 0.3), r"\nu_z", {}),
    ("similarity", (0.0, 0.3, 0.6, 0.9), r"\|\Xi\|_F^2", {}),
    ("mu_S2", (0.0, 0.5, 1.0, 2.0), r"\|\mu_S\|^2/\sigma_\xi^2", {"similarity": 0.5}),
)


def problem(name: str, value: float, extra: dict, eta_u: float) -> Problem:
    spec = {**BASE, **extra, name: value, "eta_u": float(eta_u)}
    return Problem.from_scalars(**spec)


def params(size: str) -> dict:
    fast = size == "fast"
    panels = [(name, values, extra) for name, values, _, extra in PANELS]
    return {"base": BASE, "panels": panels, "lines": 21 if fast else 201, "points": 3 if fast else 6}


def compute(p: dict) -> dict[str, np.ndarray]:
    size = p["size"]
    lines = np.linspace(0.0, 1.0, p["lines"])
    points = np.linspace(0.0, 1.0, p["points"])
    out: dict[str, np.ndarray] = {"eta_u": lines, "eta_u_sim": points}
    for name, values, _, extra in PANELS:
        curves, stars, printed_stars, sims = [], [], [], []
        for v in values:
            grid = [problem(name, v, extra, e) for e in lines]
            gain = theory(grid)["gain"]
            curves.append(gain)
            # eta_u*: the maximiser of the gain over [0, 1] (the teacher's risk does not depend on
            # eta_u, so this minimises the student's risk); the printed form's closed form beside it.
            stars.append(float(eta_u_star(grid[:1])[0]))
            printed_stars.append(float(eta_u_star(grid[:1], "printed")[0]))
            if v in sim_curves(values, size):
                s = simulate_points([problem(name, v, extra, e) for e in points], size, desc=f"{NAME} {name}={v:g}")
                sims.append(s["gain"])
                out["trials"] = s["trials"]
        out[f"{name}_theory"] = np.array(curves)
        out[f"{name}_star"] = np.array(stars)
        out[f"{name}_star_printed"] = np.array(printed_stars)
        out[f"{name}_sim"] = np.array(sims)
    return out


def plot(data: dict[str, np.ndarray], p: dict) -> dict:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), sharey=True, constrained_layout=True)
    for ax, (name, values, tex, extra), letter in zip(axes, PANELS, "abc", strict=True):
        for i, v in enumerate(values):
            c = f"C{i}"
            ax.plot(data["eta_u"], data[f"{name}_theory"][i], color=c, lw=1.8, label=rf"${tex} = {v:g}$")
            if i < len(data[f"{name}_sim"]):
                errorbar(ax, data["eta_u_sim"], data[f"{name}_sim"][i], color=c)
            if name == "mu_S2":
                star = data[f"{name}_star"][i]
                ax.plot(
                    [star],
                    [np.interp(star, data["eta_u"], data[f"{name}_theory"][i])],
                    marker="*",
                    ms=13,
                    color=c,
                    mec="k",
                    mew=0.6,
                    ls="",
                    zorder=5,
                )
                ps = data[f"{name}_star_printed"][i]
                if 0.0 <= ps <= 1.0:
                    ax.axvline(ps, color=c, lw=0.9, ls=(0, (2, 2)), ymax=0.12)
        ax.axvline(BASE["eta_l"], color="0.4", lw=0.8, ls="--")
        ax.axhline(0.0, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel(r"pseudolabel minority fraction $\eta_u$")
        fixed = {k: v for k, v in {**BASE, **extra}.items() if k in ("nu", "similarity", "mu_S2") and k != name}
        ax.set_title(f"({letter}) " + ", ".join(_tex(k, v) for k, v in fixed.items()), fontsize=10)
        handles, _ = ax.get_legend_handles_labels()
        if name == "mu_S2":
            handles += [
                Line2D([], [], color="k", marker="*", ms=10, mec="k", ls="", label=r"$\eta_u^*$ (theory)"),
                Line2D([], [], color="k", lw=0.9, ls=(0, (2, 2)), label=r"$\eta_u^*$ (printed form)"),
            ]
        ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.9)
        ax.text(BASE["eta_l"], 0.98, r" $\eta_l$", transform=ax.get_xaxis_transform(), va="top", fontsize=9)
    axes[0].set_ylabel(r"W2S gain  $E\,ER(f_T) - E\,ER(f_S)$")
    fig.suptitle(
        rf"mixture, $p_T = {BASE['p_T']},\ p_S = {BASE['p_S']},\ \|\mu_T\|^2/\sigma_\xi^2 = {BASE['mu_T2']:g},\ "
        rf"\eta_l = {BASE['eta_l']},\ \eta_t = {BASE['eta_t']},\ \gamma_z = {BASE['gamma']},\ \sigma_y^2 = 1$"
        + f"\nlines: {THEORY_LABEL}; {sim_note(p, data['trials'])}",
        fontsize=10,
    )
    return {NAME: fig}


def _tex(name: str, value: float) -> str:
    return {
        "nu": rf"$\nu_z = {value:g}$",
        "similarity": rf"$\|\Xi\|_F^2 = {value:g}$",
        "mu_S2": rf"$\|\mu_S\|^2/\sigma_\xi^2 = {value:g}$",
    }[name]
