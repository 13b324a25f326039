"""The exact proportional-limit theory (asymptotics._exact): special cases, limits, numbers.

(b) p_T = p_S = 1 against the published special cases of docs/theory.md (O1, O2 through the Problem API;
O3 through a standalone check of the derivative principle the theory is built on); (c) the
gamma -> 0 limit against the paper's printed forms and an earlier stand-alone Monte Carlo number;
plus differentiability, convergence detection and the interpolation threshold. The simulator
comparison (a) is in tests/test_exact_validation.py.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as A
from w2s import Problem

SIGMA2, R2 = 0.5, 1.0


def _dobriban_wager(g, lam, r2, s2):
    """O2: R = r^2 lam^2 m' + s2 g (m - lam m'), m the Marchenko-Pastur Stieltjes transform."""
    disc = np.sqrt((1 - g + lam) ** 2 + 4 * g * lam)
    m = (-(1 - g + lam) + disc) / (2 * g * lam)
    # m' = -dm/dlam in closed form, from m = 1/(1 - g + lam + g lam m) (differentiate implicitly)
    dm = -(m * m * (1 + g * m)) / (1 + g * lam * m * m)
    mp = -dm
    return r2 * lam * lam * mp + s2 * g * (m - lam * mp)


@pytest.mark.parametrize(
    ("gamma", "ridge", "expected"),
    [
        (0.5, 0.0, SIGMA2 * 0.5 / (1 - 0.5)),  # O1 under-parameterised: 0.5
        (2.0, 0.0, R2 * (1 - 1 / 2.0) + SIGMA2 / (2.0 - 1)),  # O1 over-parameterised: 1.0
        (0.5, 0.1, _dobriban_wager(0.5, 0.1, R2, SIGMA2)),  # O2: 0.3190
        (0.5, 1.0, _dobriban_wager(0.5, 1.0, R2, SIGMA2)),  # O2: 0.4020
        (2.0, 0.1, _dobriban_wager(2.0, 0.1, R2, SIGMA2)),  # O2: 0.8669
        (2.0, 1.0, 1 / np.sqrt(2)),  # O2 at lambda* = gamma sigma^2 / r^2: 1/sqrt(2)
        (0.3, 0.0, SIGMA2 * 0.3 / 0.7),
        (3.5, 0.0, R2 * (1 - 1 / 3.5) + SIGMA2 / 2.5),
        (3.5, 0.05, _dobriban_wager(3.5, 0.05, R2, SIGMA2)),
    ],
)
def test_teacher_reproduces_O1_O2(gamma, ridge, expected):
    pr = Problem(gamma=gamma, ridge_teacher=ridge, sigma_y2=SIGMA2, signal=R2)
    assert abs(float(A.teacher_risk_exact(pr)) - expected) < 1e-10


def test_oracle_printed_values():
    assert abs(_dobriban_wager(0.5, 0.1, 1, 0.5) - 0.3190) < 5e-5
    assert abs(_dobriban_wager(2.0, 0.1, 1, 0.5) - 0.8669) < 5e-5


@pytest.mark.parametrize("ridge_teacher", [0.0, 0.3])
def test_student_one_dimensional(ridge_teacher):
    """p_T = p_S = 1: the student refits the teacher on z alone. N = inf or nu < 1 ridgeless:
    it recovers the teacher exactly; nu > 1 min-norm: R_S = R_T/nu + (1 - 1/nu) r^2 (O1 with
    the teacher's coefficients as the noiseless target)."""
    base = Problem(gamma=0.4, ridge_teacher=ridge_teacher, sigma_y2=SIGMA2, signal=R2)
    rt = float(A.teacher_risk_exact(base))
    for nu in (0.0, 0.5):
        assert abs(float(A.student_risk_exact(base.replace(nu=nu))) - rt) < 1e-10
    nu = 2.5
    assert abs(float(A.student_risk_exact(base.replace(nu=nu))) - (rt / nu + (1 - 1 / nu) * R2)) < 1e-10


def test_O3_general_sigma_derivative_principle():
    """O3 (general Sigma) by the principle the exact theory uses: a fixed point solved with
    jax.lax.custom_root, second-order terms as its directional derivatives (jax.jvp)."""
    d, n, lam, s2 = 600, 300, 0.05, 0.25
    ev = 1.0 / np.arange(1, d + 1)
    ev = jnp.asarray(ev * d / ev.sum())
    beta2 = jnp.full(d, 1.0 / d)

    def fixed_point(lam, t):
        # B^{-1} = Sigma/(1 + tr(Sigma B)/n) + lam + t Sigma, B diagonal: unknown delta = tr(Sigma B)/n
        def f(delta):
            return delta - jnp.sum(ev / (ev / (1 + delta) + lam + t * ev)) / n

        def solve(f, x0):  # plain iteration (monotone from 0, stays on the delta > 0 branch), then Newton
            x = jax.lax.fori_loop(0, 300, lambda _, x: x - f(x), x0)
            return jax.lax.fori_loop(0, 5, lambda _, x: x - f(x) / jax.grad(f)(x), x)

        delta = jax.lax.custom_root(f, jnp.asarray(0.0), solve, lambda g, y: y / g(1.0))
        return 1.0 / (ev / (1 + delta) + lam + t * ev)  # diagonal of B

    def trace_term(lam):
        return lam * jnp.sum(ev * fixed_point(lam, 0.0)) / n

    bias = -jax.jvp(lambda t: jnp.sum(beta2 * fixed_point(lam, t)), (0.0,), (1.0,))[1] * lam**2
    var = s2 * jax.jvp(trace_term, (lam,), (1.0,))[1]
    risk = float(bias + var)
    # O3's closed form
    kappa = 0.5
    for _ in range(200):
        df1 = np.sum(ev / (ev + kappa))
        g = kappa * (1 - df1 / n) - lam
        dg = (1 - df1 / n) + kappa * np.sum(ev / (ev + kappa) ** 2) / n
        kappa -= g / dg
    df2 = float(np.sum(ev**2 / (ev + kappa) ** 2))
    ref = float((kappa**2 * np.sum(beta2 * ev / (ev + kappa) ** 2) + s2 * df2 / n) / (1 - df2 / n))
    assert abs(risk - ref) < 1e-10
    assert abs(ref - 0.4071) < 5e-5 and abs(kappa - 0.4628) < 5e-5


def _family(**kw):
    base = dict(p_T=3, p_S=2, similarity=0.5, mu_T2=4.0, mu_S2=2.0, eta_l=0.1, eta_u=0.4, eta_t=0.8)
    base.update(kw)
    return Problem.from_scalars(**base)


@pytest.mark.parametrize("model", ["mixture", pytest.param("mean-shift", marks=pytest.mark.slow)])
def test_small_gamma_reproduces_printed_forms(model):
    """gamma -> 0 (N = inf, ridgeless): exact / leading-order - 1 = O(gamma), i.e. the relative
    error falls tenfold when gamma does; under mean-shift the leading order is the printed form."""
    errs = []
    for g in (1e-3, 1e-4):
        pr = _family(group_model=model, gamma=g)
        rt, rs = float(A.teacher_risk_exact(pr)), float(A.student_risk_exact(pr))
        pt, ps = float(A.teacher_risk_paper(pr)), float(A.student_risk_paper(pr))
        if model == "mean-shift":
            assert abs(pt - float(A.printed_teacher_risk(pr))) < 1e-12 * pt
            assert abs(ps - float(A.printed_student_risk(pr))) < 1e-12 * ps
        errs.append((rt / pt - 1, rs / ps - 1))
    errs = np.array(errs)
    assert np.all(np.abs(errs[0]) < 10 * 1e-3)
    np.testing.assert_allclose(errs[0] / errs[1], 10.0, rtol=0.02)


def test_strongly_nonlinear_mixture_matches_a_standalone_monte_carlo():
    """A stand-alone Monte Carlo check (docs/theory.md, "Validation of the exact theory"): mixture,
    mu_xi = (3, 3), T = I, S = e_1, gamma = 0.1, nu = 0.3, eta = (0.1, 0.4, 0.5): Monte Carlo
    1.265 +- 0.004 (the same formula evaluated by sampling: 1.260). z = 3 on the Monte Carlo's se."""
    pr = Problem(
        mu_xi=np.array([3.0, 3.0]),
        T=np.eye(2),
        S=np.array([[1.0], [0.0]]),
        eta_l=0.1,
        eta_u=0.4,
        eta_t=0.5,
        gamma=0.1,
        nu=0.3,
    )
    rs = float(A.student_risk_exact(pr))
    assert abs(rs - 1.265) < 3 * 0.004
    assert abs(rs - 1.260) < 2e-3


def test_threshold_is_infinite():
    assert np.isinf(float(A.teacher_risk_exact(Problem(gamma=1.0))))
    pr = _family(gamma=1 / 3)
    assert np.isinf(float(A.teacher_risk_exact(pr))) and np.isinf(float(A.student_risk_exact(pr)))
    assert np.isfinite(float(A.teacher_risk_exact(pr.replace(ridge_teacher=0.1))))
    assert np.isinf(float(A.student_risk_exact(_family(gamma=0.1, nu=0.5))))


def _check_gradient(fn, pr, fields):
    g = jax.grad(fn)(pr)
    h = 1e-5
    for field in fields:
        x0 = getattr(pr, field)
        up = float(fn(dataclasses.replace(pr, **{field: x0 + h})))
        dn = float(fn(dataclasses.replace(pr, **{field: x0 - h})))
        assert abs(float(getattr(g, field)) - (up - dn) / (2 * h)) < 1e-6


def test_teacher_gradient_matches_finite_difference():
    """Implicit differentiation through the fixed point (over-parameterised, scaled form)."""
    _check_gradient(A.teacher_risk_exact, _family(gamma=0.5, ridge_teacher=0.2), ("gamma", "eta_l", "ridge_teacher"))


@pytest.mark.slow
def test_student_gradient_matches_finite_difference():
    pr = _family(gamma=0.1, nu=0.2, ridge_teacher=0.1, ridge_student=0.1)
    _check_gradient(A.student_risk_exact, pr, ("eta_u", "nu", "ridge_student", "eta_l"))
    _check_gradient(A.student_risk_exact, pr.replace(nu=0.8, ridge_student=0.0), ("eta_u", "nu", "gamma"))
    _check_gradient(A.teacher_risk_exact, pr, ("gamma", "eta_l", "ridge_teacher", "signal"))


def test_nonconvergence_raises():
    """The over-parameterised parametrisation (s, c) = (0, 1) has no solution when gamma p < 1."""
    from asymptotics._exact import _law
    from asymptotics._fixed_point import checked, solve_resolvent

    pr = Problem(gamma=0.5)
    law = _law(pr, pr.eta_l, jnp.asarray(pr.T))
    res = jax.jit(solve_resolvent)(law, jnp.eye(1), 0.5, 0.0, 1.0)
    assert not bool(res.converged)
    with pytest.raises(Exception, match="did not converge"):
        jax.block_until_ready(jax.jit(checked)(res.B, res.converged))


def _separated(eta_l):
    # Strongly separated groups at gamma p_T = 0.9: Newton from the isotropic guess leaves its
    # basin for eta_l in about [0.13, 0.17] and [0.83, 0.87]; the solver must still answer there.
    return Problem.from_scalars(
        p_T=3, p_S=2, similarity=0.0, mu_T2=16, mu_S2=0, eta_l=eta_l, eta_u=0.5, eta_t=0.5, gamma=0.3, nu=0.05
    )


def test_monotone_restart_equals_newton(monkeypatch):
    """Force the fallback: the monotone restart finds the same fixed point as Newton alone."""
    from asymptotics import _fixed_point
    from asymptotics._exact import _law

    pr = _separated(0.2)  # Newton converges here on its own
    law = _law(pr, pr.eta_l, jnp.asarray(pr.T))

    def solve():  # a fresh function each time, so the patched guess is traced, not a cached trace reused
        return jax.jit(lambda law: _fixed_point.solve_resolvent(law, jnp.eye(3), 0.3, 1.0, 0.0).B)(law)

    direct = solve()
    # A start with no positive-definite Newton step: the first run stops at once, the restart takes over.
    monkeypatch.setattr(_fixed_point, "_scalar_guess", lambda M, gamma, s, c: -jnp.eye(M.shape[0]))
    restarted = solve()
    np.testing.assert_allclose(np.asarray(restarted), np.asarray(direct), rtol=1e-11, atol=0)


def test_separated_groups_near_threshold_converge():
    """Where Newton alone failed, the risks exist and continue those of the neighbours, and the
    mixture's eta -> 1 - eta symmetry (groups at 0 and mu, intercept in the features) holds."""
    risks = {e: float(A.teacher_risk_exact(_separated(e))) for e in (0.1, 0.15, 0.2, 0.85)}
    assert all(np.isfinite(v) for v in risks.values())
    assert risks[0.1] > risks[0.15] > risks[0.2]  # less minority data, larger risk at eta_t = 0.5
    assert risks[0.85] == pytest.approx(risks[0.15], rel=1e-9)
