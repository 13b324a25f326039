"""The explorer's sliders and the problem they stand for."""

from __future__ import annotations

import dataclasses

from setting.problem import Problem

P_MAX = 6  # largest p_T, p_S offered by the sliders


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
