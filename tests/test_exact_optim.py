"""eta_u*, the W2S phase boundary and the optimal student ridge of the exact theory, each checked
against a grid (slow: every optimiser compiles a gradient through two fixed points)."""

import numpy as np
import pytest

import asymptotics as A
from w2s import Problem

pytestmark = pytest.mark.slow


def _problem(**kw):
    base = dict(p_T=3, p_S=2, similarity=0.0, mu_T2=6.0, mu_S2=0.0, eta_l=0.3, eta_u=0.4, eta_t=0.5, gamma=0.1, nu=0.1)
    base.update(kw)
    return Problem.from_scalars(**base)


def test_eta_u_star_matches_grid():
    pr = _problem()
    grid = np.linspace(0, 1, 401)
    gains = np.asarray(A.on_grid(A.gain_exact, pr, eta_u=grid))
    star = float(A.eta_u_star_exact(pr))
    assert 0 < star < 1
    assert abs(star - grid[np.argmax(gains)]) <= 1.5 * (grid[1] - grid[0])
    assert float(A.gain_exact(pr.replace(eta_u=star))) >= gains.max() - 1e-12


def test_phase_boundary_matches_grid_sign_changes():
    pr = _problem(mu_T2=20.0)
    point = {k: float(v) for k, v in A.phase_point_exact(pr).items()}
    grid = np.linspace(0, 1, 401)
    gains = np.asarray(A.on_grid(A.gain_exact, pr, eta_u=grid))
    crossings = grid[:-1][np.diff(np.sign(gains)) != 0]
    found = [point[k] for k in ("lower", "upper") if np.isfinite(point[k])]
    assert len(found) == len(crossings) >= 1
    for root, cross in zip(sorted(found), crossings, strict=True):
        assert cross - 1e-9 <= root <= cross + (grid[1] - grid[0]) + 1e-9
        assert abs(float(A.gain_exact(pr.replace(eta_u=root)))) < 1e-9
    out = A.phase_boundary_exact(pr, [0.2, 0.3])
    assert np.asarray(out["eta_u_star"]).shape == (2,)


def test_optimal_student_ridge_matches_grid():
    pr = _problem(nu=0.3)
    best = {k: float(v) for k, v in A.optimal_student_ridge_exact(pr).items()}
    lams = np.exp(np.linspace(-8, 3, 221))
    risks = np.asarray(A.on_grid(A.student_risk_exact, pr, ridge_student=lams))
    assert best["student_risk"] <= risks.min() + 1e-10
    step = np.log(lams[1]) - np.log(lams[0])
    assert abs(np.log(best["ridge_student"]) - np.log(lams[np.argmin(risks)])) <= 2 * step
