"""Predicted against empirical risks over a grid of problems, with the y = x line.

Left: the theory against simulation; right: the paper's printed forms (leading order in
gamma_z, N = inf) against the same simulations. Each problem contributes the teacher's and the
student's risk on three test distributions: eta_t = 0.5 (the headline risk), 0 and 1 (the
per-group risks). Error bars: one standard error of the simulation.
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

import simulate
from setting import group_models
from w2s import Problem

from ._common import THEORY_LABEL, printed_risks, sim_note, simulate_points, theory

NAME = "predicted_vs_empirical"
ORDER = 60
BASE = dict(p_T=3, p_S=2, similarity=0.5, mu_S2=1.0, eta_l=0.3, eta_t=0.5)
# Each (gamma_z, nu_z) pair is a new sample-size shape for the simulator (a new compilation),
# so the grid spreads over the cheap fields instead.
AXES = {"gamma_nu": ((0.1, 0.1), (0.2, 0.05)), "eta_u": (0.1, 0.5, 0.9), "mu_T2": (1.0, 9.0)}
FAST_AXES = {"gamma_nu": ((0.1, 0.1),), "eta_u": (0.1, 0.9), "mu_T2": (4.0,)}
# (simulation key, theory key, eta_t)
TARGETS = (
    ("teacher_risk", "teacher_risk", 0.5),
    ("student_risk", "student_risk", 0.5),
    ("teacher_risk_g0", "teacher_risk", 0.0),
    ("student_risk_g0", "student_risk", 0.0),
    ("teacher_risk_g1", "teacher_risk", 1.0),
    ("student_risk_g1", "student_risk", 1.0),
)


def params(size: str) -> dict:
    return {"base": BASE, "axes": FAST_AXES if size == "fast" else AXES, "models": group_models()}


def problems(model: str, axes: dict) -> list[Problem]:
    return [
        Problem.from_scalars(**BASE, gamma=g, nu=n, eta_u=e, mu_T2=a, group_model=model)
        for (g, n), e, a in itertools.product(*axes.values())
    ]


def compute(p: dict) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for model in p["models"]:
        key = model.replace("-", "_")
        probs = problems(model, p["axes"])
        sim = simulate_points(probs, p["size"], desc=f"{NAME} {model}")
        pred, printed, emp = [], [], []
        for sim_key, th_key, eta_t in TARGETS:
            at = [q.replace(eta_t=eta_t) for q in probs]
            pred.append(theory(at)[th_key])
            printed.append(printed_risks(at)[th_key])
            emp.append(sim[sim_key])
        out[f"{key}_theory"] = np.array(pred)  # [target, problem]
        out[f"{key}_printed"] = np.array(printed)
        out[f"{key}_sim"] = np.array(emp)  # [target, problem, (mean, se)]
        out["trials"] = sim["trials"]
    return out


def plot(data: dict[str, np.ndarray], p: dict) -> dict:
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 5.0), sharex=True, sharey=True, constrained_layout=True)
    colors = {m: f"C{i}" for i, m in enumerate(p["models"])}
    markers = {"teacher": "s", "student": "o"}
    top = 0.0
    for ax, which, title in zip(axes, ("theory", "printed"), (THEORY_LABEL, "printed form"), strict=True):
        lines = []
        for model in p["models"]:
            key = model.replace("-", "_")
            pred, emp = data[f"{key}_{which}"], data[f"{key}_sim"]
            for i, (sim_key, _, _) in enumerate(TARGETS):
                role = sim_key.split("_")[0]
                ax.errorbar(
                    pred[i],
                    emp[i, :, 0],
                    yerr=emp[i, :, 1],
                    fmt=markers[role],
                    ms=4,
                    color=colors[model],
                    mfc="white",
                    capsize=1.5,
                    elinewidth=0.9,
                    alpha=0.85,
                )
            z = simulate.z_score(emp[..., 0], emp[..., 1], pred)
            lines.append(f"{model}: median |sim - pred| / s.e. = {np.median(np.abs(z)):.1f}")
            top = max(top, float(np.max(pred)), float(np.max(emp[..., 0] + emp[..., 1])))
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("predicted excess risk")
        ax.text(
            0.03,
            0.97,
            "\n".join(lines),
            transform=ax.transAxes,
            va="top",
            fontsize=8,
            bbox=dict(boxstyle="round", fc="white", ec="0.8"),
        )
    top *= 1.05
    for ax in axes:
        ax.plot([0, top], [0, top], color="0.3", lw=1.0, ls="--", zorder=0)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal")
    axes[0].set_ylabel("simulated excess risk")
    handles = [Line2D([], [], color=c, marker="o", ls="", label=f"{m} model") for m, c in colors.items()]
    handles += [Line2D([], [], color="k", marker=mk, mfc="white", ls="", label=r) for r, mk in markers.items()]
    handles.append(Line2D([], [], color="0.3", ls="--", label="y = x"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=9, frameon=False)
    axes_ = p["axes"]
    grid = (
        r"$(\gamma_z, \nu_z) \in \{"
        + ", ".join(f"({g:g}, {n:g})" for g, n in axes_["gamma_nu"])
        + r"\}$, "
        + r"$\eta_u \in \{"
        + ", ".join(f"{v:g}" for v in axes_["eta_u"])
        + r"\}$, "
        + r"$\|\mu_T\|^2/\sigma_\xi^2 \in \{"
        + ", ".join(f"{v:g}" for v in axes_["mu_T2"])
        + r"\}$"
    )
    fig.suptitle(
        rf"$p_T = {BASE['p_T']},\ p_S = {BASE['p_S']},\ \|\Xi\|_F^2 = {BASE['similarity']:g},\ "
        rf"\|\mu_S\|^2/\sigma_\xi^2 = {BASE['mu_S2']:g},\ \eta_l = {BASE['eta_l']}$,"
        + "\n"
        + grid
        + r"; $\eta_t \in \{0, 0.5, 1\}$"
        + f"\n{sim_note(p, data['trials'])}",
        fontsize=10,
    )
    return {NAME: fig}
