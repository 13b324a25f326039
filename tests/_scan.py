"""Random admissible problems over the whole domain of the exact theory (issue: every problem answers).

Both group models, random orthonormal ``T`` and ``S``, separations ``||mu_xi||^2 / sigma_xi^2`` up to
1e3, etas uniform on [0, 1] with the ends 0 and 1 drawn often, ``gamma p_T`` log-uniform from 1e-4
to 2.2 (both sides of the teacher's interpolation threshold), ``nu p_S`` 0 or uniform up to 2.2,
ridges 0 (min-norm) or log-uniform in [1e-8, 10]. Problems come grouped by (group model, shape),
so each group is one set of compiled programs.
"""

from __future__ import annotations

import collections

import numpy as np

from w2s import Problem

# (p, p_T - 1, p_S - 1): every shape up to p = 3, and one larger.
SHAPES = ((1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 1), (2, 2, 1), (3, 2, 1), (3, 2, 2), (4, 3, 2))
MODELS = ("mixture", "mean-shift")


def _orthonormal(rng, p, k):
    q, _ = np.linalg.qr(rng.standard_normal((p, max(k, 1))))
    return q[:, :k]


def _eta(rng):
    u = rng.uniform()
    return 0.0 if u < 0.1 else 1.0 if u < 0.2 else float(rng.uniform())


def _ridge(rng):
    return 0.0 if rng.uniform() < 0.5 else float(10.0 ** rng.uniform(-8, 1))


def random_problem(rng, group_model: str, shape: tuple[int, int, int]) -> Problem:
    p, kT, kS = shape
    sigma_xi2 = float(10.0 ** rng.uniform(-1, 0.5))
    sep = float(10.0 ** rng.uniform(-2, 3))  # ||mu_xi||^2 / sigma_xi^2
    mu = rng.standard_normal(p)
    mu *= np.sqrt(sep * sigma_xi2) / np.linalg.norm(mu)
    p_T, p_S = kT + 1, kS + 1
    nu = 0.0 if rng.uniform() < 0.2 else float(rng.uniform(0.0, 2.2)) / p_S
    return Problem(
        group_model=group_model,
        sigma_y2=float(rng.uniform(0.1, 2.0)),
        signal=float(rng.uniform(0.1, 2.0)),
        sigma_xi2=sigma_xi2,
        mu_xi=mu,
        T=_orthonormal(rng, p, kT),
        S=_orthonormal(rng, p, kS),
        eta_l=_eta(rng),
        eta_u=_eta(rng),
        eta_t=_eta(rng),
        gamma=float(10.0 ** rng.uniform(-4, np.log10(2.2))) / p_T,
        nu=nu,
        ridge_teacher=_ridge(rng),
        ridge_student=_ridge(rng),
    )


def scan(seed: int, per_group: int) -> dict[tuple[str, tuple[int, int, int]], list[Problem]]:
    """``per_group`` random problems for each (group model, shape), from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    out: dict = collections.defaultdict(list)
    for model in MODELS:
        for shape in SHAPES:
            out[(model, shape)] = [random_problem(rng, model, shape) for _ in range(per_group)]
    return dict(out)
