"""The one map over many problems (asymptotics._grid): grids of scalar and matrix fields and lists
of problems become stacked leaves; on_grid and the compiled evaluate_grid read them alike."""

import numpy as np
import pytest

import asymptotics as A
from w2s import Problem, ProblemError


@pytest.fixture
def problem():
    return Problem.from_scalars(p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=2.0, eta_l=0.1, eta_u=0.4)


def test_a_grid_over_a_vector_field_equals_problems_one_at_a_time(problem):
    scales = np.array([0.5, 1.0, 2.0])
    mus = scales[:, None] * np.asarray(problem.mu_xi)[None, :]  # grid axis first, then the field's shape
    etas = np.array([0.2, 0.7])
    want = np.array([[float(A.gain_paper(problem.replace(mu_xi=m, eta_u=e))) for e in etas] for m in mus])
    got = np.asarray(A.on_grid(A.gain_paper, problem, mu_xi=mus[:, None, :], eta_u=etas[None, :]))
    np.testing.assert_allclose(got, want, rtol=1e-13)
    compiled = A.evaluate_grid(problem, "risks", "paper", mu_xi=mus[:, None, :], eta_u=etas[None, :])["gain"]
    np.testing.assert_allclose(compiled, want, rtol=1e-13)
    listed = A.evaluate([problem.replace(mu_xi=m, eta_u=e) for m in mus for e in etas], "risks", "paper")["gain"]
    np.testing.assert_allclose(listed.reshape(want.shape), want, rtol=1e-13)


def test_grid_errors_name_the_field_and_the_rule(problem):
    with pytest.raises(ProblemError, match=r"^mu_xi: a grid of values must end in the field's shape \(3,\)"):
        A.on_grid(A.gain_paper, problem, mu_xi=np.ones((4, 2)))
    with pytest.raises(ProblemError, match=r"^T: columns must be orthonormal"):
        A.on_grid(A.gain_paper, problem, T=np.stack([np.asarray(problem.T), 2 * np.asarray(problem.T)]))
    with pytest.raises(ProblemError, match=r"^eta_u: must lie in \[0, 1\]"):
        A.evaluate_grid(problem, "risks", "paper", eta_u=np.array([0.5, 1.5]))
    with pytest.raises(ProblemError, match=r"^group_model: not a numeric field"):
        A.on_grid(A.gain_paper, problem, group_model=["mixture"])
    with pytest.raises(ProblemError, match=r"^grids: axes .* do not broadcast together"):
        A.on_grid(A.gain_paper, problem, eta_l=np.zeros(3) + 0.1, eta_u=np.zeros(4) + 0.2)
    with pytest.raises(ProblemError, match=r"^problems: all must share"):
        A.evaluate([problem, problem.replace(group_model="mean-shift")], "risks", "paper")
