"""The exact expectations of asymptotics._quadrature: the t-rule, and whole moments against
an independent scipy.integrate route (quadrature directly over the Gaussian coordinates)."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from asymptotics._quadrature import RULE, GaussianMixture, weighted_moments


@pytest.mark.parametrize("k", [1, 2])
def test_rule_integrates_exponentials(k):
    t, w = RULE
    a = np.logspace(-4, 4, 401)
    approx = np.exp(-np.outer(a, t)) @ (w * t ** (k - 1))
    exact = 1.0 / a**k  # Gamma(k) = 1 for k = 1, 2
    assert np.max(np.abs(approx / exact - 1)) < 3e-13


FOURTH = [(0, 0, 0, 0), (0, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1)]  # the distinct entries up to symmetry


def _scipy_moments_1d(law, A, s):
    """E[x x^T/(s+q)^k] and E[x^4/(s+q)^2] for x = [1; zeta], zeta scalar, by scipy.integrate.quad."""
    out1, out2, out4 = np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2, 2, 2))
    for pi, m in zip(np.asarray(law.weights), np.asarray(law.means)[:, 0], strict=True):
        sd = np.sqrt(float(law.var))
        for a in range(2):
            for b in range(2):

                def f(z, k, a=a, b=b, m=m, sd=sd):
                    x = np.array([1.0, z])
                    return x[a] * x[b] / (s + x @ A @ x) ** k * stats.norm.pdf(z, m, sd)

                out1[a, b] += pi * integrate.quad(f, -np.inf, np.inf, args=(1,), epsabs=1e-14, epsrel=1e-13)[0]
                out2[a, b] += pi * integrate.quad(f, -np.inf, np.inf, args=(2,), epsabs=1e-14, epsrel=1e-13)[0]
        for idx in FOURTH:

            def g(z, idx=idx, m=m, sd=sd):
                x = np.array([1.0, z])
                return np.prod(x[list(idx)]) / (s + x @ A @ x) ** 2 * stats.norm.pdf(z, m, sd)

            out4[idx] += pi * integrate.quad(g, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    return out1, out2, out4


@pytest.mark.parametrize("s", [pytest.param(0.0, marks=pytest.mark.slow), 1.0])
def test_moments_match_scipy_quad(s):
    law = GaussianMixture(jnp.array([0.7, 0.3]), jnp.array([[0.0], [2.5]]), jnp.asarray(0.8))
    A = np.array([[0.6, 0.2], [0.2, 1.3]])
    E1, E2, E4 = weighted_moments(law, jnp.asarray(A), jnp.asarray(s))
    r1, r2, r4 = _scipy_moments_1d(law, A, s)
    np.testing.assert_allclose(E1, r1, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(E2, r2, rtol=1e-11, atol=1e-13)
    for idx in FOURTH:
        np.testing.assert_allclose(E4[idx], r4[idx], rtol=1e-11, atol=1e-13)


@pytest.mark.slow
def test_moments_2d_match_scipy_dblquad():
    law = GaussianMixture(jnp.array([1.0]), jnp.array([[0.4, -0.3]]), jnp.asarray(1.2))
    A = np.array([[0.5, 0.1, 0.0], [0.1, 0.9, 0.3], [0.0, 0.3, 0.4]])
    E1, _, _ = weighted_moments(law, jnp.asarray(A), jnp.asarray(1.0), fourth=False)
    sd = np.sqrt(1.2)

    def f(z2, z1, a, b):
        x = np.array([1.0, z1, z2])
        dens = stats.norm.pdf(z1, 0.4, sd) * stats.norm.pdf(z2, -0.3, sd)
        return x[a] * x[b] / (1.0 + x @ A @ x) * dens

    for a, b in [(0, 0), (1, 2), (2, 2)]:
        ref = integrate.dblquad(f, -12, 12, -12, 12, args=(a, b), epsabs=1e-13, epsrel=1e-12)[0]
        assert abs(float(E1[a, b]) - ref) < 1e-11
