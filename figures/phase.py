"""Phase diagrams over (eta_l, eta_u): the sign and size of the W2S gain, with the boundary gain = 0.

Colour: the relative gain (E ER(f_T) - E ER(f_S)) / E ER(f_T) from the theory; black line: gain = 0
(W2S fails outside it); dashed: eta_u = eta_l, where the paper says W2S always happens for small
nu_z. One panel per (gamma_z, nu_z, ||Xi||_F^2). Theory only.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm

from w2s import Problem

from ._common import THEORY_LABEL, theory

NAME = "phase"
ORDER = 30
BASE = dict(p_T=3, p_S=2, mu_T2=16.0, mu_S2=0.0, eta_t=0.5)
PANELS = (  # (gamma_z, nu_z, ||Xi||_F^2)
    (0.1, 0.05, 0.0),
    (0.3, 0.05, 0.0),  # gamma_z p_T = 0.9, near the teacher's interpolation threshold
    (0.1, 0.3, 0.0),
    (0.1, 0.05, 0.9),
)


def params(size: str) -> dict:
    return {"base": BASE, "panels": PANELS, "eta": 11 if size == "fast" else 61}


def compute(p: dict) -> dict[str, np.ndarray]:
    eta = np.linspace(0.0, 1.0, p["eta"])
    out = {"eta": eta}
    for i, (gamma, nu, sim) in enumerate(PANELS):
        base = Problem.from_scalars(**BASE, similarity=sim, gamma=gamma, nu=nu)
        problems = [base.replace(eta_l=float(el), eta_u=float(eu)) for eu in eta for el in eta]
        r = theory(problems)
        out[f"relative_gain_{i}"] = r["relative_gain"].reshape(eta.size, eta.size)  # [eta_u, eta_l]
    return out


def plot(data: dict[str, np.ndarray], p: dict) -> dict:
    eta = data["eta"]
    gains = [data[f"relative_gain_{i}"] for i in range(len(PANELS))]
    lo = min(float(np.nanmin(g)) for g in gains)
    hi = max(float(np.nanmax(g)) for g in gains)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=min(lo, -1e-3), vmax=max(hi, 1e-3))
    fig, axes = plt.subplots(2, 2, figsize=(9.2, 9.0), sharex=True, sharey=True, constrained_layout=True)
    for ax, g, (gamma, nu, sim) in zip(axes.flat, gains, PANELS, strict=True):
        mesh = ax.pcolormesh(eta, eta, g, cmap="RdBu", norm=norm, shading="gouraud", rasterized=True)
        if np.nanmin(g) < 0 < np.nanmax(g):
            cs = ax.contour(eta, eta, g, levels=[0.0], colors="k", linewidths=1.5)
            ax.clabel(cs, fmt={0.0: "gain = 0"}, fontsize=8)
        ax.plot([0, 1], [0, 1], color="0.2", lw=0.9, ls="--")
        ax.set_aspect("equal")
        ax.set_title(rf"$\gamma_z = {gamma:g},\ \nu_z = {nu:g},\ \|\Xi\|_F^2 = {sim:g}$", fontsize=10)
    for ax in axes[1]:
        ax.set_xlabel(r"labeled minority fraction $\eta_l$")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"pseudolabel minority fraction $\eta_u$")
    fig.colorbar(mesh, ax=axes, shrink=0.6, label=r"relative W2S gain  $1 - E\,ER(f_S)/E\,ER(f_T)$")
    fig.suptitle(
        rf"mixture, $p_T = {BASE['p_T']},\ p_S = {BASE['p_S']},\ \|\mu_T\|^2/\sigma_\xi^2 = {BASE['mu_T2']:g},\ "
        rf"\|\mu_S\|^2/\sigma_\xi^2 = {BASE['mu_S2']:g},\ \eta_t = {BASE['eta_t']}$"
        + f"\n{THEORY_LABEL}"
        + "\nblue: W2S gain > 0, red: W2S fails; dashed: $\\eta_u = \\eta_l$",
        fontsize=10,
    )
    return {NAME: fig}
