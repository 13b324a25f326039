"""Where W2S fails: the sign of the gain over (||mu_T||^2/sigma_xi^2, p_T), with the paper's
12.5 (p_T - 1) line.

Xi = 0 (p_S = 1: the student sees no group feature), eta_l = eta_t = 0.5 and
eta_u = 0.5 + sqrt(0.08), so that (eta_u - eta_l)^2 - (eta_t - eta_l)^2 = 0.08: there the printed
forms fail exactly when ||mu_T||^2/sigma_xi^2 > 12.5 (p_T - 1) (docs/theory.md, "The paper", claim (d); the
paper's own choice of fractions is not known). Colour: the theory's relative gain; black
markers: the theory's boundary gain = 0 for each p_T (absent where the gain never turns
negative: under the mixture, the leading-order gain stays positive at every separation here).
Theory only.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D

from setting import group_models
from w2s import Problem

from ._common import THEORY_LABEL, theory

NAME = "failure"
ORDER = 40
ETA = dict(eta_l=0.5, eta_t=0.5, eta_u=0.5 + math.sqrt(0.08))
# The printed forms' failure line ||mu_T||^2/sigma_xi^2 = PAPER_SLOPE (p_T - 1) at these eta (12.5)
PAPER_SLOPE = 1.0 / ((ETA["eta_u"] - ETA["eta_l"]) ** 2 - (ETA["eta_t"] - ETA["eta_l"]) ** 2)
GAMMA, NU = 0.1, 0.05
P_T = tuple(range(2, 10))  # gamma_z p_T <= 0.9, below the teacher's interpolation threshold
FAST_P_T = (2, 3)  # each p_T is a new shape for the theory (a compilation; small shapes compile fastest)


def params(size: str) -> dict:
    fast = size == "fast"
    return {
        "eta": ETA,
        "gamma": GAMMA,
        "nu": NU,
        "p_T": FAST_P_T if fast else P_T,
        "separations": 13 if fast else 121,
        "models": group_models(),
    }


def compute(p: dict) -> dict[str, np.ndarray]:
    sep = np.linspace(0.0, 120.0, p["separations"])
    p_Ts = p["p_T"]
    out = {"separation": sep, "p_T": np.array(p_Ts)}
    for model in p["models"]:
        rows = []
        for p_T in p_Ts:
            problems = [
                Problem.from_scalars(p_T=p_T, p_S=1, mu_T2=float(a), gamma=GAMMA, nu=NU, group_model=model, **ETA)
                for a in sep
            ]
            rows.append(theory(problems)["relative_gain"])
        out[model.replace("-", "_")] = np.array(rows)  # [p_T, separation]
    return out


def boundary(sep: np.ndarray, gain: np.ndarray) -> float:
    """First separation where the gain crosses zero (linear interpolation); NaN if it never does."""
    neg = np.nonzero(gain < 0)[0]
    if neg.size == 0 or neg[0] == 0:
        return math.nan
    i = neg[0]
    return float(sep[i - 1] + (sep[i] - sep[i - 1]) * gain[i - 1] / (gain[i - 1] - gain[i]))


def plot(data: dict[str, np.ndarray], p: dict) -> dict:
    sep, p_T = data["separation"], data["p_T"]
    models = p["models"]
    gains = [data[m.replace("-", "_")] for m in models]
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-1.0, vmax=1.0)  # relative gain <= 1; clipped below at -1
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.4), sharey=True, constrained_layout=True)
    for ax, model, g in zip(axes, models, gains, strict=True):
        mesh = ax.pcolormesh(sep, p_T, g, cmap="RdBu", norm=norm, shading="nearest", rasterized=True)
        ax.plot([boundary(sep, row) for row in g], p_T, "ko-", ms=4, lw=1.2)
        line = np.array([1.5, P_T[-1] + 0.5])
        ax.plot(PAPER_SLOPE * (line - 1), line, color="0.1", lw=1.5, ls="--")
        ax.set_xlim(sep[0], sep[-1])
        ax.set_title(f"{model} model", fontsize=11)
        ax.set_xlabel(r"teacher group separation $\|\mu_T\|^2/\sigma_\xi^2$")
    axes[0].set_ylabel(r"teacher group-feature dimension $p_T$")
    axes[-1].legend(
        handles=[
            Line2D([], [], color="k", marker="o", ms=4, label=f"gain = 0 ({THEORY_LABEL})"),
            Line2D(
                [], [], color="0.1", ls="--", label=rf"paper: $\|\mu_T\|^2/\sigma_\xi^2 = {PAPER_SLOPE:.3g}\,(p_T - 1)$"
            ),
        ],
        fontsize=8,
        loc="lower right",
        framealpha=0.9,
    )
    fig.colorbar(mesh, ax=axes, shrink=0.9, extend="min", label=r"relative W2S gain  $1 - E\,ER(f_S)/E\,ER(f_T)$")
    fig.suptitle(
        rf"$\Xi = 0\ (p_S = 1),\ \eta_l = \eta_t = 0.5,\ \eta_u = 0.5 + \sqrt{{0.08}} \approx {ETA['eta_u']:.3f},\ "
        rf"\gamma_z = {GAMMA:g},\ \nu_z = {NU:g}$;  blue: W2S gain > 0, red: W2S fails",
        fontsize=10,
    )
    return {NAME: fig}
