r"""The audit's problem samplers: two strata, general and scalar-family geometries, paired group models.

Two strata of the problem space (:data:`STRATA`):

* ``paper_regime``: the setting of the paper's theorems: ridgeless teacher and student,
  :math:`\gamma_zp_T\le 0.1`, :math:`\nu_zp_S\le 0.05`;
* ``box``: a wider box (finite :math:`\gamma_z` up to :math:`\gamma_zp_T = 0.8`, :math:`\nu_z` up to
  0.3, ridges), on which the leading order is not expected to hold.

Ridges are drawn relative to :math:`\lambda_{\rm ref} = \sigma_y^2\gamma_zp_T/\|\beta^*\|^2`, the optimal
ridge of isotropic ridge regression at the teacher's aspect ratio (Dobriban & Wager 2018), so that a
ridge is neither negligible nor dominant at every :math:`\gamma_z`.

Each sampled geometry is drawn once and evaluated under every group model (:func:`for_models`):
the models' verdicts are paired, so their difference carries no sampling noise.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from setting.problem import Problem

SIGMAS = dict(sigma_y2=1.0, signal=1.0, sigma_xi2=1.0)  # held fixed across the box
SEPARATION_MAX = 40.0  # ||mu_xi||^2 / sigma_xi^2 (and ||mu_T||^2, ||mu_S||^2 in the scalar family)


@dataclasses.dataclass(frozen=True)
class Stratum:
    """Where the hyper-parameters of a sampled problem come from.

    ``gamma_pT``: the range of :math:`\\gamma_zp_T` (log-uniform); ``nu_pS``: the range of
    :math:`\\nu_zp_S` (uniform; :math:`\\nu_z = 0` with probability 1/4); ``ridges``: whether
    ridges are drawn (0 with probability 1/2, else :math:`\\lambda_{\\rm ref}10^{U[-1,1]}`) or all 0.
    """

    name: str
    title: str
    gamma_pT: tuple[float, float]
    nu_pS: tuple[float, float]
    ridges: bool
    text: str


STRATA: dict[str, Stratum] = {
    s.name: s
    for s in (
        Stratum(
            "paper_regime",
            "paper's regime",
            (0.01, 0.1),
            (0.0025, 0.05),
            False,
            "ridgeless teacher and student; gamma_z p_T log-uniform on [0.01, 0.1]; nu_z = 0 with probability "
            "1/4, else nu_z p_S uniform on [0.0025, 0.05]",
        ),
        Stratum(
            "box",
            "whole box",
            (0.05, 0.8),
            (0.01, 0.6),
            True,
            "gamma_z p_T log-uniform on [0.05, 0.8]; nu_z = 0 with probability 1/4, else nu_z p_S uniform on "
            "[0.01, 0.6]; lambda_T, lambda_S each 0 with probability 1/2, else lambda_ref 10^U[-1, 1] with "
            "lambda_ref = sigma_y^2 gamma_z p_T / ||beta*||^2",
        ),
    )
}

COMMON_TEXT = {
    "sigmas": "sigma_y^2 = ||beta*||^2 = sigma_xi^2 = 1 (fixed)",
    "etas": "eta_l, eta_u, eta_t uniform on [0, 1] unless the claim fixes them",
    "geometry": (
        "general: T = [e_1..e_{p_T-1}], S at Haar-random angles with cosines uniform on [0, 1], mu_xi uniform "
        f"in direction with ||mu_xi||^2/sigma_xi^2 uniform on [0, {SEPARATION_MAX:g}]; scalar family "
        "(Problem.from_scalars, p_S = 2): ||Xi||_F^2 uniform on [0, 1], ||mu_T||^2/sigma_xi^2 and "
        f"||mu_S||^2/sigma_xi^2 uniform on [0, {SEPARATION_MAX:g}], Xi mu_S along +mu_T or (where a claim says "
        "so) -mu_T"
    ),
    "group models": "every sampled geometry is evaluated under each group model (paired)",
}


def lambda_ref(gamma: float, p_T: int) -> float:
    """:math:`\\sigma_y^2\\gamma_zp_T/\\|\\beta^*\\|^2`: the scale the box's ridges are drawn around."""
    return SIGMAS["sigma_y2"] * gamma * p_T / SIGMAS["signal"]


