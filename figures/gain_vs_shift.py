"""W2S gain against (eta_u - eta_l)^2: the paper's printed form, the theory, and simulation.

Xi = 0, so the printed gain is exactly linear in (eta_u - eta_l)^2 with slope -||mu_T||^2/sigma_xi^2
(docs/theory.md, "The paper", claim (d)). Left: the mixture model (a true two-group population), right:
the mean-shift model, under which the printed forms are the leading order of the theory.
The printed form is for N = inf and leading order in gamma_z; theory and simulation use the
finite gamma_z and nu_z given in the title.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from setting import group_models
from w2s import Problem

from ._common import THEORY_LABEL, errorbar, printed_risks, sim_curves, sim_note, simulate_points, theory

NAME = "gain_vs_shift"
ORDER = 10
SEPARATIONS = (1.0, 4.0, 16.0)  # ||mu_T||^2 / sigma_xi^2
BASE = dict(p_T=3, p_S=2, similarity=0.0, mu_S2=0.0, eta_l=0.1, eta_t=0.5, gamma=0.1, nu=0.1)
COLORS = ("C0", "C1", "C3")


def params(size: str) -> dict:
    fast = size == "fast"
    return {
        "base": BASE,
        "separations": SEPARATIONS,
        "lines": 11 if fast else 81,
        "points": 3 if fast else 6,
        "models": group_models(),
    }


def grids(p: dict) -> tuple[np.ndarray, np.ndarray]:
    """eta_u for the lines, and for the simulation (evenly spaced in (eta_u - eta_l)^2)."""
    top = (1.0 - BASE["eta_l"]) ** 2
    lines = BASE["eta_l"] + np.sqrt(np.linspace(0.0, top, p["lines"]))
    points = BASE["eta_l"] + np.sqrt(np.linspace(0.0, top, p["points"]))
    return lines, points


def problem(model: str, a: float, eta_u: float) -> Problem:
    return Problem.from_scalars(**{**BASE, "mu_T2": a}, eta_u=float(eta_u), group_model=model)


def compute(p: dict) -> dict[str, np.ndarray]:
    size = p["size"]
    lines, points = grids(p)
    out: dict[str, np.ndarray] = {"eta_u": lines, "eta_u_sim": points}
    for model in p["models"]:
        key = model.replace("-", "_")
        out[f"{key}_theory"] = np.array([theory([problem(model, a, e) for e in lines])["gain"] for a in SEPARATIONS])
        out[f"{key}_printed"] = np.array(
            [printed_risks([problem(model, a, e) for e in lines])["gain"] for a in SEPARATIONS]
        )
        sims = [
            simulate_points([problem(model, a, e) for e in points], size, desc=f"{NAME} {model}")
            for a in sim_curves(SEPARATIONS, size)
        ]
        out[f"{key}_sim"] = np.array([s["gain"] for s in sims])
        out["trials"] = sims[0]["trials"]
    return out


def plot(data: dict[str, np.ndarray], p: dict) -> dict:
    eta_l = BASE["eta_l"]
    shift2, shift2_sim = (data["eta_u"] - eta_l) ** 2, (data["eta_u_sim"] - eta_l) ** 2
    models = p["models"]
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4.2), sharey=True, constrained_layout=True)
    for ax, model in zip(axes, models, strict=True):
        key = model.replace("-", "_")
        for i, c in enumerate(COLORS):
            ax.plot(shift2, data[f"{key}_theory"][i], color=c, lw=1.8)
            ax.plot(shift2, data[f"{key}_printed"][i], color=c, lw=1.2, ls="--")
            if i < len(data[f"{key}_sim"]):
                errorbar(ax, shift2_sim, data[f"{key}_sim"][i], color=c)
        ax.axhline(0.0, color="0.5", lw=0.8, ls=":")
        ax.set_title(f"{model} model")
        ax.set_xlabel(r"$(\eta_u - \eta_l)^2$")
    axes[0].set_ylabel(r"W2S gain  $E\,ER(f_T) - E\,ER(f_S)$")
    handles = [
        Line2D([], [], color=c, lw=1.8, label=rf"$\|\mu_T\|^2/\sigma_\xi^2 = {a:g}$")
        for a, c in zip(SEPARATIONS, COLORS, strict=True)
    ]
    handles += [
        Line2D([], [], color="k", lw=1.8, label=THEORY_LABEL),
        Line2D([], [], color="k", lw=1.2, ls="--", label=r"printed form ($\gamma_z \to 0$, $N = \infty$)"),
        Line2D([], [], color="k", marker="o", mfc="white", ls="", label="simulation ±1 s.e."),
    ]
    axes[-1].legend(handles=handles, fontsize=8, loc="lower left")
    fig.suptitle(
        rf"$p_T = {BASE['p_T']},\ p_S = {BASE['p_S']},\ \Xi = 0,\ \eta_l = {eta_l},\ \eta_t = {BASE['eta_t']},\ "
        rf"\gamma_z = {BASE['gamma']},\ \nu_z = {BASE['nu']},\ \sigma_y^2 = 1$" + f"\n{sim_note(p, data['trials'])}",
        fontsize=10,
    )
    return {NAME: fig}
