"""W2S gain against (eta_u - eta_l)^2 from the leading-order forms, for several group separations.

Left: mixture model; right: mean-shift model (where the leading-order form is the paper's printed
one and is exactly linear in (eta_u - eta_l)^2 when Xi = 0).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import asymptotics
from w2s import Problem

from ._common import cached, save

NAME = "gain_vs_shift"
SEPARATIONS = (1.0, 4.0, 9.0, 16.0)  # ||mu_T||^2 / sigma_xi^2
BASE = dict(p_T=3, p_S=2, similarity=0.0, mu_S2=0.0, eta_l=0.1, eta_t=0.5, gamma=0.1)


def compute(size: str) -> dict[str, np.ndarray]:
    eta_u = np.linspace(BASE["eta_l"], 1.0, 11 if size == "fast" else 91)
    gains = {}
    for model in ("mixture", "mean-shift"):
        rows = []
        for a in SEPARATIONS:
            problem = Problem.from_scalars(**{**BASE, "mu_T2": a}, group_model=model)
            rows.append(asymptotics.on_grid(lambda q: asymptotics.risks(q, "paper")["gain"], problem, eta_u=eta_u))
        gains[model] = np.asarray(rows)
    return {"eta_u": eta_u, "mixture": gains["mixture"], "mean_shift": gains["mean-shift"]}


def plot(data: dict[str, np.ndarray]):
    shift2 = (data["eta_u"] - BASE["eta_l"]) ** 2
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, constrained_layout=True)
    for ax, key, title in zip(axes, ("mixture", "mean_shift"), ("mixture model", "mean-shift model")):
        for a, g in zip(SEPARATIONS, data[key]):
            ax.plot(shift2, g, label=rf"$\|\mu_T\|^2/\sigma_\xi^2 = {a:g}$")
        ax.axhline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_title(title)
        ax.set_xlabel(r"$(\eta_u - \eta_l)^2$")
    axes[0].set_ylabel(r"W2S gain (leading order, $\sigma_y^2 = 1$)")
    axes[1].legend(fontsize=8, loc="lower left")
    fig.suptitle(
        rf"$p_T = {BASE['p_T']},\ p_S = {BASE['p_S']},\ \Xi = 0,\ \eta_l = {BASE['eta_l']},\ "
        rf"\eta_t = {BASE['eta_t']},\ \gamma_z = {BASE['gamma']},\ \nu_z \to 0$",
        fontsize=10,
    )
    return fig


def main(size: str = "default"):
    params = {"size": size, "base": BASE, "separations": SEPARATIONS, "method": "paper"}
    data = cached(NAME, params, lambda: compute(size))
    fig = plot(data)
    paths = save(fig, NAME)
    plt.close(fig)
    return paths