def _haar(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n x k matrix with orthonormal columns, uniform (Haar) on the Stiefel manifold."""
    if k == 0:
        return np.zeros((n, 0))
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def random_geometry(rng: np.random.Generator, p_T: int, p_S: int, separation: float) -> dict[str, np.ndarray]:
    r"""A general group-feature geometry in :math:`p = (p_T - 1) + (p_S - 1)` dimensions.

    :math:`T = [e_1, \dots, e_{p_T-1}]` (any other choice is a rotation of this one);
    :math:`S = [A\,\mathrm{diag}(c);\ B\,\mathrm{diag}(\sqrt{1-c^2})]` with :math:`A` ((p_T-1) x (p_S-1)) and
    :math:`B` ((p_S-1) x (p_S-1)) Haar, cosines :math:`c_j\sim U[0,1]`, so
    :math:`\|\Xi\|_F^2 = \sum_j c_j^2`; :math:`\mu_\xi` uniform in direction with
    :math:`\|\mu_\xi\|^2/\sigma_\xi^2 =` ``separation``.
    """
    kT, kS = p_T - 1, p_S - 1
    p = max(kT + kS, 1)
    T = np.eye(p)[:, :kT]
    c = rng.uniform(0.0, 1.0, kS)
    A, B = _haar(rng, kT, kS), _haar(rng, p - kT, kS)
    S = np.concatenate([A * c, B * np.sqrt(1.0 - c * c)], axis=0)
    u = rng.standard_normal(p)
    mu = u / np.linalg.norm(u) * math.sqrt(separation * SIGMAS["sigma_xi2"])
    return {"T": T, "S": S, "mu_xi": mu}


def hyper(rng: np.random.Generator, p_T: int, p_S: int, stratum: Stratum, nu_pS_high: float | None = None):
    """gamma_z, nu_z and the two ridges of one problem of ``stratum`` (the draws in that order)."""
    lo, hi = stratum.gamma_pT
    gamma = float(10.0 ** rng.uniform(math.log10(lo), math.log10(hi)) / p_T)
    nlo, nhi = stratum.nu_pS
    nhi = nhi if nu_pS_high is None else min(nhi, nu_pS_high)
    nu = 0.0 if rng.uniform() < 0.25 else float(rng.uniform(nlo, nhi) / p_S)
    ridges = []
    for _ in range(2):
        draw = rng.uniform(), rng.uniform(-1.0, 1.0)  # drawn in every stratum: the streams stay aligned
        ridges.append(0.0 if not stratum.ridges or draw[0] < 0.5 else lambda_ref(gamma, p_T) * 10.0 ** draw[1])
    return dict(gamma=gamma, nu=nu, ridge_teacher=ridges[0], ridge_student=ridges[1])


def base_spec(rng, p_T: int, p_S: int, stratum: Stratum, nu_pS_high: float | None = None) -> dict[str, Any]:
    spec = hyper(rng, p_T, p_S, stratum, nu_pS_high)
    spec.update(eta_l=float(rng.uniform()), eta_u=float(rng.uniform()), eta_t=float(rng.uniform()), **SIGMAS)
    return spec


def general(rng, p_T: int, p_S: int, stratum: Stratum, **over) -> Problem:
    """A problem of the general geometry; ``over`` replaces fields (``nu_pS_high`` caps nu_z p_S)."""
    spec = base_spec(rng, p_T, p_S, stratum, over.pop("nu_pS_high", None))
    spec.update(random_geometry(rng, p_T, p_S, float(rng.uniform(0.0, SEPARATION_MAX))))
    spec.update(over)
    return Problem(**spec)


def scalar_spec(rng, p_T: int, p_S: int, stratum: Stratum) -> dict[str, Any]:
    """Keyword arguments of :func:`scalar_problem`: a scalar-family problem of ``stratum``."""
    spec = base_spec(rng, p_T, p_S, stratum)
    spec.update(
        p_T=p_T,
        p_S=p_S,
        similarity=float(rng.uniform(0.0, p_S - 1)),
        mu_T2=float(rng.uniform(0.0, SEPARATION_MAX)),
        mu_S2=float(rng.uniform(0.0, SEPARATION_MAX)),
    )
    return spec


def scalar_problem(*, sign: float = 1.0, **spec) -> Problem:
    """:meth:`Problem.from_scalars`, with ``sign = -1`` flipping mu_S (so Xi mu_S points along -mu_T).

    The flip is a reflection of mu_xi's component outside span(T): mu_T and every norm stay as
    they are. Only for p_S = 2 (one student direction), the audit's shapes.
    """
    q = Problem.from_scalars(**spec)
    if sign > 0 or spec.get("mu_S2", 0.0) == 0.0:
        return q
    if q.p_S != 2:
        raise ValueError("scalar_problem: sign = -1 needs p_S = 2")
    S = np.asarray(q.S)[:, 0]
    mu = np.asarray(q.mu_xi, dtype=float)
    kT = q.p_T - 1
    cos, sin = S[0], S[kT]
    target = -math.sqrt(spec["mu_S2"] * float(q.sigma_xi2))
    if sin <= 1e-12:  # S = e_1: mu_S = mu_T's first coordinate, fixed by mu_T2
        raise ValueError("scalar_problem: sign = -1 needs ||Xi||_F^2 < 1")
    mu = mu.copy()
    mu[kT] = (target - cos * mu[0]) / sin
    return q.replace(mu_xi=mu)


def for_models(problems: tuple[Problem, ...], models) -> dict[str, tuple[Problem, ...]]:
    """The same geometry under each group model."""
    return {m: tuple(q.replace(group_model=m) for q in problems) for m in models}


def effective_coupling(q: Problem, eta: float) -> np.ndarray:
    r"""The effective coupling :math:`B_\eta = T^\top C_\eta S\,(S^\top C_\eta S)^{-1}`, with
    :math:`C_\eta = \sigma_\xi^2I + v_\eta\mu_\xi\mu_\xi^\top`.

    :math:`v_\eta` is the variance of the group law's scale (:math:`\eta(1-\eta)` for the mixture, 0 for
    mean-shift, where :math:`B_\eta = \Xi`). At leading order :math:`B_{\eta_u}\mu_S` plays the role that
    :math:`\Xi\mu_S` plays in the printed student risk (docs/claims.md, "Mechanisms").
    """
    from setting.groups import group_law

    law = group_law(q.group_model)
    v = float(law.second_scale(eta) - law.mean_scale(eta) ** 2)
    mu = np.asarray(q.mu_xi, dtype=float)
    T, S = np.asarray(q.T, dtype=float), np.asarray(q.S, dtype=float)
    C = float(q.sigma_xi2) * np.eye(mu.size) + v * np.outer(mu, mu)
    if S.shape[1] == 0:
        return np.zeros((T.shape[1], 0))
    return T.T @ C @ S @ np.linalg.inv(S.T @ C @ S)


def coordinates(q: Problem) -> dict[str, float]:
    """The scalar coordinates a failing region is plotted in."""
    s = q.summary()
    xms = float(np.sum((np.asarray(q.Xi) @ np.asarray(q.mu_S)) ** 2)) / float(q.sigma_xi2)
    bms = float(np.sum((effective_coupling(q, float(q.eta_l)) @ np.asarray(q.mu_S)) ** 2)) / float(q.sigma_xi2)
    ratio = lambda x: math.sqrt(x / s["mu_T2"]) if s["mu_T2"] > 0 else math.inf  # noqa: E731
    return {
        "gamma_z p_T": float(q.gamma) * q.p_T,
        "nu_z p_S": float(q.nu) * q.p_S,
        "ridge_teacher": float(q.ridge_teacher),
        "ridge_student": float(q.ridge_student),
        "eta_l": float(q.eta_l),
        "eta_u": float(q.eta_u),
        "eta_t": float(q.eta_t),
        "|eta_t - eta_l|": abs(float(q.eta_t) - float(q.eta_l)),
        "|eta_u - eta_l|": abs(float(q.eta_u) - float(q.eta_l)),
        "||mu_T||^2": s["mu_T2"],
        "||mu_S||^2": s["mu_S2"],
        "||Xi||_F^2": s["similarity"],
        "||Xi mu_S|| / ||mu_T||": ratio(xms),
        "||B mu_S|| / ||mu_T||": ratio(bms),
    }


def regime_distance(q: Problem) -> float:
    """Distance from the printed forms' regime (leading order, N = inf, ridgeless):
    :math:`\\gamma_zp_T + \\nu_zp_S + \\lambda_T + \\lambda_S`."""
    return float(q.gamma) * q.p_T + float(q.nu) * q.p_S + float(q.ridge_teacher) + float(q.ridge_student)


def in_paper_regime(q: Problem) -> bool:
    """Ridgeless, gamma_z p_T <= 0.1 and nu_z p_S <= 0.05 (:data:`STRATA` ``paper_regime``)."""
    s = STRATA["paper_regime"]
    return (
        float(q.ridge_teacher) == 0.0
        and float(q.ridge_student) == 0.0
        and float(q.gamma) * q.p_T <= s.gamma_pT[1] * (1 + 1e-12)
        and float(q.nu) * q.p_S <= s.nu_pS[1] * (1 + 1e-12)
    )
