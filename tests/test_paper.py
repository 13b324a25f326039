"""The paper's leading-order forms: printed vs trace, closed forms, limits, vmap, grad."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

import asymptotics as A
from asymptotics import symbolic
from w2s import Problem


def random_problem(rng, model, p_T=3, p_S=2, p=5):
    """A problem in general position: random orthonormal T, S sharing part of a random basis."""
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    T = Q[:, : p_T - 1]
    # S mixes T's span with the rest so that Xi is generic.
    R, _ = np.linalg.qr(rng.standard_normal((p, p_S - 1)) + 0.8 * T[:, : p_S - 1])
    return Problem(
        group_model=model,
        sigma_y2=rng.uniform(0.5, 2.0),
        sigma_xi2=rng.uniform(0.5, 2.0),
        mu_xi=rng.standard_normal(p) * 1.5,
        T=T,
        S=R,
        eta_l=rng.uniform(),
        eta_u=rng.uniform(),
        eta_t=rng.uniform(),
        gamma=rng.uniform(0.01, 0.3),
    )


@pytest.mark.parametrize("seed", range(5))
def test_mean_shift_traces_equal_printed_forms(seed):
    problem = random_problem(np.random.default_rng(seed), "mean-shift")
    np.testing.assert_allclose(A.teacher_risk_paper(problem), A.printed_teacher_risk(problem), rtol=1e-12)
    np.testing.assert_allclose(A.student_risk_paper(problem), A.printed_student_risk(problem), rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_mixture_traces_equal_symbolic_closed_forms(seed):
    """Independent route: the sympy closed forms (covariance / Schur complement) evaluated numerically."""
    rng = np.random.default_rng(100 + seed)
    kk = rng.uniform(-2, 2)
    mu = rng.standard_normal(3) * 1.5
    S = np.array([(1 - kk**2) / (1 + kk**2), 0.0, 2 * kk / (1 + kk**2)])[:, None]
    problem = Problem(
        mu_xi=mu,
        T=np.eye(3)[:, :2],
        S=S,
        sigma_xi2=1.3,
        sigma_y2=0.7,
        gamma=0.05,
        eta_l=rng.uniform(),
        eta_u=rng.uniform(),
        eta_t=rng.uniform(),
    )
    teacher, student = symbolic.closed_forms("mixture")
    sy = symbolic.SYMBOLS
    values = {
        sy["eta_l"]: problem.eta_l,
        sy["eta_u"]: problem.eta_u,
        sy["eta_t"]: problem.eta_t,
        sy["sigma_xi2"]: problem.sigma_xi2,
        sy["m1"]: mu[0],
        sy["m2"]: mu[1],
        sy["m3"]: mu[2],
        sy["k"]: kk,
    }
    scale = problem.sigma_y2 * problem.gamma
    np.testing.assert_allclose(A.teacher_risk_paper(problem), scale * float(teacher.subs(values)), rtol=1e-12)
    np.testing.assert_allclose(A.student_risk_paper(problem), scale * float(student.subs(values)), rtol=1e-12)


def test_symbolic_derivation_matches_printed_and_closed_forms():
    residuals = symbolic.residuals()
    assert len(residuals) == 12
    for name, r in residuals.items():
        assert r == 0, name
    # The check can fail: a wrong printed coefficient leaves a non-zero residual.
    teacher, _ = symbolic.leading_traces("mean-shift")
    printed, _ = symbolic.printed_forms()
    assert sp.cancel(teacher - printed * sp.Rational(11, 10)) != 0


@pytest.mark.parametrize("model", ["mixture", "mean-shift"])
def test_exact_limits(model):
    base = Problem.from_scalars(
        p_T=4, p_S=2, similarity=0.3, mu_T2=6.0, mu_S2=2.0, sigma_y2=0.8, gamma=0.07, group_model=model
    )
    # No imbalance shift anywhere: teacher = sigma^2 gamma p_T, student = sigma^2 gamma p_{T^S}.
    p = base.replace(eta_l=0.3, eta_u=0.3, eta_t=0.3)
    np.testing.assert_allclose(A.teacher_risk_paper(p), 0.8 * 0.07 * 4, rtol=1e-12)
    if model == "mean-shift":
        np.testing.assert_allclose(A.student_risk_paper(p), 0.8 * 0.07 * 1.3, rtol=1e-12)
    else:
        # The student inherits the teacher's variance on the shared span, measured in the group
        # covariance C: 1 + the sum of squared canonical correlations between T^T xi and S^T xi.
        mu = np.asarray(p.mu_xi)
        C = np.eye(len(mu)) + 0.3 * 0.7 * np.outer(mu, mu)  # sigma_xi2 = 1, eta = 0.3
        T, S = np.asarray(p.T), np.asarray(p.S)
        CT, CS, CTS = T.T @ C @ T, S.T @ C @ S, T.T @ C @ S
        canon = np.trace(np.linalg.solve(CT, CTS) @ np.linalg.solve(CS, CTS.T))
        np.testing.assert_allclose(A.student_risk_paper(p), 0.8 * 0.07 * (1 + canon), rtol=1e-12)
    # No group separation: the groups are identical and only the dimensions matter.
    q = Problem.from_scalars(
        p_T=4, p_S=2, similarity=0.3, gamma=0.07, eta_l=0.0, eta_u=1.0, eta_t=0.5, group_model=model
    )
    np.testing.assert_allclose(A.gain_paper(q), 0.07 * (4 - 1.3), rtol=1e-12)
    # p_T = p_S = 1: no group features at all, risk sigma^2 gamma for both.
    r = Problem.from_scalars(p_T=1, p_S=1, gamma=0.2, eta_l=0.1, eta_u=0.9, group_model=model)
    np.testing.assert_allclose([A.teacher_risk_paper(r), A.gain_paper(r)], [0.2, 0.0], atol=1e-14)


def test_mixture_teacher_is_affine_and_mean_shift_quadratic_in_eta_t():
    p = Problem.from_scalars(p_T=3, p_S=2, similarity=0.5, mu_T2=5.0, mu_S2=1.0, eta_l=0.2)
    eta_t = np.linspace(0, 1, 7)
    mix = np.asarray(A.on_grid(A.teacher_risk_paper, p, eta_t=eta_t))
    ms = np.asarray(A.on_grid(A.teacher_risk_paper, p.replace(group_model="mean-shift"), eta_t=eta_t))
    assert np.max(np.abs(np.diff(mix, 2))) < 1e-12
    np.testing.assert_allclose(np.diff(ms, 2), np.full(5, 2 * 0.1 * 5.0 * (1 / 6) ** 2), rtol=1e-10)


@pytest.mark.parametrize("model", ["mixture", "mean-shift"])
def test_vmap_grid_equals_loop_and_compiles_once(model):
    p = Problem.from_scalars(p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=2.0, group_model=model)
    fn = lambda q: A.risks(q, "paper")  # noqa: E731
    eta_l = np.linspace(0, 1, 4)
    eta_u = np.linspace(0, 1, 5)
    grid = A.on_grid(fn, p, eta_l=eta_l[:, None], eta_u=eta_u[None, :])
    for i, el in enumerate(eta_l):
        for j, eu in enumerate(eta_u):
            loop = fn(p.replace(eta_l=el, eta_u=eu))
            for k in loop:
                np.testing.assert_allclose(grid[k][i, j], loop[k], rtol=1e-12, atol=1e-15)
    # The functions themselves vmap (on_grid loops in chunks of A.CHUNK; see asymptotics/_grid.py).
    vm = jax.vmap(lambda e: fn(dataclasses.replace(p, eta_u=e)))(jnp.asarray(eta_u))
    for j, eu in enumerate(eta_u):
        np.testing.assert_allclose(vm["gain"][j], fn(p.replace(eta_u=eu))["gain"], rtol=1e-12, atol=1e-15)
    compiled = A.batched(fn)
    before = compiled._cache_size()
    A.on_grid(fn, p.replace(gamma=0.3, eta_t=0.1), eta_l=eta_l[::-1, None], eta_u=eta_u[None, :] ** 2)
    assert compiled._cache_size() == before  # new values, same grid shape: no recompilation


@pytest.mark.parametrize("model", ["mixture", "mean-shift"])
def test_gain_is_differentiable_and_stationary_at_its_optimum(model):
    """The leading-order gain's maximiser over eta_u: the printed closed form under mean-shift (where the
    trace form is the printed form); under the mixture, which has no closed form, the root of the gradient
    (bisection), which must sit where a derivative-free grid search puts the maximum."""
    p = Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=0.5, eta_l=0.5, eta_t=0.3, group_model=model
    )  # the optimum is interior under both models (0.567 mean-shift, 0.84 mixture)
    gain = jax.jit(lambda e: A.gain_paper(p.replace(eta_u=e)))
    d_gain = jax.jit(jax.grad(lambda e: A.gain_paper(p.replace(eta_u=e))))
    grid = np.linspace(0, 1, 2001)
    on_grid = np.asarray(A.on_grid(A.gain_paper, p, eta_u=grid))
    if model == "mean-shift":
        star = float(A.eta_u_star_printed(p))
    else:
        lo, hi = grid[np.argmax(on_grid) - 1], grid[np.argmax(on_grid) + 1]
        assert d_gain(lo) > 0 > d_gain(hi)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if d_gain(mid) > 0 else (lo, mid)
        star = 0.5 * (lo + hi)
        assert abs(star - float(A.eta_u_star_printed(p))) > 1e-2  # not the printed form's optimum
    assert 0 < star < 1
    assert abs(grid[np.argmax(on_grid)] - star) <= 1e-3
    assert abs(float(d_gain(star))) < 1e-12
    assert abs(float(d_gain(star + 0.1))) > 1e-3
    assert float(gain(star)) >= on_grid.max()
    # The gradient is the derivative (through the moment inverses): central differences at 0.7.
    h = 1e-6
    np.testing.assert_allclose(d_gain(0.7), (gain(0.7 + h) - gain(0.7 - h)) / (2 * h), rtol=1e-6)
    # The printed optimum is the exact minimiser of the printed student risk: check on a fine grid.
    risks = np.asarray(A.on_grid(A.printed_student_risk, p, eta_u=grid))
    assert abs(grid[np.argmin(risks)] - float(A.eta_u_star_printed(p))) <= 1e-3


def test_failure_threshold_is_where_the_printed_gain_changes_sign():
    for p_T in (2, 3, 5):
        p = Problem.from_scalars(
            p_T=p_T, p_S=2, similarity=0.0, mu_T2=1.0, eta_l=0.1, eta_u=0.5, eta_t=0.1, group_model="mean-shift"
        )
        thr = float(A.failure_threshold_printed(p))
        np.testing.assert_allclose(thr, (p_T - 1) / 0.4**2, rtol=1e-12)  # the Xi = 0 formula
        for factor, sign in ((0.99, 1), (1.01, -1)):
            q = Problem.from_scalars(
                p_T=p_T,
                p_S=2,
                similarity=0.0,
                mu_T2=factor * thr,
                eta_l=0.1,
                eta_u=0.5,
                eta_t=0.1,
                group_model="mean-shift",
            )
            assert np.sign(float(A.printed_teacher_risk(q) - A.printed_student_risk(q))) == sign
    # The paper's 12.5 (p_T - 1) line: (eta_u - eta_l)^2 - (eta_t - eta_l)^2 = 0.08.
    p = Problem.from_scalars(p_T=4, p_S=2, mu_T2=1.0, eta_l=0.0, eta_u=np.sqrt(0.08), eta_t=0.0)
    np.testing.assert_allclose(A.failure_threshold_printed(p), 12.5 * 3, rtol=1e-12)
    assert np.isinf(float(A.failure_threshold_printed(p.replace(eta_u=0.0))))


def test_risks_rejects_unknown_method():
    with pytest.raises(ValueError, match=r"^method: must be one of"):
        A.risks(Problem(), "bogus")


def test_results_are_float64():
    out = A.risks(Problem.from_scalars(p_T=3, p_S=2, mu_T2=1.0))
    assert all(jnp.asarray(v).dtype == jnp.float64 for v in out.values())
