"""(a) The exact theory against the simulator (slow; the full table is
``python -m w2s.validation``, written into docs/theory.md)."""

import numpy as np
import pytest

import asymptotics as A
import simulate
from w2s import Problem, validation

pytestmark = pytest.mark.slow


# ridge; over-parameterised ridge teacher; mean-shift; min-norm over-parameterised student
@pytest.mark.parametrize("index", [2, 6, 11, 17])
def test_validation_points(index):
    # fixed seeds: a statistical test must not flake; the pass rule's z = 4 covers the rest
    problem = validation.grid_problems(d_z=80)[index]
    row = validation.check_point(problem, trials=30, seed=100 + index)
    assert row["ok"], row


def test_error_shrinks_with_d_z():
    """Finite-size error of the teacher's risk is O(1/d_z): it roughly halves per doubling."""
    pr = Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=2.0, eta_l=0.1, eta_u=0.4, eta_t=0.5, gamma=0.2, nu=0.8
    )
    theory = float(A.teacher_risk_exact(pr))
    err, se = {}, {}
    for d, trials in ((10, 400), (20, 300), (40, 200)):
        r = simulate.estimate(pr.replace(d_z=d), trials=trials, seed=1)["teacher_risk"]  # fixed seed: reproducible
        err[d], se[d] = r["mean"] - theory, r["se"]
    assert err[10] > 4 * se[10]  # the finite-size bias is resolved at d_z = 10
    assert err[10] > err[20] > err[40] - 2 * se[40]
    assert err[10] / max(err[40], 2 * se[40]) > 2.0
    assert np.isclose(err[10] * 10, err[20] * 20, rtol=0.5)  # d_z * error roughly constant


def test_restarted_fixed_point_matches_simulation():
    """Where the fixed point needs its monotone restart (strongly separated groups, gamma p_T = 0.9),
    the theory still agrees with the simulator under the table's pass rule."""
    problem = Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.0, mu_T2=16, mu_S2=0, eta_l=0.15, eta_u=0.5, eta_t=0.5, gamma=0.3, nu=0.05, d_z=128
    )
    row = validation.check_point(problem, trials=40, seed=1)  # fixed seed: reproducible
    assert row["ok"], row
